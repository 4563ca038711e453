"""What every training run sets up before the loop: the model, its vocabulary, the split, the summary.

Shared by `tuiwriter train` and the editor's background job so that a model trained from
either place is built, split and described the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from tuiwriter.lm import checkpoint, store
from tuiwriter.lm.model import SIZES, CharRNN, ModelConfig
from tuiwriter.predict.experts import corpus_memory
from tuiwriter.text import corpus
from tuiwriter.text.vocab import Vocab

MAX_LISTED_FILES = 200
NEW_LR = 3e-3
FINE_TUNE_LR = 1e-3  # lower: a fine-tune should adapt the model, not wash out what it knew


@dataclass
class Setup:
    """Everything `train.train` needs besides the output paths and the loop settings."""

    model: CharRNN
    vocab: Vocab
    lr: float
    train_ids: torch.Tensor  # the training text as vocabulary ids (uint8; int16 past 256 symbols)
    val_ids: torch.Tensor  # the validation text, likewise
    held: list[Path]  # held-out files; empty when the tail of the text is held out
    unknown_chars: int  # distinct corpus characters outside the vocabulary
    summary: dict
    memory: checkpoint.Memory | None  # what the trained model will remember, indexed (corpus_memory)


def prepare(data: corpus.Corpus, *, base: str | None = None, resume_from: Path | None = None,
            size: str | None = None, seed: int = 1, lr: float | None = None) -> Setup:
    """Build (or load) the model, split the corpus and read it as ids (`corpus.encode`).

    `base` fine-tunes that model (its vocabulary and architecture are kept), `resume_from`
    continues an interrupted run from that checkpoint, otherwise a new model of `size` is made
    with a vocabulary from this corpus. Raises `CheckpointError` for a base that will not load.
    """
    torch.manual_seed(seed)  # model initialisation is part of a reproducible recipe
    if base:
        ck = store.load(base)
        vocab, model = ck.vocab, ck.build_model()
        origin = {"from": base}
        rate = lr or FINE_TUNE_LR
    elif resume_from is not None:
        ck = checkpoint.load(resume_from)
        vocab, model = ck.vocab, ck.build_model()
        origin = {k: ck.training[k] for k in ("from", "size") if k in ck.training}
        rate = lr or (FINE_TUNE_LR if "from" in origin else NEW_LR)
    else:
        vocab = Vocab.from_counts(data.char_counts)
        size = size or "base"
        model = CharRNN(ModelConfig(vocab_size=len(vocab), **SIZES[size]))
        origin = {"size": size}
        rate = lr or NEW_LR
    unknown = sum(1 for c in data.char_counts if vocab.id_of(c) == 0)
    plan = corpus.split(data, seed=seed)
    train_ids, val_ids = corpus.encode(data, vocab, plan)
    return Setup(model, vocab, rate, torch.from_numpy(train_ids), torch.from_numpy(val_ids), plan.held_paths(data),
                 unknown, corpus_summary(data, origin, seed), corpus_memory.remembered(data, vocab))


def corpus_summary(data: corpus.Corpus, origin: dict, seed: int) -> dict:
    """The training summary a checkpoint carries: where it came from and what it read."""
    return dict(
        origin,
        corpus_files=[str(f.path) for f in data.files[:MAX_LISTED_FILES]],
        corpus_file_count=len(data.files),
        corpus_bytes=data.bytes,
        corpus_label=f"{len(data.files)} file(s), {data.bytes / 1e6:.1f} MB"
        + (f": {data.files[0].path.name}" if len(data.files) == 1 else ""),
        seed=seed,
    )

