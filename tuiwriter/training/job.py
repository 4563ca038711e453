"""Training in the background while the person keeps writing: one run at a time, in a thread.

The job drives the same `train.train` loop as `tuiwriter train`, set up by the same
`training_setup.prepare`, and turns its progress callback into `JobSnapshot`s: immutable
copies the UI can read at any time (`snapshot()`) or receive through `on_event`, which is
called from the training thread (the UI must hop threads itself; Textual's `post_message`
does). Results go to a new model name, so the model in use is never written to; a failed
run reports one line and removes what it created.

Threads: `torch.set_num_threads` is process-wide, but PyTorch keeps the OpenMP/MKL thread
count per native thread and only seeds new threads from a process-wide default. The job
lowers the count inside its own thread and puts the default back at once, so the completion
engine's threads keep theirs. One training thread by default: on a 2-core machine the
other core stays free for the UI and the engine, and a single-threaded trainer never
spin-waits on an OpenMP team that would compete with the keystroke path.

Device: config.toml's `device` (auto by default: a GPU when there is one, which also leaves
both CPU cores to the editor), read when each run starts, so a changed setting applies to
the next run.

This module does not import torch until a run starts, so the editor can import it at start-up.
"""

from __future__ import annotations

import errno
import math
import shutil
import threading
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from tuiwriter.lm import names
from tuiwriter.text.corpus import Corpus

if TYPE_CHECKING:
    from tuiwriter.training.loop import Progress

LN2 = math.log(2)
# Validation in the background is cheaper than the CLI's (120,000 chars at least every 10 s): on one
# thread a base model validates ~5,000 chars/s, so the CLI's setting would spend most of a short
# run validating. A quarter of the characters, at most six times per run (and once at the end).
VAL_CHARS = 30_000
MIN_EVAL_EVERY_S = 60.0
HISTORY_POINTS = 120  # a sparkline's worth; older points are thinned, not dropped
RUNNING_STATES = ("preparing", "training", "stopping")


class JobError(Exception):
    """A run that cannot start or did not finish; the message is one line for the person."""


@dataclass
class TrainRequest:
    """What to train: the corpus paths, where to save, for how long, and from what."""

    paths: list[Path]
    name: str
    minutes: float = 5.0
    base: str | None = None  # a model spec to fine-tune (keeps its vocabulary); None: a new model
    size: str = "small"  # for a new model
    level: str | None = None  # "char" or "word" for a new model (None: char; a base keeps its own)
    seed: int = 1
    active_model: str | None = None  # the model in use when the run started, to offer it back
    corpus: Corpus | None = None  # already collected (the screen's preview); else read in the job


@dataclass(frozen=True)
class JobSnapshot:
    """One moment of a run. Losses are in bits per character, as `tuiwriter eval` reports them."""

    state: str = "idle"  # idle, preparing, training, stopping, finished, cancelled, failed
    name: str = ""
    base: str | None = None
    active_model: str | None = None
    corpus_line: str = ""
    params: int = 0
    elapsed_s: float = 0.0
    budget_s: float = 0.0
    chars_seen: int = 0
    step: int = 0
    train_bpc: float | None = None
    val_bpc: float | None = None
    best_val_bpc: float | None = None
    train_history: tuple[float, ...] = ()
    val_history: tuple[float, ...] = ()
    path: Path | None = None  # the saved model, once there is one
    message: str = ""  # the error of a failed run

    @property
    def running(self) -> bool:
        return self.state in RUNNING_STATES

    @property
    def fraction(self) -> float:
        if self.state in ("finished", "cancelled"):
            return 1.0
        return min(1.0, self.elapsed_s / self.budget_s) if self.budget_s > 0 else 0.0

    @property
    def eta_s(self) -> float:
        return max(0.0, self.budget_s - self.elapsed_s)

    @property
    def chars_per_s(self) -> float:
        return self.chars_seen / self.elapsed_s if self.elapsed_s > 0 else 0.0

    def compact(self) -> str:
        """A few words for a status bar."""
        if self.state == "preparing":
            return f"training {self.name}: reading files…"
        if self.state == "stopping":
            return f"training {self.name}: stopping…"
        if self.state == "training":
            return f"training {self.name} {self.fraction:.0%} {format_duration(self.eta_s)} left"
        if self.state in ("finished", "cancelled"):
            bpc = f" ({self.best_val_bpc:.2f} bpc)" if self.best_val_bpc is not None else ""
            return f"trained {self.name}{bpc}"
        if self.state == "failed":
            return "training failed"
        return ""


def format_duration(seconds: float) -> str:
    seconds = int(round(seconds))
    if seconds >= 3600:
        return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"
    return f"{seconds // 60}:{seconds % 60:02d}"


def describe_error(exc: BaseException) -> str:
    """One line a person can act on, for anything a run can raise."""
    from tuiwriter.lm.checkpoint import CheckpointError
    from tuiwriter.text.corpus import CorpusError

    if isinstance(exc, OSError):
        if exc.errno == errno.ENOSPC:
            return "disk full: the model could not be saved"
        where = f": {exc.filename}" if exc.filename else ""
        return f"{exc.strerror or str(exc).splitlines()[0]}{where}"
    first = (str(exc).strip().splitlines() or [""])[0]
    if isinstance(exc, (JobError, CorpusError, CheckpointError, ValueError)):
        return first
    return f"training failed: {type(exc).__name__}: {first}"


def limit_this_thread(threads: int) -> None:
    """Give the calling thread `threads` torch threads without changing anyone else's count."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    # set_num_threads also moved the default that threads started later begin with; put it back
    # from a throwaway thread, which leaves this thread's own (per-thread) setting in place.
    restore = threading.Thread(target=torch.set_num_threads, args=(before,), name="tuiwriter-threads")
    restore.start()
    restore.join()


class _Thinned:
    """A history that keeps at most `limit` evenly spaced points of a run of any length."""

    def __init__(self, limit: int = HISTORY_POINTS) -> None:
        self.limit, self.stride, self.count, self.points = limit, 1, 0, []

    def add(self, value: float) -> None:
        if self.count % self.stride == 0:
            self.points.append(value)
            if len(self.points) > self.limit:
                self.points = self.points[::2]
                self.stride *= 2
        self.count += 1


@dataclass
class _RunState:
    train: _Thinned = field(default_factory=_Thinned)
    val: list[float] = field(default_factory=list)


class TrainingJob:
    """Runs at most one training run at a time in a background thread.

    `on_event(snapshot)` is called from whichever thread changed the state (mostly the
    training thread); it must be quick and must not raise (errors are swallowed).
    """

    def __init__(self, threads: int = 1, on_event: Callable[[JobSnapshot], None] | None = None,
                 device: str | None = None) -> None:
        self.threads = max(1, int(threads))
        self.on_event = on_event
        self.device = device  # a device name; None: config.toml's `device`, read when a run starts
        self._lock = threading.Lock()
        self._snap = JobSnapshot()
        self._stop = threading.Event()
        self._extra_s = 0.0  # the running job's seconds after the training loop (`warmup.reserve_s`)
        self._thread: threading.Thread | None = None
        self._run_state = _RunState()

    def snapshot(self) -> JobSnapshot:
        with self._lock:
            return self._snap

    @property
    def running(self) -> bool:
        return self.snapshot().running

    def start(self, request: TrainRequest) -> None:
        """Check the request and start the run; raises JobError (one line) if it cannot start."""
        self._check(request)
        with self._lock:
            if self._snap.running:
                raise JobError(f"already training {self._snap.name!r}: cancel it or wait for it to finish")
            self._stop.clear()
            self._run_state = _RunState()
            self._snap = JobSnapshot(state="preparing", name=request.name, base=request.base,
                                     active_model=request.active_model, budget_s=request.minutes * 60)
            self._thread = threading.Thread(target=self._run, args=(request,), name="tuiwriter-training",
                                            daemon=True)
        self._emit(self._snap)
        self._thread.start()

    def cancel(self) -> bool:
        """Ask the run to stop; it validates once more and keeps its best model. False if idle."""
        with self._lock:
            if not self._snap.running:
                return False
            self._stop.set()
            self._snap = replace(self._snap, state="stopping")
            snap = self._snap
        self._emit(snap)
        return True

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for the run's thread to end; True when nothing is running any more."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
        return not (thread is not None and thread.is_alive())

    # -- the training thread ------------------------------------------------------------

    def _check(self, request: TrainRequest) -> None:
        if not request.paths and request.corpus is None:
            raise JobError("choose at least one file or folder to train on")
        if not (request.minutes > 0 and math.isfinite(request.minutes)):
            raise JobError("the time budget must be a positive number of minutes")
        problem = names.name_problem(request.name)
        if problem:
            raise JobError(problem.replace("--model name", "name"))
        if names.saved(request.name):
            raise JobError(f"a model named {request.name!r} exists: pick another name")
        if request.base is None and request.size not in names.SIZES:
            raise JobError(f"unknown model size {request.size!r} (use {', '.join(names.SIZES)})")

    def _update(self, **changes) -> JobSnapshot:
        with self._lock:
            if self._snap.state == "stopping" and changes.get("state") == "training":
                changes.pop("state")
            self._snap = replace(self._snap, **changes)
            return self._snap

    def _emit(self, snap: JobSnapshot) -> None:
        if self.on_event is None:
            return
        try:
            self.on_event(snap)
        except Exception:  # noqa: BLE001 - a listener must never break a run
            pass

    def _on_progress(self, p: Progress) -> None:
        history = self._run_state
        if p.phase == "train" and p.train_loss is not None and p.val_loss is None:
            history.train.add(p.train_loss / LN2)
        # the budget shown includes the seconds kept for the mixers' start after the loop
        changes: dict = dict(elapsed_s=p.elapsed_s, budget_s=p.budget_s + self._extra_s, chars_seen=p.chars_seen,
                             step=p.step,
                             train_history=tuple(history.train.points), state="training")
        if p.train_loss is not None:
            changes["train_bpc"] = p.train_loss / LN2
        if p.val_loss is not None:
            history.val.append(p.val_loss / LN2)
            changes.update(val_bpc=p.val_loss / LN2, val_history=tuple(history.val))
        if p.best_val_loss is not None:
            changes["best_val_bpc"] = p.best_val_loss / LN2
        self._emit(self._update(**changes))

    def _device(self):
        """The torch device this run trains on; a JobError when config.toml names one that is not here."""
        from tuiwriter import settings
        from tuiwriter.training import devices

        name = self.device or settings.load()[0].device  # a broken config.toml: the app already warned
        try:
            return devices.resolve(name)
        except devices.DeviceError as exc:
            raise JobError(f"config.toml: {exc}") from None

    def _run(self, request: TrainRequest) -> None:
        out_dir: Path | None = None
        out_path: Path | None = None
        try:
            limit_this_thread(self.threads)
            from tuiwriter.lm import store
            from tuiwriter.paths import private_dir
            from tuiwriter.text import corpus
            from tuiwriter.training import setup as training_setup
            from tuiwriter.training import warmup
            from tuiwriter.training.loop import TrainConfig, train

            device = self._device()
            data = request.corpus or corpus.collect(request.paths)
            self._emit(self._update(corpus_line=data.summary()))
            setup = training_setup.prepare(data, base=request.base, seed=request.seed,
                                           size=None if request.base else request.size,
                                           level=None if request.base else request.level)
            if self._stop.is_set():
                self._emit(self._update(state="cancelled", message="cancelled before training started"))
                return
            if names.saved(request.name):
                raise JobError(f"a model named {request.name!r} exists: pick another name")
            out_dir = private_dir(store.model_dir(request.name))
            out_path = out_dir / names.CHECKPOINT_FILE
            self._emit(self._update(state="training", params=setup.model.num_params()))
            # the last seconds go to the mixers' start (`warmup`), inside the budget
            reserve = warmup.reserve_s(request.minutes, setup.level)
            self._extra_s = reserve
            cfg = TrainConfig(minutes=request.minutes - reserve / 60, seed=request.seed, lr=setup.lr, threads=None,
                              val_chars=VAL_CHARS, eval_every_s=max(MIN_EVAL_EVERY_S, request.minutes * 10),
                              device=str(device))
            result = train(setup.model, setup.vocab, setup.train_ids, setup.val_ids, out_path, cfg,
                           setup.summary, self._on_progress, self._stop.is_set, memory=setup.memory,
                           words=setup.words, val_per_char=setup.val_per_char)
            if not result.saved or result.best_val_loss is None:
                raise JobError("training ended without saving a model")
            if reserve and not result.stopped_early and not self._stop.is_set():
                try:
                    warmup.warm_up(out_path, setup.vocab, setup.train_ids, setup.val_ids, reserve,
                                   should_stop=self._stop.is_set)
                except warmup.FAILURES:  # the model is saved and works with the shared start
                    pass
            state = "cancelled" if result.stopped_early else "finished"
            self._emit(self._update(state=state, path=out_path, best_val_bpc=result.best_val_loss / LN2,
                                    chars_seen=result.chars_seen, elapsed_s=result.seconds))
        except Exception as exc:  # noqa: BLE001 - every failure becomes one line for the person
            message = describe_error(exc)
            kept = out_path is not None and out_path.exists()
            if kept:
                message += f" (the best model so far is kept as {request.name!r})"
            elif out_dir is not None:
                shutil.rmtree(out_dir, ignore_errors=True)
            self._emit(self._update(state="failed", message=message, path=out_path if kept else None))
