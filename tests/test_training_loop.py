import torch

from tests.conftest import ids, tiny_text
from tuiwriter.lm import checkpoint
from tuiwriter.lm.model import SIZES, CharRNN, ModelConfig
from tuiwriter.text.vocab import Vocab
from tuiwriter.training.loop import TrainConfig, evaluate_loss, train


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
