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

import torch
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeRemainingColumn

from tuiwriter import checkpoint, corpus, store
from tuiwriter.model import SIZES, CharRNN, ModelConfig
from tuiwriter.paths import private_dir
from tuiwriter.train import Progress as TrainProgress
from tuiwriter.train import TrainConfig, train
from tuiwriter.vocab import Vocab

MAX_LISTED_FILES = 200


def _describe(p: TrainProgress) -> str:
    parts = [f"{p.chars_seen / 1e6:.2f}M chars"]
    if p.elapsed_s > 1:
        parts.append(f"{p.chars_seen / p.elapsed_s:,.0f} chars/s")
    if p.train_loss is not None:
        parts.append(f"train {p.train_loss:.3f}")
    if p.best_val_loss is not None:
        parts.append(f"val {p.best_val_loss:.3f} nats/char")
    if p.phase == "validate":
        parts.append("validating…")
    return "  ".join(parts)


def run_training(args: argparse.Namespace, name: str, data: corpus.Corpus) -> int:
    err = Console(stderr=True, highlight=False)
    err.print(f"corpus: {data.summary()}")
    for path, why in data.skipped[:10]:
        err.print(f"  skipped {path} ({why})")
    if len(data.skipped) > 10:
        err.print(f"  … and {len(data.skipped) - 10} more skipped")

    torch.manual_seed(args.seed)  # model initialisation is part of a reproducible recipe
    if args.base:
        base = store.load(args.base)
        vocab, model = base.vocab, base.build_model()
        origin = {"from": args.base}
        lr = args.lr or 1e-3
    elif args.resume:
        base = checkpoint.load(store.model_dir(name) / store.CHECKPOINT_FILE)
        vocab, model = base.vocab, base.build_model()
        origin = {k: base.training[k] for k in ("from", "size") if k in base.training}
        lr = args.lr or 3e-3
    else:
        vocab = Vocab.build([f.text for f in data.files])
        size = args.size or "base"
        model = CharRNN(ModelConfig(vocab_size=len(vocab), **SIZES[size]))
        origin = {"size": size}
        lr = args.lr or 3e-3
    unknown = sum(1 for f in data.files for c in set(f.text) if vocab.id_of(c) == 0)
    train_text, val_text, held = corpus.split(data, seed=args.seed)
    if held:
        err.print(f"validation: {len(held)} held-out file(s), {len(val_text):,} characters")
    else:
        err.print(f"validation: the last {len(val_text):,} characters")
    if unknown:
        err.print(f"note: {unknown} distinct character(s) are outside the vocabulary and map to the unknown symbol")
    cfg = TrainConfig(minutes=args.minutes, seed=args.seed, threads=args.threads, lr=lr,
                      batch=args.batch or TrainConfig.batch)
    summary = dict(
        origin,
        corpus_files=[str(f.path) for f in data.files[:MAX_LISTED_FILES]],
        corpus_file_count=len(data.files),
        corpus_bytes=data.bytes,
        corpus_label=f"{len(data.files)} file(s), {data.bytes / 1e6:.1f} MB"
        + (f": {data.files[0].path.name}" if len(data.files) == 1 else ""),
        seed=args.seed,
    )
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
                bar.update(task, completed=min(p.elapsed_s, p.budget_s), description=_describe(p))
                # Without a terminal (a log file, CI) the bar is not drawn: print a line now and then.
                if not err.is_terminal and (p.phase in ("saved", "done") or p.elapsed_s - last_line[0] >= 30):
                    last_line[0] = p.elapsed_s
                    print(f"[{p.elapsed_s:6.0f}s / {p.budget_s:.0f}s] {p.phase:8s} {_describe(p)}",
                          file=sys.stderr, flush=True)

            result = train(model, vocab, train_text, val_text, out_path, cfg, summary,
                           on_progress, stop.is_set, resume_path, resume=args.resume)
    finally:
        signal.signal(signal.SIGINT, previous)
    if result.best_val_loss is None or not result.saved:
        print(f"no model saved for {name!r}", file=sys.stderr)
        return 1
    bpc = result.best_val_loss / math.log(2)
    print(f"saved {name}: val {result.best_val_loss:.3f} nats/char ({bpc:.3f} bits/char), "
          f"{result.chars_seen:,} characters in {result.seconds:.0f} s -> {out_path}")
    return 0
