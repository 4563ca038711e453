"""`tuiwriter train PATH...`: train (or fine-tune) a model on files and folders, in a terminal.

A progress bar with an ETA, and a Ctrl+C that stops cleanly: the first asks the loop to stop (it
validates once more and keeps the best model); a second quits at once, and the best checkpoint
written before stays intact because every write is atomic.

Under `torchrun --nproc-per-node N -m tuiwriter train ...` every process runs this command:
each reads the files, joins the process group and trains its share (training.loop), and rank 0
alone prints and saves. torchrun passes a Ctrl+C on to every process as SIGINT (and a
scheduler's SIGTERM as SIGTERM); each asks its loop to stop, and the loops stop together.
"""

from __future__ import annotations

import argparse
import math
import signal
import sys
import threading
from contextlib import contextmanager, nullcontext
from typing import TYPE_CHECKING, Callable, Iterator

from tuiwriter.cli.args import UsageError, positive
from tuiwriter.lm.names import SIZES
from tuiwriter.settings import PRECISIONS, device_problem

if TYPE_CHECKING:
    import torch
    from rich.console import Console

    from tuiwriter.text.corpus import Corpus
    from tuiwriter.training.distributed import World
    from tuiwriter.training.loop import Progress as TrainProgress


NAME = "train"


def add_parser(sub: argparse._SubParsersAction) -> None:
    t = sub.add_parser(NAME, help="train (or fine-tune) a model on files and folders")
    t.add_argument("paths", nargs="+", metavar="PATH", help="files and folders of text")
    t.add_argument("--model", metavar="NAME", help="name to save the model as (default: first path's name)")
    t.add_argument("--from", dest="base", metavar="NAME", help="fine-tune this model instead of starting fresh")
    t.add_argument("--minutes", type=positive(float), default=10.0, help="time budget (default 10)")
    t.add_argument("--size", choices=sorted(SIZES), help="model size for a new model (default base)")
    t.add_argument("--level", choices=("char", "word"),
                   help="what the model predicts: characters or words (default char; with --from, the base's)")
    t.add_argument("--seed", type=int, default=1)
    t.add_argument("--device", type=device_name, default="auto",
                   help="auto (CUDA, then MPS, then the CPU), cpu, cuda, cuda:N or mps (default auto)")
    t.add_argument("--threads", type=positive(int), help="CPU threads (default: all cores)")
    t.add_argument("--batch", type=positive(int),
                   help="parallel streams per update, across all processes (default 16; on CUDA 128 per GPU)")
    t.add_argument("--seq-len", type=positive(int),
                   help="characters per stream per update (default 64; on CUDA 128)")
    t.add_argument("--lr", type=positive(float), help="peak learning rate")
    t.add_argument("--precision", choices=PRECISIONS, default="auto",
                   help="auto: bfloat16 mixed precision on a GPU and on a CPU with bfloat16 instructions, "
                        "else float32 (default auto)")
    t.add_argument("--resume", action="store_true", help="continue an interrupted run of --model")
    t.add_argument("--force", action="store_true", help="replace an existing model of that name")
    t.set_defaults(run=run)


def device_name(text: str) -> str:
    """An argparse type: a device name (whether that device is here is checked when the run starts)."""
    problem = device_problem(text)
    if problem:
        raise argparse.ArgumentTypeError(problem)
    return text


def run(args: argparse.Namespace) -> int:
    from tuiwriter.lm import names, store
    from tuiwriter.lm.checkpoint import CheckpointError
    from tuiwriter.text import corpus
    from tuiwriter.training import devices, distributed

    world = distributed.from_env()  # one process, unless torchrun started this one
    try:
        device = devices.resolve(args.device, world.local_rank, world.size)
    except devices.DeviceError as exc:
        raise UsageError(str(exc)) from None
    if args.base and args.size:
        raise UsageError("--size cannot be used with --from: a fine-tuned model keeps its architecture")
    if args.resume and args.base:
        raise UsageError("--resume continues the earlier run as it was: leave out --from")
    name = args.model or names.from_path(args.paths[0])
    store.check_name(name)
    out_dir = store.model_dir(name)
    # Rank 0 alone writes the model, so only its machine's folder matters (on one machine the
    # others see the same folder; none of them trains before all have passed these checks).
    if world.main and (out_dir / names.CHECKPOINT_FILE).exists() and not (args.resume or args.force):
        raise CheckpointError(
            f"model {name!r} exists: --resume continues it, --force replaces it, or pick another --model")
    if args.resume and not (out_dir / names.RESUME_FILE).exists():
        raise CheckpointError(f"nothing to resume for model {name!r}")
    if args.base and args.level:  # before reading the corpus: a base of the other level is refused at once
        from tuiwriter.training.setup import check_level

        check_level(store.load(args.base), args.level, args.base)
    data = corpus.collect(args.paths)
    with distributed.process_group(world, device):
        return _train(args, name, data, device, world)


def _describe(p: TrainProgress, level: str = "char") -> str:
    """One progress line; a word-level run counts tokens and its training loss is per token (its
    validation loss is per character at both levels)."""
    unit = "tokens" if level == "word" else "chars"
    parts = [f"{p.chars_seen / 1e6:.2f}M {unit}"]
    if p.elapsed_s > 1:
        parts.append(f"{p.chars_per_s:,.0f} {unit}/s")
    if p.train_loss is not None:
        parts.append(f"train {p.train_loss:.3f}" + (" nats/token" if level == "word" else ""))
    if p.best_val_loss is not None:
        parts.append(f"val {p.best_val_loss:.3f} nats/char")
    if p.phase == "validate":
        parts.append("validating…")
    return "  ".join(parts)


def _train(args: argparse.Namespace, name: str, data: Corpus, device: torch.device, world: World) -> int:
    """Train with a progress bar on stderr; SIGINT asks the loop to stop and keep the best model.

    In a distributed run every process comes here; the others print nothing (their console is
    quiet) and leave the saving and the verdict to rank 0.
    """
    from rich.console import Console

    from tuiwriter.lm import names, store
    from tuiwriter.paths import private_dir
    from tuiwriter.training import devices, warmup
    from tuiwriter.training import setup as training_setup
    from tuiwriter.training.loop import TrainConfig, train

    err = Console(stderr=True, highlight=False, soft_wrap=True, quiet=not world.main)
    err.print(f"corpus: {data.summary()}")
    for line in data.report():
        err.print(f"  {line}", markup=False)

    setup = training_setup.prepare(data, base=args.base, size=args.size, seed=args.seed, lr=args.lr, level=args.level,
                                   resume_from=store.model_dir(name) / names.CHECKPOINT_FILE if args.resume else None)
    model, vocab, train_ids, val_ids = setup.model, setup.vocab, setup.train_ids, setup.val_ids
    unit = "tokens" if setup.words is not None else "characters"
    if setup.held:
        err.print(f"validation: {len(setup.held)} held-out file(s), {val_ids.numel():,} {unit}")
    else:
        err.print(f"validation: the last {val_ids.numel():,} {unit}")
    if setup.words is not None:
        err.print(f"word level: {len(setup.words):,} tokens (words, punctuation, line ends) cover "
                  f"{100 * setup.words.coverage:.1f} % of the validation tokens; the rest read as the unknown token")
    if setup.unknown_chars:
        err.print(f"note: {setup.unknown_chars} distinct character(s) are outside the vocabulary "
                  "and map to the unknown symbol")
    # the last seconds go to the mixers' start (`warmup`), inside the budget
    reserve = warmup.reserve_s(args.minutes, setup.level)
    cfg = TrainConfig(minutes=args.minutes - reserve / 60, seed=args.seed, threads=args.threads, lr=setup.lr,
                      batch=args.batch, seq_len=args.seq_len, device=str(device), precision=args.precision)
    summary = setup.summary
    out_dir = private_dir(store.model_dir(name)) if world.main else store.model_dir(name)
    out_path = out_dir / names.CHECKPOINT_FILE
    resume_path = out_dir / names.RESUME_FILE
    if world.main and not args.resume:
        resume_path.unlink(missing_ok=True)
    where = devices.describe(device, args.precision)
    if world.size > 1:
        where = f"{world.size} processes ({'NCCL' if device.type == 'cuda' else 'gloo'}), rank 0 on {where}"
    err.print(f"model {name!r}: {model.num_params() / 1e6:.2f}M parameters, "
              f"{args.minutes:g} minute(s) on {where}, Ctrl+C stops and keeps the best so far")

    stop = threading.Event()

    def on_signal(signum, frame):  # noqa: ARG001
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()
        err.print("stopping: validating once more and keeping the best model (Ctrl+C again quits now)")

    # torchrun passes on SIGINT and SIGTERM, then kills what is still running 30 s later.
    stop_signals = (signal.SIGINT, signal.SIGTERM) if world.size > 1 else (signal.SIGINT,)
    previous = {sig: signal.signal(sig, on_signal) for sig in stop_signals}
    try:
        with _progress_bar(err, args.minutes, setup.level) if world.main else nullcontext(None) as on_progress:
            result = train(model, vocab, train_ids, val_ids, out_path, cfg, summary,
                           on_progress, stop.is_set, resume_path, resume=args.resume, memory=setup.memory,
                           words=setup.words, val_per_char=setup.val_per_char)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if not world.main:
        return 0
    if result.best_val_loss is None or not (result.saved or args.resume):
        print(f"no model saved for {name!r}", file=sys.stderr)
        return 1
    bpc = result.best_val_loss / math.log(2)
    seen = f"{result.chars_seen:,} {'tokens' if setup.words is not None else 'characters'}"
    if not result.saved:  # a resumed run that did not beat the model it started from
        print(f"kept {name}: val {result.best_val_loss:.3f} nats/char ({bpc:.3f} bits/char) from the earlier "
              f"run; this one read {seen} without improving on it -> {out_path}")
        return 0
    if reserve and not result.stopped_early:
        err.print(f"mixers: learning where they start on the validation text (at most {reserve:.0f} s)")
        try:
            warmed = warmup.warm_up(out_path, vocab, train_ids, val_ids, reserve)
        except warmup.FAILURES as exc:  # the model is saved and works with the shared start
            reason = (str(exc).splitlines() or [type(exc).__name__])[0]
            err.print(f"mixers: kept the shared start ({reason})", markup=False)
            warmed = None
        if warmed is not None:
            err.print(f"mixers: start learnt on {warmed.chars:,} characters ({warmed.bpc:.3f} bits/char) "
                      f"in {warmed.seconds:.0f} s")
    print(f"saved {name}: val {result.best_val_loss:.3f} nats/char ({bpc:.3f} bits/char), "
          f"{seen} in {result.seconds:.0f} s -> {out_path}")
    return 0


@contextmanager
def _progress_bar(err: Console, minutes: float, level: str = "char") -> Iterator[Callable[[TrainProgress], None]]:
    """A bar with an ETA for the length of the block; yields the loop's progress callback."""
    from rich.progress import (
        BarColumn,
        Progress,
        TaskProgressColumn,
        TextColumn,
        TimeRemainingColumn,
    )

    columns = (TextColumn("[bold]training"), BarColumn(), TaskProgressColumn(),
               TimeRemainingColumn(compact=True, elapsed_when_finished=True), TextColumn("{task.description}"))
    with Progress(*columns, console=err, transient=False, refresh_per_second=4) as bar:
        task = bar.add_task("", total=minutes * 60)
        last_line = [0.0]

        def on_progress(p: TrainProgress) -> None:
            line = _describe(p, level)
            bar.update(task, completed=min(p.elapsed_s, p.budget_s), description=line)
            # Without a terminal (a log file, CI) the bar is not drawn: print a line now and then.
            if not err.is_terminal and (p.phase in ("saved", "done") or p.elapsed_s - last_line[0] >= 30):
                last_line[0] = p.elapsed_s
                print(f"[{p.elapsed_s:6.0f}s / {p.budget_s:.0f}s] {p.phase:8s} {line}",
                      file=sys.stderr, flush=True)

        yield on_progress
