"""Shared fixtures: private XDG folders for every test, and one tiny trained model per session."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import torch

from tuiwriter.lm import checkpoint
from tuiwriter.lm.model import SIZES, CharRNN, ModelConfig
from tuiwriter.text.vocab import Vocab
from tuiwriter.training import devices
from tuiwriter.training.loop import TrainConfig, train

torch.set_num_threads(1)

SENTENCES = [
    "The quick brown fox jumps over the lazy dog.",
    "The cat sat on the mat and looked at the door.",
    "A writer writes every day, and the words come slowly.",
    "The dog ran to the door when the bell rang.",
    "She opened the window and the cold air came in.",
]


def ids(vocab: Vocab, text: str) -> torch.Tensor:
    """`text` as the training loop reads it: vocabulary ids in a uint8 tensor."""
    return torch.from_numpy(vocab.encode_array(text))


def tiny_text(repeats: int = 40) -> str:
    """A few KB of repetitive English: enough for a tiny model to learn common words."""
    lines = []
    for i in range(repeats):
        lines.append(" ".join(SENTENCES[(i + k) % len(SENTENCES)] for k in range(3)))
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="session", autouse=True)
def float32_training_on_any_cpu():
    """Training in these tests computes in float32 whatever CPU runs them: `auto` picks bfloat16
    on a CPU with bfloat16 instructions (`training.devices`), which would make the figures the
    tests record depend on the machine. Tests of the bfloat16 path ask for it by name. (A
    process a test starts, a CLI under torchrun, still picks for itself.)"""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(devices, "cpu_info", lambda: "")  # as on a machine that says nothing of its CPU
        yield


@pytest.fixture(autouse=True)
def isolated_dirs(tmp_path, monkeypatch):
    """Every test gets its own data, config and state folders."""
    for var in ("XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME"):
        folder = tmp_path / var.lower()
        folder.mkdir()
        monkeypatch.setenv(var, str(folder))
    return tmp_path


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory) -> Path:
    """A tiny LSTM trained for a fixed number of steps: deterministic, a few seconds on 1 core."""
    folder = tmp_path_factory.mktemp("tiny-model")
    text = tiny_text()
    vocab = Vocab.build([text])
    torch.manual_seed(1)
    model = CharRNN(ModelConfig(vocab_size=len(vocab), **SIZES["tiny"]))
    path = folder / "model.safetensors"
    cut = int(len(text) * 0.9)
    cfg = TrainConfig(minutes=5, max_steps=200, batch=16, seq_len=64, lr=1e-2, seed=1, threads=1,
                      eval_every_s=1e9)
    train(model, vocab, ids(vocab, text[:cut]), ids(vocab, text[cut:]), path, cfg, {"corpus_label": "tiny test text"})
    checkpoint.load(path)  # fail here, not in every test, if it did not save
    return path


def rewrite_metadata(path: Path, key: str, value: Any) -> None:
    """Replace one JSON metadata entry of a safetensors file (a foreign or tampered header)."""
    from safetensors import safe_open
    from safetensors.torch import load_file, save_file

    with safe_open(str(path), "pt") as f:
        meta = f.metadata()
    meta[key] = json.dumps(value(json.loads(meta[key])) if callable(value) else value)
    save_file(load_file(str(path)), str(path), metadata=meta)


@pytest.fixture(scope="session")
def tiny_word_checkpoint(tmp_path_factory) -> Path:
    """A tiny word-level LSTM trained for a fixed number of steps on the same text."""
    from tuiwriter.text.words import WordVocab

    folder = tmp_path_factory.mktemp("tiny-word-model")
    text = tiny_text()
    vocab = Vocab.build([text])
    cut = int(len(text) * 0.9)
    words = WordVocab.build(text[:cut], text[cut:], vocab.chars)
    torch.manual_seed(1)
    model = CharRNN(ModelConfig(vocab_size=len(words), **SIZES["tiny"]))
    path = folder / "model.safetensors"
    cfg = TrainConfig(minutes=5, max_steps=150, batch=8, seq_len=32, lr=1e-2, seed=1, threads=1, eval_every_s=1e9)
    as_ids = lambda part: torch.tensor(words.encode(part), dtype=torch.int16)  # noqa: E731
    train(model, vocab, as_ids(text[:cut]), as_ids(text[cut:]), path, cfg, {"corpus_label": "tiny test text"},
          words=words, val_per_char=lambda loss, n: loss / 4)
    assert checkpoint.load(path).level == "word"
    return path
