import json
import mmap
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.numpy import load_file, save_file
from safetensors.torch import load as st_load
from safetensors.torch import save as st_save

from tests.conftest import rewrite_metadata
from tuiwriter.lm import checkpoint
from tuiwriter.lm.model import SIZES, CharRNN, ModelConfig
from tuiwriter.text.vocab import Vocab


def _model():
    vocab = Vocab.build(["hello world"])
    torch.manual_seed(0)
    return CharRNN(ModelConfig(vocab_size=len(vocab), **SIZES["tiny"])), vocab


def test_round_trip_keeps_weights_vocab_and_summary(tmp_path):
    model, vocab = _model()
    path = tmp_path / "m.safetensors"
    checkpoint.save(path, model, vocab, {"val_bpc": 1.5, "corpus_bytes": 11})
    ck = checkpoint.load(path)
    assert ck.vocab.chars == vocab.chars and ck.training["val_bpc"] == 1.5
    loaded = ck.build_model()
    ids = torch.tensor([[1, 2, 3]])
    assert torch.allclose(model(ids)[0], loaded(ids)[0])
    assert oct(path.stat().st_mode & 0o777) == "0o600"


def test_the_mid_text_state_round_trips_and_a_damaged_one_is_refused(tmp_path):
    """Where the engine starts reading inside a document is part of the model: saved with it,
    loaded back exactly; a checkpoint without it still loads (None); a mangled one is refused."""
    from tuiwriter.lm.model import mid_text_state

    model, vocab = _model()
    mid = mid_text_state(model, torch.tensor(vocab.encode("hello world " * 200)))
    path = tmp_path / "m.safetensors"
    checkpoint.save(path, model, vocab, {}, dtype=torch.float16, mid_state=mid)
    ck = checkpoint.load(path)
    assert all(torch.equal(a, b[:, 0]) for a, b in zip(ck.mid_state, mid))  # float32 even in a float16 file
    ck.build_model()  # not mistaken for a weight
    checkpoint.save(path, model, vocab, {})
    assert checkpoint.load(path).mid_state is None
    for bad in (torch.zeros(3, 7), torch.full_like(mid[0][:, 0], float("nan"))):
        tensors = st_load(path.read_bytes())
        tensors.update({checkpoint.MID_STATE[0]: bad, checkpoint.MID_STATE[1]: mid[1][:, 0]})
        header = json.loads(path.read_bytes()[8:8 + int.from_bytes(path.read_bytes()[:8], "little")])
        path.write_bytes(st_save(tensors, metadata=header["__metadata__"]))
        with pytest.raises(checkpoint.CheckpointError, match="mid-text state"):
            checkpoint.load(path)


def test_the_mixers_start_round_trips_and_a_damaged_one_is_refused(tmp_path):
    """Where a trained model's mixers start (`training.warmup`) is part of the model: written into
    its checkpoint with the rest kept as it was, loaded back exactly (a side key never used stays
    NaN); a checkpoint without one loads with None; an infinite weight is refused in one line."""
    model, vocab = _model()
    path = tmp_path / "m.safetensors"
    checkpoint.save(path, model, vocab, {"val_bpc": 1.5}, memory=_remembering("hello world " * 50, vocab))
    assert checkpoint.load(path).mixer_start is None
    side = torch.randn(5, 3)
    side[1:3] = float("nan")
    start = checkpoint.MixerStart(torch.randn(4, 3), side, torch.rand(2, 4))
    checkpoint.with_mixer_start(path, checkpoint.load(path), start, {"mixer_start": {"chars": 7}})
    ck = checkpoint.load(path)
    assert torch.equal(ck.mixer_start.weights, start.weights) and torch.equal(ck.mixer_start.final, start.final)
    assert torch.equal(ck.mixer_start.side.nan_to_num(-7.0), side.nan_to_num(-7.0))
    assert ck.training == {"val_bpc": 1.5, "mixer_start": {"chars": 7}}
    assert ck.memory is not None and bytes(ck.memory.text) == b"hello world " * 50
    ids = torch.tensor([[1, 2, 3]])
    assert torch.equal(model(ids)[0], ck.build_model()(ids)[0])  # the weights as they were
    tensors = st_load(path.read_bytes())
    tensors[checkpoint.MIXER_START[0]][0, 0] = float("inf")
    header = json.loads(path.read_bytes()[8:8 + int.from_bytes(path.read_bytes()[:8], "little")])
    path.write_bytes(st_save(tensors, metadata=header["__metadata__"]))
    with pytest.raises(checkpoint.CheckpointError, match="mixers' start"):
        checkpoint.load(path)


def _remembering(text: str, vocab: Vocab) -> checkpoint.Memory:
    from tuiwriter.predict.experts.corpus_memory import remembered_from

    return remembered_from([text], vocab)


def test_the_remembered_text_and_its_index_round_trip_beside_the_checkpoint(tmp_path):
    model, vocab = _model()
    path = tmp_path / "m.safetensors"
    memory = _remembering("héllo wörld — “notes”\n", vocab)
    checkpoint.save(path, model, vocab, {}, memory=memory)
    ck = checkpoint.load(path)
    assert bytes(ck.memory.text) == "héllo wörld - \"notes\"\n".encode()  # folded as the model reads
    assert ck.memory.suffixes.tolist() == memory.suffixes.tolist()
    assert ck.memory.heads.tolist() == memory.heads.tolist()
    assert isinstance(ck.memory.buffer, mmap.mmap)  # mapped, not read
    ck.build_model()  # the remembered text is not mistaken for a weight
    memory_file = path.parent / checkpoint.memory_file_name(path, memory.digest())
    assert oct(memory_file.stat().st_mode & 0o777) == "0o600"
    stored = load_file(str(memory_file))  # a plain safetensors file
    assert bytes(stored[checkpoint.MEMORY]) == bytes(ck.memory.text)
    checkpoint.save(path, model, vocab, {})
    assert checkpoint.load(path).memory is None
    assert not memory_file.exists()  # no checkpoint names it any more


def test_the_memory_file_is_written_once_per_run(tmp_path):
    model, vocab = _model()
    path = tmp_path / "m.safetensors"
    memory = _remembering("notes about nothing at all\n" * 10, vocab)
    checkpoint.save(path, model, vocab, {"val_bpc": 2.0}, memory=memory)
    memory_file = path.parent / checkpoint.memory_file_name(path, memory.digest())
    first = memory_file.stat().st_ino
    checkpoint.save(path, model, vocab, {"val_bpc": 1.9}, memory=memory)
    assert memory_file.stat().st_ino == first
    assert checkpoint.load(path).training["val_bpc"] == 1.9
    other = _remembering("other notes\n" * 10, vocab)
    checkpoint.save(path, model, vocab, {}, memory=other)
    assert not memory_file.exists() and checkpoint.load(path).memory.size == other.size


def _save_old_checkpoint(path, model, vocab, memory_tensor) -> None:
    """A checkpoint as tuiwriter wrote them before the index: the text inside, as MEMORY."""
    checkpoint.save(path, model, vocab, {})
    data = path.read_bytes()
    tensors = st_load(data)
    tensors[checkpoint.MEMORY] = memory_tensor
    path.write_bytes(st_save(tensors, metadata=checkpoint._header(data, path)))


def test_an_old_checkpoint_keeps_its_remembered_text(tmp_path):
    model, vocab = _model()
    path = tmp_path / "m.safetensors"
    text = "héllo wörld — “notes”\n"
    _save_old_checkpoint(path, model, vocab, torch.frombuffer(bytearray(text.encode()), dtype=torch.uint8))
    ck = checkpoint.load(path)
    assert bytes(ck.memory.text).decode() == vocab.fold_text(text) and ck.memory.suffixes is None
    ck.build_model()


@pytest.mark.parametrize("tensor", [torch.tensor([104, 105]), torch.zeros(2, 2, dtype=torch.uint8),
                                    torch.tensor([0xFF, 0xFE], dtype=torch.uint8)])
def test_a_damaged_remembered_text_gets_a_one_line_error(tmp_path, tensor):
    model, vocab = _model()
    path = tmp_path / "m.safetensors"
    _save_old_checkpoint(path, model, vocab, tensor)
    with pytest.raises(checkpoint.CheckpointError, match="remembered text"):
        checkpoint.load(path)


def _tamper(memory_file: Path, change) -> None:
    header = json.loads(memory_file.read_bytes()[8:8 + int.from_bytes(memory_file.read_bytes()[:8], "little")])
    tensors = load_file(str(memory_file))
    change(tensors)
    save_file(tensors, str(memory_file), metadata=header["__metadata__"])


@pytest.mark.parametrize("change", [
    lambda t: t.update({checkpoint.SUFFIXES: t[checkpoint.SUFFIXES].astype(np.float32)}),  # wrong dtype
    lambda t: t.update({checkpoint.SUFFIXES: t[checkpoint.SUFFIXES][:-1]}),  # wrong length
    lambda t: t.update({checkpoint.MEMORY: t[checkpoint.MEMORY][:-1]}),
    lambda t: t.update({checkpoint.MEMORY: t[checkpoint.MEMORY].astype(np.int16)}),
    lambda t: t.update({checkpoint.SUFFIXES: t[checkpoint.SUFFIXES].reshape(1, -1)}),
    lambda t: t.pop(checkpoint.SUFFIXES),
    lambda t: t.update({checkpoint.HEADS: t[checkpoint.HEADS].astype(np.int32)}),
    lambda t: t.update({checkpoint.HEADS: t[checkpoint.HEADS][:-1]}),
    lambda t: t.pop(checkpoint.HEADS),
])
def test_a_damaged_memory_file_gets_a_one_line_error(tmp_path, change):
    model, vocab = _model()
    path = tmp_path / "m.safetensors"
    memory = _remembering("hello world, hello notes\n" * 5, vocab)
    checkpoint.save(path, model, vocab, {}, memory=memory)
    _tamper(path.parent / checkpoint.memory_file_name(path, memory.digest()), change)
    with pytest.raises(checkpoint.CheckpointError, match="remembered text") as err:
        checkpoint.load(path)
    assert "\n" not in str(err.value)


def test_a_missing_or_foreign_memory_file_gets_a_one_line_error(tmp_path):
    model, vocab = _model()
    path = tmp_path / "m.safetensors"
    memory = _remembering("hello world, hello notes\n" * 5, vocab)
    checkpoint.save(path, model, vocab, {}, memory=memory)
    memory_file = path.parent / checkpoint.memory_file_name(path, memory.digest())
    foreign = tmp_path / "other.safetensors"
    checkpoint.save(foreign, model, vocab, {}, memory=_remembering("something else entirely\n" * 5, vocab))
    foreign_file = next(tmp_path.glob("other.memory-*"))
    memory_file.write_bytes(foreign_file.read_bytes())  # another model's memory under this name
    with pytest.raises(checkpoint.CheckpointError, match="is not this model's"):
        checkpoint.load(path)
    memory_file.unlink()
    with pytest.raises(checkpoint.CheckpointError, match="missing"):
        checkpoint.load(path)
    memory_file.write_bytes(b"\x05")
    with pytest.raises(checkpoint.CheckpointError) as err:
        checkpoint.load(path)
    assert "\n" not in str(err.value)


def test_truncated_checkpoint_gets_a_one_line_error(tmp_path):
    model, vocab = _model()
    path = tmp_path / "m.safetensors"
    checkpoint.save(path, model, vocab, {})
    data = path.read_bytes()
    for cut in (4, 100, len(data) // 2, len(data) - 1):
        path.write_bytes(data[:cut])
        with pytest.raises(checkpoint.CheckpointError) as err:
            checkpoint.load(path)
        assert "\n" not in str(err.value)


class _Evil:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


def test_a_pickle_is_refused_without_running_its_code(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.safetensors"
    path.write_bytes(pickle.dumps({"weights": _Evil(marker)}))
    with pytest.raises(checkpoint.CheckpointError, match="not a tuiwriter checkpoint"):
        checkpoint.load(path)
    assert not marker.exists()
    # the same payload inside torch's zip format is refused too
    torch.save({"weights": _Evil(marker)}, path)
    with pytest.raises(checkpoint.CheckpointError):
        checkpoint.load(path)
    assert not marker.exists()


def test_foreign_safetensors_and_future_versions_are_refused(tmp_path):
    from safetensors.torch import save_file

    path = tmp_path / "other.safetensors"
    save_file({"w": torch.zeros(2)}, str(path))
    with pytest.raises(checkpoint.CheckpointError, match="not a tuiwriter checkpoint"):
        checkpoint.load(path)
    save_file({"w": torch.zeros(2)}, str(path), metadata={"format": checkpoint.FORMAT, "format_version": "99"})
    with pytest.raises(checkpoint.CheckpointError, match="version 99"):
        checkpoint.load(path)


def test_resume_state_round_trips_the_optimizer(tmp_path):
    model, _ = _model()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    model(torch.tensor([[1, 2]]))[0].sum().backward()
    opt.step()
    checkpoint.save_resume(tmp_path / "r.safetensors", opt, {"step": 7})
    fresh = torch.optim.AdamW(model.parameters(), lr=1e-3)
    assert checkpoint.load_resume(tmp_path / "r.safetensors", fresh) == {"step": 7}
    a, b = opt.state_dict()["state"][0], fresh.state_dict()["state"][0]
    assert torch.equal(a["exp_avg"], b["exp_avg"])


@pytest.mark.parametrize("field, value", [("config", {"cell": "transformer"}), ("config", {"hidden": "512"}),
                                          ("config", {"layers": 0}), ("training", [])])
def test_a_foreign_architecture_or_summary_gets_a_one_line_error(tmp_path, field, value):
    model, vocab = _model()
    path = tmp_path / "m.safetensors"
    checkpoint.save(path, model, vocab, {})
    rewrite_metadata(path, field, (lambda old: {**old, **value}) if isinstance(value, dict) else value)
    with pytest.raises(checkpoint.CheckpointError) as err:
        checkpoint.load(path)
    assert "\n" not in str(err.value)
