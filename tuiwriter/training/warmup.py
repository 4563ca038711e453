"""After training: where the new model's mixers start, learnt by typing its own validation text.

Every model's mixers otherwise start from one fit (`mixer_init.FIT`), made with the default model
on books and a play. A model trained on a person's notes is trusted differently on them (its
memory holds their commands, links and names), and a new document, which is often one short
note, ends before the mixers have learnt that. So once the model is saved, the engine's mixture
replays the validation text (text the model did not train on) as a person typing it would, with a
corpus memory of the training text only (in the full memory the validation text would match
itself whole), and the mixers' weights at the end become the checkpoint's `MixerStart`. Measured
on the jbranchaud notes (models/README.md, "The mixers' start learnt on the person's own text"):
held-out notes, each its own document in `tuiwriter eval`, 1.633 -> 1.597 bits/char, the same
weights. The output layer's correction is not kept: carried into the next document it cost more
than it gave (replays: 1.5865 against 1.5730 for the mixers alone).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch

from tuiwriter.lm import checkpoint
from tuiwriter.lm.checkpoint import MixerStart
from tuiwriter.predict.experts.corpus_memory import CorpusMemory, remembered_from
from tuiwriter.predict.mixer_init import initial_adaptation
from tuiwriter.predict.replay import Switches, replay
from tuiwriter.text.vocab import Vocab
from tuiwriter.training.setup import text_of

CHARS = 50_000  # the validation text typed, at most
MIN_CHARS = 2_000  # less is not worth a start of its own
MEMORY_CHARS = 8_000_000  # the end of the training text remembered while typing it (indexing more is slow)
SHARE = 0.1  # of a run's time budget kept for this step ...
MAX_SECONDS = 60.0  # ... at most (about 50,000 characters on a 2-core machine)
# what may stop the step; the model is saved before it and works without its result
FAILURES = (OSError, MemoryError, RuntimeError, ValueError, checkpoint.CheckpointError)


@dataclass
class Warmed:
    """What the step did: characters typed, the mixture's bits/char on them, seconds taken."""

    chars: int
    bpc: float
    seconds: float


def reserve_s(minutes: float, level: str = "char") -> float:
    """Seconds of a run of `minutes` kept for the warm-up (the loop trains for the rest); none for
    a word-level model (`training.setup.Setup.level`), whose engine path it was not measured on."""
    return min(MAX_SECONDS, SHARE * minutes * 60.0) if level == "char" else 0.0


def warm_up(path: Path, vocab: Vocab, train_ids: torch.Tensor, val_ids: torch.Tensor,
            seconds: float | None, chars: int = CHARS,
            should_stop: Callable[[], bool] | None = None) -> Warmed | None:
    """Learn the mixers' start on the first `chars` characters of the validation text (`val_ids`,
    character ids) within `seconds` (None: no limit) and write it into the checkpoint at `path`
    (atomically; its summary records `mixer_start`). None, and the checkpoint untouched, where the
    validation text is too short, the time ran out before MIN_CHARS, or `should_stop()` turned true
    (a person's Cancel does not wait for it)."""
    began = time.monotonic()
    text = text_of(vocab, val_ids[:chars].numpy())
    if len(text) < MIN_CHARS:
        return None
    ck = checkpoint.load(path)
    remembered = remembered_from([text_of(vocab, train_ids[-MEMORY_CHARS:].numpy())], vocab)
    memory = CorpusMemory(remembered, vocab) if remembered is not None else None
    deadline = None if seconds is None else began + seconds
    done = replay(ck, text, memory, Switches(), initial_adaptation(), deadline=deadline, should_stop=should_stop)
    if done.chars < MIN_CHARS or (should_stop is not None and should_stop()):
        return None
    a = done.adaptation
    assert a.side is not None and a.final is not None
    took = time.monotonic() - began
    checkpoint.with_mixer_start(path, ck, MixerStart(a.weights, a.side, a.final), {
        "mixer_start": {"chars": done.chars, "bpc": round(done.bpc, 4), "seconds": round(took, 1)}})
    return Warmed(done.chars, done.bpc, took)
