"""The training loop: truncated backprop through time over a time budget, keeping the best model.

The loop is in plain sight: parallel streams over the training text, state carried from one
batch to the next (detached), Adam with gradient clipping and a cosine learning rate over the
time budget, validation every so often, and the best model by validation loss written
atomically. The CLI and the editor's background worker both drive `train` and watch it
through the same `on_progress` callback.

The same loop runs on a GPU (mixed precision, the corpus on the device) and as one process of
several under torchrun: when a process group is up, the model is wrapped in
DistributedDataParallel, each process reads its own share of the streams, DDP averages the
gradients, and rank 0 alone validates, reports and saves. The processes agree on the clock and
on stopping at every update, so the time budget and Ctrl+C stop them all at the same update.
"""

from __future__ import annotations

import math
import random
import time
import zlib
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

import torch
import torch.nn.functional as F
from torch.nn.parallel import DistributedDataParallel as DDP

from tuiwriter.lm import checkpoint
from tuiwriter.lm.model import CharRNN, State, mid_text_state
from tuiwriter.text.vocab import Vocab
from tuiwriter.text.words import WordVocab
from tuiwriter.training import devices, distributed

LN2 = math.log(2)

# One update reads `streams` parallel streams of `seq_len` characters (across all processes).
# On a CPU: small updates, many of them, since on a time budget the number of updates is what
# limits a run (3 minutes on Tiny Shakespeare, small model: 16 x 64 reached 1.81 nats/char,
# 32 x 128 only 2.16).
CPU_STREAMS, CPU_SEQ_LEN = 16, 64
# On CUDA: 128 streams per GPU x 128 characters. NOT MEASURED (no GPU was at hand when this was
# written): a GPU steps all streams of an LSTM layer in one matrix product, so 16 streams would
# leave it mostly idle, and 16,384 characters per update is a common size for a char-LSTM of
# this shape. --batch and --seq-len override it; measure before trusting it.
CUDA_STREAMS_PER_GPU, CUDA_SEQ_LEN = 128, 128


@dataclass
class TrainConfig:
    minutes: float = 10.0
    seq_len: int | None = None  # None: the device's default (CPU_SEQ_LEN, CUDA_SEQ_LEN)
    batch: int | None = None  # streams across all processes; None: the device's default
    lr: float = 3e-3
    min_lr_fraction: float = 0.05
    warmup_steps: int = 50
    clip: float = 1.0
    reset_prob: float = 0.05  # per stream and batch: documents start from a zero state, so train for it
    weight_decay: float = 0.0
    val_chars: int = 120_000
    eval_every_s: float | None = None  # default: a twelfth of the budget, 10 s to 5 min
    seed: int = 1
    precision: str = "auto"  # devices.PRECISIONS: auto is mixed precision where the device computes it natively
    threads: int | None = None
    max_steps: int | None = None  # stop after this many updates (reproducible runs, tests)
    device: str = "cpu"  # a resolved torch device (devices.resolve), e.g. "cuda:0"


@dataclass
class Progress:
    """A snapshot the loop reports; losses are in nats per character."""

    phase: str  # "train", "validate", "saved", "done"
    elapsed_s: float
    budget_s: float
    chars_seen: int
    step: int
    train_loss: float | None = None
    val_loss: float | None = None
    best_val_loss: float | None = None
    lr: float = 0.0
    chars_before: int = 0  # what a resumed run had read before this run started

    @property
    def chars_per_s(self) -> float:
        """This run's reading speed (a resumed run's earlier characters do not count)."""
        return (self.chars_seen - self.chars_before) / self.elapsed_s if self.elapsed_s > 0 else 0.0

    @property
    def fraction(self) -> float:
        return min(1.0, self.elapsed_s / self.budget_s) if self.budget_s > 0 else 1.0

    @property
    def eta_s(self) -> float:
        return max(0.0, self.budget_s - self.elapsed_s)


@dataclass
class TrainResult:
    best_val_loss: float | None
    chars_seen: int
    seconds: float
    stopped_early: bool
    saved: bool
    history: list[Progress] = field(default_factory=list)


def update_size(cfg: TrainConfig, device: torch.device, processes: int = 1) -> tuple[int, int]:
    """(streams across all processes, characters per stream) of one update on `device`."""
    if device.type == "cuda":
        return cfg.batch or CUDA_STREAMS_PER_GPU * processes, cfg.seq_len or CUDA_SEQ_LEN
    return cfg.batch or CPU_STREAMS, cfg.seq_len or CPU_SEQ_LEN


def _layout(n: int, batch: int, seq_len: int, processes: int = 1) -> tuple[int, int]:
    """The streams and sequence length that fit `n` characters, the streams a multiple of `processes`
    (each process reads an equal share, so averaging their gradients averages over every stream)."""
    seq_len = max(1, min(seq_len, n - 1))
    batch = -(-batch // processes) * processes
    batch = max(1, min(batch, (n - 1) // seq_len))
    batch -= batch % processes
    if batch < processes:
        raise ValueError(f"not enough text for {processes} processes")
    return batch, seq_len


def _stream_batches(data: torch.Tensor, batch: int, seq_len: int, share: slice = slice(None)):
    """Yield (x, y, reset) forever: `batch` parallel streams, each a contiguous slice of data.

    A process of several reads only its `share` of the streams; together the processes read
    exactly what a single process reading all of them would.
    """
    span = (data.numel() - 1) // batch
    starts = (torch.arange(batch, device=data.device) * span)[share]
    offsets = torch.arange(seq_len + 1, device=data.device)[None, :]
    while True:
        reset = True
        for pos in range(0, span - seq_len + 1, seq_len):
            chunk = data[starts[:, None] + pos + offsets].long()
            yield chunk[:, :-1], chunk[:, 1:], reset
            reset = False


@torch.no_grad()
def evaluate_loss(model: CharRNN, data: torch.Tensor, seq_len: int = 256, streams: int = 16) -> float:
    """Mean next-character loss (nats) over `data`, context carried through each stream."""
    was_training = model.training
    model.eval()
    n = data.numel()
    streams = max(1, min(streams, (n - 1) // max(1, seq_len)))
    span = (n - 1) // streams
    total, count = 0.0, 0
    state: State | None = None
    dtype = next(model.parameters()).dtype
    starts = torch.arange(streams, device=data.device) * span
    for pos in range(0, span, seq_len):
        length = min(seq_len, span - pos)
        idx = starts[:, None] + pos + torch.arange(length + 1, device=data.device)[None, :]
        chunk = data[idx].long()
        logits, state = model(chunk[:, :-1], state)
        state = _detach(state, dtype)
        total += F.cross_entropy(logits.reshape(-1, logits.shape[-1]), chunk[:, 1:].reshape(-1),
                                 reduction="sum").item()
        count += chunk[:, 1:].numel()
    model.train(was_training)
    return total / max(1, count)


def _lr_at(cfg: TrainConfig, step: int, fraction: float) -> float:
    """Linear warm-up (over `warmup_steps` or 2 % of the budget, whichever ends first), then
    a cosine decay over the time budget: a run that is cut short still ends on a low rate."""
    warm = min(1.0, max((step + 1) / max(1, cfg.warmup_steps), fraction / 0.02))
    cos = 0.5 * (1 + math.cos(math.pi * min(1.0, fraction)))
    return cfg.lr * warm * (cfg.min_lr_fraction + (1 - cfg.min_lr_fraction) * cos)


def _detach(state: State, dtype: torch.dtype) -> State:
    """The state carried to the next batch (or validation chunk), cut from this one's graph, in the
    weights' precision (autocast hands bfloat16 states back: carried as they are, the cell state
    would lose its low bits at every batch)."""
    return tuple(s.detach().to(dtype) for s in state)


def train(
    model: CharRNN,
    vocab: Vocab,
    train_ids: torch.Tensor,
    val_ids: torch.Tensor,
    out_path: Path,
    cfg: TrainConfig,
    summary: dict | None = None,
    on_progress: Callable[[Progress], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    resume_path: Path | None = None,
    resume: bool = False,
    memory: checkpoint.Memory | None = None,
    words: WordVocab | None = None,
    val_per_char: Callable[[float, int], float] | None = None,
) -> TrainResult:
    """Train `model` on `train_ids` for `cfg.minutes`, saving the best model to `out_path`.

    Stops at the time budget or when `should_stop()` turns true (in any process of a
    distributed run); either way it validates once more and keeps whichever model is best. An
    earlier best at `out_path` is replaced only by a better one, atomically. `train_ids` and
    `val_ids` are the texts as vocabulary ids (uint8, int16 past 256 symbols: `corpus.encode`);
    the first `cfg.val_chars` of `val_ids` validate. `memory` is what the saved model
    remembers, indexed once before the run (`corpus_memory.remembered`); `checkpoint.save` writes
    it once. The model trains on `cfg.device` and is handed back
    where it came from.

    A word-level model (`words`, its tokens) trains on token ids the same way; `val_per_char(loss,
    tokens)` turns its mean validation loss per token over the first `tokens` validation tokens
    into nats per character (unknown words' spellings included, `training.setup`), so that
    validation losses, the best model and the saved val_bpc are per character at both levels.
    """
    world = distributed.current()  # a single process unless torchrun started this one
    device = torch.device(cfg.device)
    home = next(model.parameters()).device
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    random.seed(cfg.seed)
    budget = cfg.minutes * 60.0
    eval_every = cfg.eval_every_s or min(300.0, max(10.0, budget / 12))
    val_ids = val_ids[: cfg.val_chars]
    if train_ids.numel() < 2 or val_ids.numel() < 2:
        raise ValueError("not enough text to train on")
    model.to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    info = {"chars_seen": 0, "seconds": 0.0, "step": 0, "best_val_loss": None}
    if resume and resume_path is not None and resume_path.exists():
        info.update(checkpoint.load_resume(resume_path, opt))
    chars_seen, step = int(info["chars_seen"]), int(info["step"])
    best: float | None = info["best_val_loss"]
    prior_seconds = float(info["seconds"])
    if world.size > 1:  # every process read the files itself: make sure they read the same
        distributed.check_same(zlib.crc32(train_ids.numpy(), zlib.crc32("".join(vocab.chars).encode())) + step)
    # The whole corpus on the device (1 or 2 bytes a character): batches never cross the bus.
    train_ids = train_ids.to(device)
    val_ids = val_ids.to(device) if world.main else val_ids  # rank 0 alone validates
    streams, seq_len = _layout(train_ids.numel(), *update_size(cfg, device, world.size), world.size)
    per_process = streams // world.size
    share = slice(world.rank * per_process, (world.rank + 1) * per_process)
    # Mixed precision where the device computes it natively (devices.autocast_dtype), else
    # float32. Only CUDA's float16 LSTM needs the gradient scaler; elsewhere it is a no-op.
    amp_dtype = devices.autocast_dtype(device, cfg.precision)
    autocast = torch.autocast(device.type, dtype=amp_dtype) if amp_dtype else nullcontext()
    scaler = torch.amp.GradScaler("cuda", enabled=amp_dtype is not None and device.type == "cuda")
    # DDP averages the gradients over the processes during backward; `model` stays the plain
    # module, which rank 0 validates and saves.
    ddp_model = DDP(model, device_ids=[device.index] if device.type == "cuda" else None) if world.size > 1 else model
    summary = dict(summary or {}, device=devices.describe(device, cfg.precision), processes=world.size)
    history: list[Progress] = []
    saved = False

    chars_before = chars_seen

    def report(p: Progress) -> None:
        p.chars_before = chars_before
        history.append(p)
        if on_progress is not None:
            on_progress(p)

    def validate_and_keep(elapsed: float, train_loss: float | None) -> None:
        nonlocal best, saved
        report(Progress("validate", elapsed, budget, chars_seen, step, train_loss, None, best))
        with autocast:  # twice as fast in bfloat16, the loss the same to 2e-5 nats/char (the model card)
            val = per_token = evaluate_loss(model, val_ids)
        if val_per_char is not None:
            val = val_per_char(per_token, val_ids.numel())
        if best is None or val < best:
            best = val
            if val_per_char is not None:
                summary.update(val_loss_token=round(per_token, 5))
            summary.update(
                chars_seen=chars_seen, steps=step, val_loss=round(val, 5), val_bpc=round(val / LN2, 5),
                seconds=round(prior_seconds + elapsed, 1), threads=torch.get_num_threads(),
                finished_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
            )
            # where the completion engine starts reading inside a document: this model's mean state
            # over its training text (lm.model.mid_text_state)
            mid = mid_text_state(model, train_ids)
            checkpoint.save(out_path, model, vocab, summary, memory=memory, mid_state=mid, words=words)  # float32, CPU
            if resume_path is not None:
                checkpoint.save_resume(resume_path, opt, {
                    "chars_seen": chars_seen, "seconds": prior_seconds + elapsed, "step": step,
                    "best_val_loss": best})
            saved = True
            report(Progress("saved", elapsed, budget, chars_seen, step, train_loss, val, best))
        else:
            report(Progress("train", elapsed, budget, chars_seen, step, train_loss, val, best))

    model.train()
    model_dtype = next(model.parameters()).dtype
    batches = _stream_batches(train_ids, streams, seq_len, share)
    state: State | None = None
    smooth: float | None = None
    start = time.monotonic()
    last_eval = start
    last_report = 0.0
    stopped_early = False
    while True:
        now = time.monotonic()
        elapsed = now - start
        stop = should_stop is not None and should_stop()
        if world.size > 1:  # the latest clock and anyone's stop request, for every process
            elapsed, stop = distributed.agree(elapsed, stop)
        if elapsed >= budget or (cfg.max_steps is not None and step >= cfg.max_steps):
            break
        if stop:
            stopped_early = True
            break
        x, y, reset = next(batches)
        if reset or state is None or state[0].shape[1] != x.shape[0]:
            state = model.init_state(x.shape[0])
        elif cfg.reset_prob > 0:
            # drawn for all streams in every process (same seed), each keeping its share: the
            # same resets as one process reading every stream
            keep = (torch.rand(streams) >= cfg.reset_prob)[share]
            state = tuple(s * keep.to(s.device, s.dtype)[None, :, None] for s in state)
        # The schedule follows the clock, or the step count when one is set (reproducible).
        fraction = step / cfg.max_steps if cfg.max_steps else elapsed / budget if budget > 0 else 1.0
        lr = _lr_at(cfg, step, fraction)
        for group in opt.param_groups:
            group["lr"] = lr
        with autocast:
            logits, state = ddp_model(x, state)
            loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))
        state = _detach(state, model_dtype)
        opt.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.unscale_(opt)  # clip the true gradients, not the scaled ones
        torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.clip)
        scaler.step(opt)
        scaler.update()
        step += 1
        chars_seen += y.numel() * world.size
        value = loss.item()  # this process's share (rank 0's is what the progress shows)
        smooth = value if smooth is None else 0.95 * smooth + 0.05 * value
        if world.main and now - last_report >= 0.5:
            report(Progress("train", elapsed, budget, chars_seen, step, smooth, None, best, lr))
            last_report = now
        if world.main and now - last_eval >= eval_every:
            validate_and_keep(time.monotonic() - start, smooth)
            last_eval = time.monotonic()
    elapsed = time.monotonic() - start
    if world.main:
        validate_and_keep(elapsed, smooth)
        report(Progress("done", elapsed, budget, chars_seen, step, smooth, None, best))
    model.eval()
    model.to(home)
    return TrainResult(best, chars_seen, elapsed, stopped_early, saved, history)
