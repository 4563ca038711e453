import pickle

import pytest
import torch

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


def test_the_remembered_text_round_trips_and_old_checkpoints_remember_nothing(tmp_path):
    model, vocab = _model()
    path = tmp_path / "m.safetensors"
    checkpoint.save(path, model, vocab, {}, memory="héllo wörld — “notes”\n")
    ck = checkpoint.load(path)
    assert ck.memory == "héllo wörld — “notes”\n"
    ck.build_model()  # the remembered text is not mistaken for a weight
    checkpoint.save(path, model, vocab, {})
    assert checkpoint.load(path).memory == ""


@pytest.mark.parametrize("tensor", [torch.tensor([104, 105]), torch.zeros(2, 2, dtype=torch.uint8),
                                    torch.tensor([0xFF, 0xFE], dtype=torch.uint8)])
def test_a_damaged_remembered_text_gets_a_one_line_error(tmp_path, tensor):
    from safetensors.torch import load as st_load
    from safetensors.torch import save as st_save

    model, vocab = _model()
    path = tmp_path / "m.safetensors"
    checkpoint.save(path, model, vocab, {}, memory="hi")
    data = path.read_bytes()
    header = checkpoint._header(data, path)
    tensors = st_load(data)
    tensors[checkpoint.MEMORY] = tensor
    path.write_bytes(st_save(tensors, metadata=header))
    with pytest.raises(checkpoint.CheckpointError, match="remembered text"):
        checkpoint.load(path)


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
