"""`tuiwriter train` in a terminal: a progress bar with ETA, and a Ctrl+C that stops cleanly.

The first Ctrl+C asks the loop to stop: it validates once more and keeps the best model.
A second Ctrl+C quits at once; the best checkpoint written before stays intact because every
write is atomic.
"""

from __future__ import annotations

import argparse
import math
import signal
import sys
import threading

from rich.console import Console
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeRemainingColumn

from tuiwriter.text import corpus

from tuiwriter.lm import store

from tuiwriter.training import setup as training_setup
from tuiwriter.paths import private_dir
from tuiwriter.training.loop import Progress as TrainProgress
from tuiwriter.training.loop import TrainConfig, train


def _describe(p: TrainProgress) -> str:
    parts = [f"{p.chars_seen / 1e6:.2f}M chars"]
    if p.elapsed_s > 1:
        parts.append(f"{p.chars_per_s:,.0f} chars/s")
    if p.train_loss is not None:
        parts.append(f"train {p.train_loss:.3f}")
    if p.best_val_loss is not None:
        parts.append(f"val {p.best_val_loss:.3f} nats/char")
    if p.phase == "validate":
        parts.append("validating…")
    return "  ".join(parts)


def run_training(args: argparse.Namespace, name: str, data: corpus.Corpus) -> int:
    err = Console(stderr=True, highlight=False, soft_wrap=True)
    err.print(f"corpus: {data.summary()}")
    for path, why in data.skipped[:10]:
        err.print(f"  skipped {path} ({why})")
    if len(data.skipped) > 10:
        err.print(f"  … and {len(data.skipped) - 10} more skipped")

    setup = training_setup.prepare(data, base=args.base, size=args.size, seed=args.seed, lr=args.lr,
                                   resume_from=store.model_dir(name) / store.CHECKPOINT_FILE if args.resume else None)
    model, vocab, train_text, val_text = setup.model, setup.vocab, setup.train_text, setup.val_text
    if setup.held:
        err.print(f"validation: {len(setup.held)} held-out file(s), {len(val_text):,} characters")
    else:
        err.print(f"validation: the last {len(val_text):,} characters")
    if setup.unknown_chars:
        err.print(f"note: {setup.unknown_chars} distinct character(s) are outside the vocabulary "
                  "and map to the unknown symbol")
    cfg = TrainConfig(minutes=args.minutes, seed=args.seed, threads=args.threads, lr=setup.lr,
                      batch=args.batch or TrainConfig.batch, seq_len=args.seq_len or TrainConfig.seq_len)
    summary = setup.summary
    out_dir = private_dir(store.model_dir(name))
    out_path = out_dir / store.CHECKPOINT_FILE
    resume_path = out_dir / store.RESUME_FILE
    if not args.resume:
        resume_path.unlink(missing_ok=True)
    err.print(f"model {name!r}: {model.num_params() / 1e6:.2f}M parameters, "
              f"{args.minutes:g} minute(s), Ctrl+C stops and keeps the best so far")

    stop = threading.Event()

    def on_sigint(signum, frame):  # noqa: ARG001
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()
        err.print("stopping: validating once more and keeping the best model (Ctrl+C again quits now)")

    previous = signal.signal(signal.SIGINT, on_sigint)
    columns = (TextColumn("[bold]training"), BarColumn(), TaskProgressColumn(),
               TimeRemainingColumn(compact=True, elapsed_when_finished=True), TextColumn("{task.description}"))
    try:
        with Progress(*columns, console=err, transient=False, refresh_per_second=4) as bar:
            task = bar.add_task("", total=args.minutes * 60)

            last_line = [0.0]

            def on_progress(p: TrainProgress) -> None:
                line = _describe(p)
                bar.update(task, completed=min(p.elapsed_s, p.budget_s), description=line)
                # Without a terminal (a log file, CI) the bar is not drawn: print a line now and then.
                if not err.is_terminal and (p.phase in ("saved", "done") or p.elapsed_s - last_line[0] >= 30):
                    last_line[0] = p.elapsed_s
                    print(f"[{p.elapsed_s:6.0f}s / {p.budget_s:.0f}s] {p.phase:8s} {line}",
                          file=sys.stderr, flush=True)

            result = train(model, vocab, train_text, val_text, out_path, cfg, summary,
                           on_progress, stop.is_set, resume_path, resume=args.resume, memory=setup.memory)
    finally:
        signal.signal(signal.SIGINT, previous)
    if result.best_val_loss is None or not (result.saved or args.resume):
        print(f"no model saved for {name!r}", file=sys.stderr)
        return 1
    bpc = result.best_val_loss / math.log(2)
    if not result.saved:  # a resumed run that did not beat the model it started from
        print(f"kept {name}: val {result.best_val_loss:.3f} nats/char ({bpc:.3f} bits/char) from the earlier "
              f"run; this one read {result.chars_seen:,} characters without improving on it -> {out_path}")
        return 0
    print(f"saved {name}: val {result.best_val_loss:.3f} nats/char ({bpc:.3f} bits/char), "
          f"{result.chars_seen:,} characters in {result.seconds:.0f} s -> {out_path}")
    return 0
