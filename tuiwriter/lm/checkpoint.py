"""The checkpoint format: the one place that reads and writes model files.

A checkpoint is a safetensors file: plain tensors plus a JSON metadata header (format version,
vocabulary, architecture, training summary). A trained model also keeps the text it was trained
on (`corpus_memory`), as UTF-8 bytes in the tensor MEMORY. Loading parses a header and raw
numbers; it can never run code, unlike a pickle. Writes go through `paths.atomic_write`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load as st_load
from safetensors.torch import save as st_save

from tuiwriter.lm.model import CharRNN, ModelConfig
from tuiwriter.paths import atomic_write
from tuiwriter.text.vocab import Vocab

FORMAT = "tuiwriter-checkpoint"
VERSION = 1
RESUME_FORMAT = "tuiwriter-resume"
MEMORY = "memory.text"


class CheckpointError(Exception):
    """A checkpoint that cannot be used; the message is one line."""


@dataclass
class Checkpoint:
    config: ModelConfig
    vocab: Vocab
    weights: dict[str, torch.Tensor]
    training: dict = field(default_factory=dict)
    memory: str = ""  # the training text the model remembers (corpus_memory); may be empty

    def build_model(self) -> CharRNN:
        model = CharRNN(self.config)
        try:
            model.load_state_dict({k: v.float() for k, v in self.weights.items()}, strict=True)
        except RuntimeError as exc:
            first = str(exc).strip().splitlines()[0]
            raise CheckpointError(f"weights do not match the architecture: {first}") from None
        model.eval()
        return model


def _encode(model: CharRNN, vocab: Vocab, training: dict, dtype: torch.dtype, memory: str) -> bytes:
    weights = {k: v.detach().to("cpu", dtype).contiguous() for k, v in model.state_dict().items()}
    if memory:
        weights[MEMORY] = torch.frombuffer(bytearray(memory.encode("utf-8")), dtype=torch.uint8)
    meta = {
        "format": FORMAT,
        "format_version": str(VERSION),
        "vocab": json.dumps(vocab.chars),
        "fold": json.dumps(vocab.fold),
        "config": json.dumps(model.config.to_dict()),
        "training": json.dumps(training),
    }
    return st_save(weights, metadata=meta)


def save(path: Path, model: CharRNN, vocab: Vocab, training: dict,
         dtype: torch.dtype = torch.float32, memory: str = "") -> None:
    """Write a checkpoint atomically (float16 halves the size of a shipped model)."""
    atomic_write(Path(path), _encode(model, vocab, training, dtype, memory))


def _header(data: bytes, path: Path) -> dict[str, str]:
    if len(data) < 8:
        raise CheckpointError(f"not a tuiwriter checkpoint (too short): {path}")
    n = int.from_bytes(data[:8], "little")
    if n <= 0 or n > 100_000_000 or 8 + n > len(data):
        raise CheckpointError(f"not a tuiwriter checkpoint (truncated or foreign): {path}")
    try:
        header = json.loads(data[8 : 8 + n])
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise CheckpointError(f"not a tuiwriter checkpoint (unreadable header): {path}") from None
    meta = header.get("__metadata__") if isinstance(header, dict) else None
    return meta if isinstance(meta, dict) else {}


def load(path: Path | str) -> Checkpoint:
    """Read and validate a checkpoint; every failure is a one-line CheckpointError."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise CheckpointError(f"no such checkpoint: {path}") from None
    except IsADirectoryError:
        raise CheckpointError(f"a folder, not a checkpoint: {path}") from None
    except OSError as exc:
        raise CheckpointError(f"cannot read checkpoint {path}: {exc.strerror}") from None
    meta = _header(data, path)
    if meta.get("format") != FORMAT:
        raise CheckpointError(f"not a tuiwriter checkpoint: {path}")
    if meta.get("format_version") != str(VERSION):
        raise CheckpointError(
            f"checkpoint format version {meta.get('format_version')} is not supported "
            f"(this tuiwriter reads version {VERSION}): {path}"
        )
    try:
        weights = st_load(data)
    except (SafetensorError, ValueError, RuntimeError) as exc:
        raise CheckpointError(f"damaged checkpoint ({str(exc).splitlines()[0]}): {path}") from None
    raw_memory = weights.pop(MEMORY, None)
    if raw_memory is not None and (raw_memory.dtype != torch.uint8 or raw_memory.dim() != 1):
        raise CheckpointError(f"damaged checkpoint (remembered text is not bytes): {path}")
    try:
        memory = bytes(raw_memory.numpy()).decode("utf-8") if raw_memory is not None else ""
    except UnicodeDecodeError:
        raise CheckpointError(f"damaged checkpoint (remembered text is not UTF-8): {path}") from None
    try:
        vocab = Vocab(json.loads(meta["vocab"]), json.loads(meta["fold"]))
        config = ModelConfig.from_dict(json.loads(meta["config"]))
        training = json.loads(meta.get("training", "{}"))
    except (KeyError, TypeError, ValueError) as exc:
        raise CheckpointError(f"damaged checkpoint metadata ({exc}): {path}") from None
    sizes = (config.vocab_size, config.embed, config.hidden, config.layers)
    if (not all(isinstance(n, int) and n > 0 for n in sizes) or config.cell not in ("lstm", "gru")
            or not isinstance(training, dict)):
        raise CheckpointError(f"damaged checkpoint metadata (architecture or summary): {path}")
    if config.vocab_size != len(vocab):
        raise CheckpointError(f"damaged checkpoint (vocabulary and model disagree): {path}")
    return Checkpoint(config, vocab, weights, training, memory)


def save_resume(path: Path, optimizer: torch.optim.Optimizer, info: dict) -> None:
    """Optimizer moments and loop counters, so an interrupted run can continue where it was."""
    sd = optimizer.state_dict()
    tensors: dict[str, torch.Tensor] = {}
    for pid, st in sd["state"].items():
        for key, value in st.items():
            t = value if torch.is_tensor(value) else torch.tensor(value)
            tensors[f"{pid}.{key}"] = t.detach().cpu().contiguous()
    meta = {"format": RESUME_FORMAT, "format_version": str(VERSION),
            "param_groups": json.dumps(sd["param_groups"]), "info": json.dumps(info)}
    atomic_write(Path(path), st_save(tensors, metadata=meta))


def load_resume(path: Path, optimizer: torch.optim.Optimizer) -> dict:
    """Restore optimizer state saved by `save_resume`; returns the loop counters."""
    data = Path(path).read_bytes()
    meta = _header(data, path)
    if meta.get("format") != RESUME_FORMAT:
        raise CheckpointError(f"not a tuiwriter resume file: {path}")
    try:
        tensors = st_load(data)
    except (SafetensorError, ValueError, RuntimeError) as exc:
        raise CheckpointError(f"damaged resume file ({str(exc).splitlines()[0]}): {path}") from None
    state: dict[int, dict] = {}
    for name, t in tensors.items():
        pid, key = name.split(".", 1)
        state.setdefault(int(pid), {})[key] = t
    optimizer.load_state_dict({"state": state, "param_groups": json.loads(meta["param_groups"])})
    return json.loads(meta["info"])
