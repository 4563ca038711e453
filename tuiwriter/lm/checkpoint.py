"""The checkpoint format: the one place that reads and writes model files.

A checkpoint is a safetensors file: plain tensors plus a JSON metadata header (format version,
vocabulary, architecture, training summary). Loading parses a header and raw numbers; it can
never run code, unlike a pickle. Writes go through `paths.atomic_write`.

A trained model also remembers the text it was trained on (`Memory`, see `corpus_memory`): the
text as UTF-8, its suffix array and where each 2-byte head starts in it, built once by the trainer
(about 5 bytes per byte of text), in a second safetensors file beside
the checkpoint (`model.memory-<digest>.safetensors`, named in the checkpoint's header). It is a
file of its own because the trainer rewrites the checkpoint at every validation improvement and
the memory can be hundreds of MB that never change during a run: it is written once, before the
first checkpoint that names it, and files no checkpoint names any more are removed after. Loading
memory-maps it: nothing is read until a query touches it. Checkpoints saved before the index
existed keep their text in the tensor MEMORY (read, and indexed when the model loads).
"""

from __future__ import annotations

import hashlib
import json
import mmap
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load as st_load
from safetensors.torch import save as st_save

from tuiwriter.lm.model import CharRNN, ModelConfig
from tuiwriter.paths import atomic_write
from tuiwriter.text.vocab import Vocab
from tuiwriter.text.words import WordVocab

FORMAT = "tuiwriter-checkpoint"
VERSION = 1
RESUME_FORMAT = "tuiwriter-resume"
MID_STATE = ("start.mid.h", "start.mid.c")  # the model's mean mid-text state (model.mid_text_state)
MIXER_START = ("start.mixer.weights", "start.mixer.side", "start.mixer.final")  # `MixerStart`'s tensors
MEMORY = "memory.text"  # the remembered text, inside a checkpoint saved before the index existed
MEMORY_FORMAT = "tuiwriter-memory"
SUFFIXES = "memory.suffixes"
HEADS = "memory.heads"  # where each 2-byte head's suffixes start: 65,536 + 1 offsets
HEAD_COUNT = 1 << 16
LEVELS = ("char", "word")  # what a model predicts; a checkpoint without a level is a char model
_SUFFIX_DTYPES = {"I32": np.dtype("<i4"), "I64": np.dtype("<i8")}


class CheckpointError(Exception):
    """A checkpoint that cannot be used; the message is one line."""


@dataclass
class Memory:
    """The text a model remembers (`corpus_memory`): UTF-8 of the training text folded as the
    model's vocabulary folds, at `buffer[offset:offset + size]` (a memory map of the memory file,
    or bytes), the start offsets of its suffixes in sorted order and where the suffixes of each
    2-byte head start among them (both None for a checkpoint saved before the index existed:
    built when it loads). Slicing `buffer` gives bytes, which is what the search compares."""

    buffer: bytes | bytearray | mmap.mmap
    offset: int
    size: int
    suffixes: np.ndarray | None
    heads: np.ndarray | None = None
    _digest: str = ""

    @classmethod
    def of(cls, text: bytes) -> "Memory":
        return cls(text, 0, len(text), None)

    @property
    def text(self) -> np.ndarray:
        """The remembered text's bytes, without a copy."""
        return np.frombuffer(self.buffer, dtype=np.uint8, count=self.size, offset=self.offset)

    def digest(self) -> str:
        """Names the memory file: the same text (hence the same index) is one file."""
        if not self._digest:
            self._digest = hashlib.blake2b(self.text, digest_size=8).hexdigest()
        return self._digest


@dataclass
class MixerStart:
    """Where this model's mixers start in a new document (`training.warmup`): the shared mixer's
    weights, the side mixers' table (NaN rows: keys never used) and the final layer's, as the
    mixer's `Adaptation` holds them. The engine checks the shapes (`mixer_init`); a checkpoint
    without one starts from the fit every model shares."""

    weights: torch.Tensor
    side: torch.Tensor
    final: torch.Tensor


@dataclass
class Checkpoint:
    config: ModelConfig
    vocab: Vocab
    weights: dict[str, torch.Tensor]
    training: dict = field(default_factory=dict)
    memory: Memory | None = None  # the training text the model remembers (corpus_memory)
    mid_state: tuple[torch.Tensor, ...] | None = None  # [layers, hidden] each; None: saved before it existed
    words: WordVocab | None = None  # a word-level model's tokens (its embedding and head run over them)
    mixer_start: MixerStart | None = None  # learnt on the model's own text after training (None: the shared fit)

    @property
    def level(self) -> str:
        """"char" or "word": what the model's embedding and head run over. `vocab` is the
        character vocabulary either way (what the editor, its experts and eval work in)."""
        return "word" if self.words is not None else "char"

    def build_model(self) -> CharRNN:
        model = CharRNN(self.config)
        try:
            model.load_state_dict({k: v.float() for k, v in self.weights.items()}, strict=True)
        except RuntimeError as exc:
            first = str(exc).strip().splitlines()[0]
            raise CheckpointError(f"weights do not match the architecture: {first}") from None
        model.eval()
        return model


def _encode(model: CharRNN, vocab: Vocab, training: dict, dtype: torch.dtype, memory_file: dict | None,
            mid_state: tuple[torch.Tensor, ...] | None, words: WordVocab | None,
            mixer_start: MixerStart | None = None) -> bytes:
    weights = {k: v.detach().to("cpu", dtype).contiguous() for k, v in model.state_dict().items()}
    for name, tensor in zip(MID_STATE, mid_state or ()):  # float32 always: a cell state can be large
        weights[name] = tensor.detach().reshape(model.config.layers, model.config.hidden).to("cpu", torch.float32)
    if mixer_start is not None:
        for name, tensor in zip(MIXER_START, (mixer_start.weights, mixer_start.side, mixer_start.final)):
            weights[name] = tensor.detach().to("cpu", torch.float32).contiguous()
    meta = {
        "format": FORMAT,
        "format_version": str(VERSION),
        "vocab": json.dumps(vocab.chars),
        "fold": json.dumps(vocab.fold),
        "config": json.dumps(model.config.to_dict()),
        "training": json.dumps(training),
    }
    if memory_file is not None:
        meta["memory"] = json.dumps(memory_file)
    if words is not None:
        meta["level"] = "word"
        meta["words"] = words.to_json()
    return st_save(weights, metadata=meta)


def save(path: Path, model: CharRNN, vocab: Vocab, training: dict,
         dtype: torch.dtype = torch.float32, memory: Memory | None = None,
         mid_state: tuple[torch.Tensor, ...] | None = None, words: WordVocab | None = None,
         mixer_start: MixerStart | None = None) -> None:
    """Write a checkpoint atomically (float16 halves the size of a shipped model), and its
    memory file when this memory has none yet beside it. `words`: a word-level model's tokens
    (saved with the level in the metadata)."""
    path = Path(path)
    memory_file = None
    if memory is not None:
        if memory.suffixes is None or memory.heads is None:
            raise ValueError("a memory is saved with its index (corpus_memory builds it)")
        name = memory_file_name(path, memory.digest())
        if not (path.parent / name).exists():
            _save_memory(path.parent / name, memory)
        memory_file = {"file": name, "digest": memory.digest(), "bytes": memory.size}
    atomic_write(path, _encode(model, vocab, training, dtype, memory_file, mid_state, words, mixer_start))
    prefix = f"{path.stem}.memory-"
    for old in path.parent.iterdir():
        if old.name.startswith(prefix) and old.name.endswith(".safetensors") and (
                memory_file is None or old.name != memory_file["file"]):
            try:
                old.unlink()  # no checkpoint names it any more
            except OSError:  # gone already, or mapped by a running editor where that forbids it
                pass


def memory_file_name(path: Path, digest: str) -> str:
    return f"{Path(path).stem}.memory-{digest}.safetensors"


def _save_memory(path: Path, memory: Memory) -> None:
    """A safetensors file written piece by piece, so that hundreds of MB are not copied once
    more into one buffer: the heads and suffixes first (8-byte aligned for a memory map), then
    the text."""
    heads = np.ascontiguousarray(memory.heads, dtype="<i8")
    suffixes = np.ascontiguousarray(memory.suffixes, dtype=memory.suffixes.dtype.newbyteorder("<"))
    kind = {4: "I32", 8: "I64"}[suffixes.itemsize]
    at = [0, heads.nbytes, heads.nbytes + suffixes.nbytes, heads.nbytes + suffixes.nbytes + memory.size]
    header = {
        "__metadata__": {"format": MEMORY_FORMAT, "format_version": str(VERSION), "digest": memory.digest()},
        HEADS: {"dtype": "I64", "shape": [len(heads)], "data_offsets": at[0:2]},
        SUFFIXES: {"dtype": kind, "shape": [len(suffixes)], "data_offsets": at[1:3]},
        MEMORY: {"dtype": "U8", "shape": [memory.size], "data_offsets": at[2:4]},
    }
    raw = json.dumps(header, separators=(",", ":")).encode("utf-8")
    raw += b" " * (-len(raw) % 8)
    atomic_write(path, [len(raw).to_bytes(8, "little"), raw, memoryview(heads).cast("B"),
                        memoryview(suffixes).cast("B"), memory.text.data])


def _full_header(data: bytes, path: Path, size: int | None = None) -> dict:
    """The JSON header of a safetensors file whose first bytes are `data` (`size` bytes in all)."""
    if len(data) < 8:
        raise CheckpointError(f"not a tuiwriter checkpoint (too short): {path}")
    n = int.from_bytes(data[:8], "little")
    if n <= 0 or n > 100_000_000 or 8 + n > (len(data) if size is None else size):
        raise CheckpointError(f"not a tuiwriter checkpoint (truncated or foreign): {path}")
    try:
        header = json.loads(data[8 : 8 + n])
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise CheckpointError(f"not a tuiwriter checkpoint (unreadable header): {path}") from None
    return header if isinstance(header, dict) else {}


def _header(data: bytes, path: Path) -> dict[str, str]:
    meta = _full_header(data, path).get("__metadata__")
    return meta if isinstance(meta, dict) else {}


def _read_header(path: Path, what: str) -> tuple[dict, int, int]:
    """The header of the safetensors file at `path`, where its data starts and the file's size,
    reading no more."""
    try:
        with open(path, "rb") as fh:
            size = fh.seek(0, 2)
            fh.seek(0)
            head = fh.read(8)
            if len(head) == 8 and 0 < int.from_bytes(head, "little") <= min(100_000_000, size - 8):
                head += fh.read(int.from_bytes(head, "little"))
    except FileNotFoundError:
        raise CheckpointError(f"no such {what}: {path}") from None
    except IsADirectoryError:
        raise CheckpointError(f"a folder, not a {what}: {path}") from None
    except OSError as exc:
        raise CheckpointError(f"cannot read {what} {path}: {exc.strerror}") from None
    return _full_header(head, path, size), len(head), size


def load(path: Path | str) -> Checkpoint:
    """Read and validate a checkpoint; every failure is a one-line CheckpointError. Reads the
    header, then the weights; a memory file is mapped, not read."""
    path = Path(path)
    header, _, _ = _read_header(path, "checkpoint")
    meta = header.get("__metadata__")
    meta = meta if isinstance(meta, dict) else {}
    if meta.get("format") != FORMAT:
        raise CheckpointError(f"not a tuiwriter checkpoint: {path}")
    if meta.get("format_version") != str(VERSION):
        raise CheckpointError(
            f"checkpoint format version {meta.get('format_version')} is not supported "
            f"(this tuiwriter reads version {VERSION}): {path}"
        )
    try:
        with safe_open(path, framework="pt") as fh:
            weights = {name: fh.get_tensor(name) for name in fh.keys()}
    except (SafetensorError, OSError, ValueError, RuntimeError) as exc:
        first = (str(exc).splitlines() or [type(exc).__name__])[0]
        raise CheckpointError(f"damaged checkpoint ({first}): {path}") from None
    mid = tuple(weights.pop(name) for name in MID_STATE if name in weights)
    mixer_start = tuple(weights.pop(name) for name in MIXER_START if name in weights)
    raw_memory = weights.pop(MEMORY, None)
    if raw_memory is not None and (raw_memory.dtype != torch.uint8 or raw_memory.dim() != 1):
        raise CheckpointError(f"damaged checkpoint (remembered text is not bytes): {path}")
    try:
        old_memory = bytes(raw_memory.numpy()).decode("utf-8") if raw_memory is not None else ""
    except UnicodeDecodeError:
        raise CheckpointError(f"damaged checkpoint (remembered text is not UTF-8): {path}") from None
    try:
        vocab = Vocab(json.loads(meta["vocab"]), json.loads(meta["fold"]))
        config = ModelConfig.from_dict(json.loads(meta["config"]))
        training = json.loads(meta.get("training", "{}"))
        level = meta.get("level", "char")
        words = WordVocab.from_json(meta["words"]) if level == "word" else None
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise CheckpointError(f"damaged checkpoint metadata ({exc}): {path}") from None
    sizes = (config.vocab_size, config.embed, config.hidden, config.layers)
    if (not all(isinstance(n, int) and n > 0 for n in sizes) or config.cell not in ("lstm", "gru")
            or not isinstance(training, dict)):
        raise CheckpointError(f"damaged checkpoint metadata (architecture or summary): {path}")
    if level not in LEVELS:
        raise CheckpointError(f"unknown model level {level!r} (this tuiwriter reads {' and '.join(LEVELS)}): {path}")
    if config.vocab_size != len(words if words is not None else vocab):
        raise CheckpointError(f"damaged checkpoint (vocabulary and model disagree): {path}")
    states = 2 if config.cell == "lstm" else 1
    if mid and (len(mid) != states or any(t.shape != (config.layers, config.hidden) or not t.is_floating_point()
                                          or not bool(torch.isfinite(t).all()) for t in mid)):
        raise CheckpointError(f"damaged checkpoint (mid-text state): {path}")
    if mixer_start and (len(mixer_start) != len(MIXER_START) or any(
            t.dim() != 2 or not t.is_floating_point() or bool(torch.isinf(t).any()) for t in mixer_start)
            or bool(mixer_start[0].isnan().any()) or bool(mixer_start[2].isnan().any())):
        raise CheckpointError(f"damaged checkpoint (the mixers' start): {path}")
    if "memory" in meta:
        memory = _load_memory(path, meta["memory"])
    elif old_memory:  # saved before the index existed: fold as the model reads, indexed at load
        memory = Memory.of(vocab.fold_text(old_memory).encode("utf-8", "surrogatepass"))
    else:
        memory = None
    start = MixerStart(*(t.float() for t in mixer_start)) if mixer_start else None
    return Checkpoint(config, vocab, weights, training, memory, tuple(t.float() for t in mid) or None, words, start)


def with_mixer_start(path: Path | str, ck: Checkpoint, start: MixerStart, summary: dict) -> None:
    """Rewrite the checkpoint at `path`, loaded as `ck`, with the mixers' `start` and `summary`
    merged into its training summary, atomically (weights, memory and the rest as they were)."""
    path = Path(path)
    training = dict(ck.training, **summary)
    dtype = next(iter(ck.weights.values())).dtype  # as it was saved
    data = _encode(ck.build_model(), ck.vocab, training, dtype, _memory_field(path), ck.mid_state, ck.words, start)
    atomic_write(path, data)


def _memory_field(path: Path) -> dict | None:
    """The memory file entry of the checkpoint at `path`'s header, as it is."""
    meta = _read_header(Path(path), "checkpoint")[0].get("__metadata__") or {}
    return json.loads(meta["memory"]) if "memory" in meta else None


def _load_memory(path: Path, field: str) -> Memory:
    """Map the memory file that the checkpoint at `path` names, checking that its header is the
    one the checkpoint expects (the suffixes themselves are checked by every query, not here:
    that would read them all)."""
    def damaged(why: str) -> CheckpointError:
        return CheckpointError(f"damaged checkpoint (remembered text: {why}): {path}")

    try:
        ref = json.loads(field)
        name, digest, size = str(ref["file"]), str(ref["digest"]), int(ref["bytes"])
    except (ValueError, TypeError, KeyError):
        raise damaged("unreadable reference") from None
    if Path(name).name != name or not name.endswith(".safetensors") or size <= 0:
        raise damaged("bad file name or size")
    file = path.parent / name
    if not file.exists():
        raise CheckpointError(f"the remembered text of this model is missing ({name} belongs beside it): {path}")
    header, start, file_size = _read_header(file, "memory file")
    meta = header.get("__metadata__")
    if not isinstance(meta, dict) or meta.get("format") != MEMORY_FORMAT or meta.get("digest") != digest:
        raise damaged(f"{name} is not this model's")
    text, suffixes, heads = header.get(MEMORY), header.get(SUFFIXES), header.get(HEADS)
    if not all(isinstance(t, dict) for t in (text, suffixes, heads)):
        raise damaged("text or index missing")
    dtype = _SUFFIX_DTYPES.get(suffixes.get("dtype"))
    if text.get("dtype") != "U8" or dtype is None or heads.get("dtype") != "I64":
        raise damaged("text is not bytes or index is not integers")
    if text.get("shape") != [size] or suffixes.get("shape") != [size] or heads.get("shape") != [HEAD_COUNT + 1]:
        raise damaged("text and index lengths disagree")
    spans = [text.get("data_offsets"), suffixes.get("data_offsets"), heads.get("data_offsets")]
    if not all(isinstance(s, list) and len(s) == 2 and all(isinstance(v, int) for v in s) for s in spans):
        raise damaged("bad offsets")
    (t0, t1), (s0, s1), (h0, h1) = spans
    if (t1 - t0 != size or s1 - s0 != size * dtype.itemsize or h1 - h0 != (HEAD_COUNT + 1) * 8
            or min(t0, s0, h0) < 0 or start + max(t1, s1, h1) > file_size):
        raise damaged("text or index truncated")
    try:
        with open(file, "rb") as fh:
            mapped = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
        if hasattr(mapped, "madvise") and hasattr(mmap, "MADV_RANDOM"):
            # Queries touch a few scattered pages; read-ahead would read megabytes around each.
            mapped.madvise(mmap.MADV_RANDOM)
    except (OSError, ValueError) as exc:
        raise CheckpointError(f"cannot map the remembered text {file}: {exc}") from None
    index = np.frombuffer(mapped, dtype=dtype, count=size, offset=start + s0)
    starts = np.frombuffer(mapped, dtype="<i8", count=HEAD_COUNT + 1, offset=start + h0)
    return Memory(mapped, start + t0, size, index, starts, digest)


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
