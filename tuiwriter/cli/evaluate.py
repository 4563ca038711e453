"""`tuiwriter eval FILE...`: bits/char, keystroke savings and latency of a model on text it did
not train on (SPEC "Metrics"; the simulated writer lives in `bench.evaluate`)."""

from __future__ import annotations

import argparse

from tuiwriter.cli.args import active_model, positive

NAME = "eval"


def add_parser(sub: argparse._SubParsersAction) -> None:
    e = sub.add_parser(NAME, help="measure bits/char, keystroke savings and latency on text")
    e.add_argument("files", nargs="+", metavar="FILE")
    e.add_argument("--model", default=None, metavar="M")
    e.add_argument("--json", action="store_true", help="print one JSON object")
    e.add_argument("--max-chars", type=positive(int), default=None, metavar="N")
    e.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Errors are OSError / CheckpointError with a one-line message (cli.main prints it)."""
    import json
    import sys

    import torch
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    from tuiwriter.bench.evaluate import evaluate, format_report, read_texts
    from tuiwriter.predict.engine import Engine

    torch.set_num_threads(1)  # as the editor infers: one thread, the other core left to training
    engine = Engine.load(active_model(args.model))
    texts = read_texts(args.files, engine.vocab.fold, args.max_chars)
    total = sum(len(t) for _, t in texts)
    console = Console(stderr=True)
    with Progress(TextColumn("evaluating"), BarColumn(), TextColumn("{task.completed:,}/{task.total:,} chars"),
                  TimeRemainingColumn(), console=console, transient=True,
                  disable=total < 2000 or not console.is_terminal) as progress:
        task = progress.add_task("eval", total=total)
        result = evaluate(engine, texts, lambda k: progress.advance(task, k))
    if args.json:
        print(json.dumps(result))
    else:
        print(format_report(result))
    sys.stdout.flush()
    return 0
