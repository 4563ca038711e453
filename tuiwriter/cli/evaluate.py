"""`tuiwriter eval FILE...`: bits/char, keystroke savings and latency of a model on text it did
not train on (SPEC "Metrics"; the simulated writer lives in `bench.evaluate`)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from tuiwriter.cli.args import UsageError, active_model, between, positive

if TYPE_CHECKING:
    from tuiwriter.predict.engine import Engine

NAME = "eval"
VOICE_WEIGHT = 0.1  # chosen on Tiny Shakespeare (tests/bench_word_voice.py): README, "Word-level models"


def add_parser(sub: argparse._SubParsersAction) -> None:
    e = sub.add_parser(NAME, help="measure bits/char, keystroke savings and latency on text")
    e.add_argument("files", nargs="+", metavar="FILE")
    e.add_argument("--model", default=None, metavar="M")
    e.add_argument("--json", action="store_true", help="print one JSON object")
    e.add_argument("--max-chars", type=positive(int), default=None, metavar="N")
    e.add_argument("--voice", metavar="WORDMODEL", help="mix this word-level model into --model's prediction "
                   "as one voice (README, \"Word-level models\")")
    e.add_argument("--voice-weight", type=between(0.0, 1.0), default=VOICE_WEIGHT, metavar="W",
                   help=f"the voice's share of the prediction, 0 to 1 (default {VOICE_WEIGHT})")
    e.add_argument("--beam", type=positive(int), default=1, metavar="K",
                   help="decode each suggestion's first word with a K-wide beam instead of character by "
                        "character (for measuring: README, \"Measuring\")")
    e.add_argument("--no-refine", action="store_true",
                   help="keep each ghost as first decoded: no beam swaps it in the idle moment after "
                        "(for measuring: README, \"Measuring\")")
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
    engine = _with_voice(args) if args.voice else Engine.load(active_model(args.model))
    engine.config.beam = args.beam
    engine.config.refine = not args.no_refine
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


def _with_voice(args: argparse.Namespace) -> Engine:
    """The character model `--model` with the word-level model `--voice` mixed in."""
    from tuiwriter.lm import store
    from tuiwriter.predict.engine import Engine
    from tuiwriter.predict.word_predictor import MixedPredictor, WordPredictor, for_checkpoint

    spec = active_model(args.model)
    char, word = store.load(spec), store.load(args.voice)
    if char.level != "char" or word.level != "word":
        raise UsageError(f"--voice mixes a word-level model into a char-level one: {spec} is {char.level}-level, "
                         f"{args.voice} is {word.level}-level")
    mixed = MixedPredictor(for_checkpoint(char),  # the character model as the editor steps it
                           WordPredictor(word.build_model(), word.vocab, word.words), args.voice_weight, word.mid_state)
    engine = Engine.load(spec, predictor=mixed)
    engine.name = f"{engine.name}+{args.voice_weight:g}*{args.voice}"
    return engine
