"""What every training run sets up before the loop: the model, its vocabulary, the split, the summary.

Shared by `tuiwriter train` and the editor's background job so that a model trained from
either place is built, split and described the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from tuiwriter.lm import checkpoint, store
from tuiwriter.lm.model import SIZES, CharRNN, ModelConfig
from tuiwriter.predict.experts import corpus_memory
from tuiwriter.text import corpus
from tuiwriter.text.vocab import Vocab
from tuiwriter.text.words import WordsError, WordVocab, tokenize

MAX_LISTED_FILES = 200
NEW_LR = 3e-3
# A fine-tune's peak rate (cosine decay as for a new model). 2e-3 since stop 29: on a person's
# held-out notes it predicts 0.025 bits/char better than 1e-3 in the same 10 minutes, no worse on a
# small folder, while text unlike theirs (a novel) loses a little more of what the model knew than
# the fine-tune already loses (models/README.md, "Two fast corrections as inputs, and a faster
# fine-tune").
FINE_TUNE_LR = 2e-3


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
    words: WordVocab | None = None  # a word-level model's tokens (train_ids and val_ids are token ids then)
    val_per_char: Callable[[float, int], float] | None = None  # word level: loss per token -> nats per char

    @property
    def level(self) -> str:
        return "word" if self.words is not None else "char"


def prepare(data: corpus.Corpus, *, base: str | None = None, resume_from: Path | None = None,
            size: str | None = None, seed: int = 1, lr: float | None = None, level: str | None = None) -> Setup:
    """Build (or load) the model, split the corpus and read it as ids (`corpus.encode`).

    `base` fine-tunes that model (its vocabulary and architecture are kept), `resume_from`
    continues an interrupted run from that checkpoint, otherwise a new model of `size` is made
    with a vocabulary from this corpus. `level` ("char" or "word"; None: the base's, or char)
    says what the model predicts: a base of another level is refused. Raises `CheckpointError`
    for a base that will not load or does not fit, `CorpusError` for a corpus a word-level model
    cannot be made from.
    """
    torch.manual_seed(seed)  # model initialisation is part of a reproducible recipe
    words: WordVocab | None = None
    model: CharRNN | None = None
    if base:
        ck = store.load(base)
        check_level(ck, level, base)
        vocab, model, words = ck.vocab, ck.build_model(), ck.words
        origin = {"from": base}
        rate = lr or FINE_TUNE_LR
    elif resume_from is not None:
        ck = checkpoint.load(resume_from)
        check_level(ck, level, str(resume_from.parent.name))
        vocab, model, words = ck.vocab, ck.build_model(), ck.words
        origin = {k: ck.training[k] for k in ("from", "size") if k in ck.training}
        rate = lr or (FINE_TUNE_LR if "from" in origin else NEW_LR)
    else:
        vocab = Vocab.from_counts(data.char_counts)
        size = size or "base"
        origin = {"size": size}
        rate = lr or NEW_LR
    unknown = sum(1 for c in data.char_counts if vocab.id_of(c) == 0)
    plan = corpus.split(data, seed=seed)
    train_ids, val_ids = corpus.encode(data, vocab, plan)
    val_per_char = None
    if model is None and level == "word":
        train_text, val_text = text_of(vocab, train_ids), text_of(vocab, val_ids)
        try:
            words = WordVocab.build(train_text, val_text, vocab.chars)
        except WordsError as exc:
            raise corpus.CorpusError(str(exc)) from None
    if words is not None:
        train_text, val_text = text_of(vocab, train_ids), text_of(vocab, val_ids)
        train_ids, val_ids = _token_ids(words, train_text), _token_ids(words, val_text)
        val_per_char = _per_char(words, val_text)
        origin = dict(origin, level="word", words=len(words), word_coverage=words.coverage)
    if model is None:
        model = CharRNN(ModelConfig(vocab_size=len(words if words is not None else vocab), **SIZES[size or "base"]))
    return Setup(model, vocab, rate, torch.from_numpy(train_ids), torch.from_numpy(val_ids), plan.held_paths(data),
                 unknown, corpus_summary(data, origin, seed), corpus_memory.remembered(data, vocab),
                 words, val_per_char)


def check_level(ck: checkpoint.Checkpoint, level: str | None, spec: str) -> None:
    """Refuse to go on training a model as the other level (its embedding and head are sized
    for its own tokens)."""
    if level is not None and ck.level != level:
        raise checkpoint.CheckpointError(
            f"{spec} is a {ck.level}-level model and cannot train as a {level}-level one: "
            f"use --level {ck.level} (or leave --level out), or train a new model")


def text_of(vocab: Vocab, ids: np.ndarray) -> str:
    """The text of character ids (the corpus as read: folded, secrets removed)."""
    return "".join(np.array(list(vocab.chars))[ids].tolist())


def _token_ids(words: WordVocab, text: str) -> np.ndarray:
    return np.array(words.encode(text), dtype=np.int16 if len(words) < 1 << 15 else np.int32)


def _per_char(words: WordVocab, val_text: str) -> Callable[[float, int], float]:
    """loss per token over the first n validation tokens -> nats per character of their text:
    (loss x n + what spelling their unknown words costs) / their characters. The loss is a mean
    over the tokens the validation read (each stream's first is context, not predicted), so the
    figure is the per-character loss to within that handful of tokens."""
    tokens = tokenize(val_text)
    chars = np.cumsum([0] + [len(t) for t in tokens])
    unknown = np.cumsum([0.0] + [0.0 if words.id_of(t) else words.spelling.nats(t) for t in tokens])

    def convert(loss: float, n: int) -> float:
        n = max(1, min(n, len(tokens)))
        return (loss * n + float(unknown[n])) / max(1, int(chars[n]))

    return convert


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

