import pytest
import torch

from tests.conftest import ids, tiny_text
from tuiwriter.lm import checkpoint
from tuiwriter.lm.model import SIZES, CharRNN, ModelConfig
from tuiwriter.text.vocab import Vocab
from tuiwriter.training.loop import TrainConfig, _layout, evaluate_loss, train, update_size


def _setup():
    text = tiny_text(20)
    vocab = Vocab.build([text])
    torch.manual_seed(0)
    return text, vocab, CharRNN(ModelConfig(vocab_size=len(vocab), **SIZES["tiny"]))


def _split(vocab, text):
    """All but the last 500 characters train, those validate."""
    return ids(vocab, text[:-500]), ids(vocab, text[-500:])


def test_training_lowers_validation_loss_and_saves_the_best(tmp_path):
    text, vocab, model = _setup()
    val_ids = torch.tensor(vocab.encode(text[-500:]))
    before = evaluate_loss(model, val_ids)
    seen = []
    cfg = TrainConfig(minutes=5, max_steps=60, batch=8, seq_len=32, lr=1e-2, threads=1, eval_every_s=1e9)
    result = train(model, vocab, *_split(vocab, text), tmp_path / "m.safetensors", cfg,
                   {"corpus_label": "t"}, on_progress=seen.append)
    assert result.best_val_loss < before - 0.5
    ck = checkpoint.load(tmp_path / "m.safetensors")
    assert abs(ck.training["val_loss"] - result.best_val_loss) < 1e-4
    assert ck.training["chars_seen"] == 60 * 8 * 32
    assert seen[-1].phase == "done" and any(p.phase == "saved" for p in seen)


def test_stop_request_ends_early_and_still_keeps_a_model(tmp_path):
    text, vocab, model = _setup()
    calls = []

    def should_stop():
        calls.append(1)
        return len(calls) > 5

    cfg = TrainConfig(minutes=10, batch=8, seq_len=32, threads=1)
    result = train(model, vocab, *_split(vocab, text), tmp_path / "m.safetensors", cfg, {},
                   should_stop=should_stop)
    assert result.stopped_early and result.seconds < 60
    assert checkpoint.load(tmp_path / "m.safetensors").training["steps"] == 5


def test_a_worse_model_never_replaces_the_best(tmp_path):
    text, vocab, model = _setup()
    path = tmp_path / "m.safetensors"
    cfg = TrainConfig(minutes=5, max_steps=40, batch=8, seq_len=32, lr=1e-2, threads=1, eval_every_s=1e9)
    train(model, vocab, *_split(vocab, text), path, cfg, {}, resume_path=tmp_path / "r.safetensors")
    best = checkpoint.load(path).training["val_loss"]
    # continue from weights that are wrecked: the saved best must survive
    with torch.no_grad():
        for p in model.parameters():
            p.normal_(0, 3.0)
    more = TrainConfig(minutes=5, max_steps=41, batch=8, seq_len=32, lr=1e-4, threads=1, eval_every_s=1e9)
    result = train(model, vocab, *_split(vocab, text), path, more, {},
                   resume_path=tmp_path / "r.safetensors", resume=True)
    assert not result.saved
    assert checkpoint.load(path).training["val_loss"] == best


def test_cpu_training_is_the_same_computation_as_before_devices_and_ddp(tmp_path):
    """`--device cpu` in one process gives what the loop gave before it learnt devices and DDP.

    Recorded with the loop of commit e2d0ee3 (CPU, one thread): the same seed, steps and
    settings must land on the same weights (to float rounding across CPUs).
    """
    text, vocab, model = _setup()
    cfg = TrainConfig(minutes=5, max_steps=30, batch=8, seq_len=32, lr=1e-2, threads=1, eval_every_s=1e9,
                      reset_prob=0.3, device="cpu", precision="float32")
    result = train(model, vocab, ids(vocab, text[:-500]), ids(vocab, text[-500:]), tmp_path / "m.safetensors", cfg, {})
    assert result.best_val_loss == pytest.approx(2.5442486535571143, rel=1e-4)
    weights = checkpoint.load(tmp_path / "m.safetensors").weights
    recorded = {"embed.weight": 1284.2150411317707, "rnn.weight_ih_l0": 301.8725830622425,
                "rnn.weight_hh_l0": 829.6856526679439, "head.weight": 495.257308771681, "head.bias": 10.474686592817307}
    for key, abs_sum in recorded.items():
        assert weights[key].double().abs().sum().item() == pytest.approx(abs_sum, rel=1e-4), key
    assert all(w.dtype == torch.float32 for w in weights.values())


def test_bfloat16_on_the_cpu_learns_as_float32_does_and_saves_float32(tmp_path):
    """Mixed precision changes how fast an update is, not what the run learns or what it writes."""
    text, vocab, model = _setup()
    initial = {k: v.clone() for k, v in model.state_dict().items()}
    before = evaluate_loss(model, ids(vocab, text[-500:]))
    losses = {}
    for precision in ("float32", "bfloat16"):
        model.load_state_dict(initial)
        cfg = TrainConfig(minutes=5, max_steps=60, batch=8, seq_len=32, lr=1e-2, threads=1, eval_every_s=1e9,
                          reset_prob=0.3, device="cpu", precision=precision)
        path = tmp_path / f"{precision}.safetensors"
        losses[precision] = train(model, vocab, *_split(vocab, text), path, cfg, {}).best_val_loss
        ck = checkpoint.load(path)
        assert all(w.dtype == torch.float32 for w in ck.weights.values())
        assert ck.mid_state is not None and all(s.dtype == torch.float32 for s in ck.mid_state)
    assert checkpoint.load(tmp_path / "bfloat16.safetensors").training["device"] == "cpu (bfloat16 mixed precision)"
    assert losses["bfloat16"] < before - 0.5
    assert losses["bfloat16"] == pytest.approx(losses["float32"], abs=0.05)
    assert losses["bfloat16"] != losses["float32"]  # it did compute in bfloat16


def test_update_size_defaults_per_device_and_equal_shares_per_process():
    cpu, cuda = torch.device("cpu"), torch.device("cuda")
    assert update_size(TrainConfig(), cpu) == (16, 64)
    assert update_size(TrainConfig(), cpu, processes=2) == (16, 64)  # CPU processes split one update
    assert update_size(TrainConfig(), cuda, processes=4) == (4 * 128, 128)  # each GPU takes 128 streams
    assert update_size(TrainConfig(batch=24, seq_len=32), cuda) == (24, 32)
    assert _layout(100_000, 15, 64, processes=2) == (16, 64)  # rounded up to equal shares
    assert _layout(1_000, 16, 64, processes=2) == (14, 64)  # as many as the text holds, still equal
    with pytest.raises(ValueError, match="not enough text for 4 processes"):
        _layout(150, 16, 64, processes=4)
