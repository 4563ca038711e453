"""The fused step must be the model: same next-character distribution as a full nn.LSTM/GRU pass."""

from __future__ import annotations

import pytest
import torch

from tuiwriter.lm import checkpoint, store
from tuiwriter.lm.model import CharRNN, ModelConfig
from tuiwriter.predict.predictor import FusedRNN, Int8RNN, ModulePredictor, advance, int8_available
from tuiwriter.predict.word_predictor import for_checkpoint
from tuiwriter.text.vocab import BASE_CHARS, UNK, Vocab

TEXT = "Hello there, world.\nHow are you?\t(fine) 0123"


def random_model(cell: str, layers: int = 2, hidden: int = 32) -> tuple[CharRNN, Vocab]:
    vocab = Vocab(UNK + BASE_CHARS)
    torch.manual_seed(3)
    model = CharRNN(ModelConfig(vocab_size=len(vocab), embed=8, hidden=hidden, layers=layers, cell=cell))
    with torch.no_grad():  # larger weights than the init, so the state saturates and drifts
        for p in model.parameters():
            p.mul_(3.0)
    return model.eval(), vocab


def full_pass_log_probs(model: CharRNN, vocab: Vocab, text: str) -> torch.Tensor:
    with torch.inference_mode():
        logits, _ = model(torch.tensor([vocab.encode(text)]))
    return torch.log_softmax(logits[0], dim=-1)


@pytest.mark.parametrize("cell,layers", [("lstm", 1), ("lstm", 2), ("lstm", 3), ("gru", 1), ("gru", 2)])
def test_fused_step_matches_full_pass(cell, layers):
    model, vocab = random_model(cell, layers)
    expected = full_pass_log_probs(model, vocab, TEXT)
    predictor = FusedRNN(model, vocab)
    state = predictor.start()
    for t, cid in enumerate(vocab.encode(TEXT)):
        state = predictor.step(state, cid)
        assert torch.allclose(predictor.log_probs(state), expected[t], atol=1e-5), f"position {t}"


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_module_predictor_agrees_with_fused(cell):
    model, vocab = random_model(cell)
    fused, module = FusedRNN(model, vocab), ModulePredictor(model, vocab)
    ids = vocab.encode(TEXT)
    a = advance(fused, fused.start(), ids)
    b = advance(module, module.start(), ids)
    assert torch.allclose(fused.log_probs(a), module.log_probs(b), atol=1e-5)


def test_steps_are_pure_functions_of_state_and_char():
    """Caching relies on it: the same step from the same state gives the same bits."""
    model, vocab = random_model("lstm")
    predictor = FusedRNN(model, vocab)
    ids = vocab.encode(TEXT)
    mid = advance(predictor, predictor.start(), ids[:10])
    one = advance(predictor, mid, ids[10:])
    two = advance(predictor, advance(predictor, predictor.start(), ids[:10]), ids[10:])
    assert torch.equal(one.h, two.h) and torch.equal(one.c, two.c)
    assert torch.equal(mid.h, advance(predictor, predictor.start(), ids[:10]).h)  # mid untouched


def test_fused_step_on_a_trained_checkpoint(tiny_checkpoint):
    ck = checkpoint.load(tiny_checkpoint)
    model = ck.build_model()
    text = "The cat sat on the mat."
    expected = full_pass_log_probs(model, ck.vocab, text)
    predictor = FusedRNN(model, ck.vocab)
    state = advance(predictor, predictor.start(), ck.vocab.encode(text))
    assert torch.allclose(predictor.log_probs(state), expected[-1], atol=1e-5)
    assert ck.vocab.chars[int(predictor.log_probs(state).argmax())] in " \n"


def test_int8_step_is_the_model_within_quantisation(tiny_checkpoint):
    """The engine's int8 step: the float step's distribution within what int8 weights round off,
    the same likeliest character almost everywhere, and a pure function of state and character."""
    if not int8_available():
        pytest.skip("this PyTorch build has no int8 linear layers")
    ck = checkpoint.load(tiny_checkpoint)
    model = ck.build_model()
    fused, int8 = FusedRNN(model, ck.vocab), Int8RNN(model, ck.vocab)
    ids = ck.vocab.encode("The cat sat on the mat. The dog ran to the park and the cat sat. " * 3)
    a, b = fused.start(), int8.start()
    bits_a = bits_b = 0.0
    same_top = 0
    for cid in ids:
        pa, pb = fused.log_probs(a), int8.log_probs(b)
        assert float((pa.exp() - pb.exp()).abs().max()) < 0.05
        bits_a -= float(pa[cid])
        bits_b -= float(pb[cid])
        same_top += int(pa.argmax() == pb.argmax())
        a, b = fused.step(a, cid), int8.step(b, cid)
    assert abs(bits_a - bits_b) / len(ids) < 0.01  # nats per character
    assert same_top >= 0.95 * len(ids)
    again = advance(int8, int8.start(), ids)
    assert torch.equal(again.h, b.h) and torch.equal(again.c, b.c)


def test_the_editor_steps_the_shipped_model_with_int8_weights_and_a_small_one_with_floats(tiny_checkpoint):
    shipped = checkpoint.load(store.shipped_default())
    assert isinstance(for_checkpoint(shipped), Int8RNN if int8_available() else FusedRNN)
    tiny = for_checkpoint(checkpoint.load(tiny_checkpoint))  # its weights stay in cache: floats are as fast
    assert type(tiny) is FusedRNN
