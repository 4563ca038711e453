"""A word-level model behind the character predictor seam: proper next-character
distributions, ghost text that completes the word at the cursor, unknown words that never
break it, and cached states equal to a fresh reading."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.test_engine import apply, edits
from tuiwriter.lm import checkpoint
from tuiwriter.predict.engine import Engine
from tuiwriter.predict.policy import SuggestConfig
from tuiwriter.predict.predictor import FusedRNN, advance
from tuiwriter.predict.word_predictor import MixedPredictor, WordPredictor, WordState

TEXT = st.text(alphabet="the cat sat on mat.\nTHE dog!zq'  ", max_size=60)


@pytest.fixture(scope="module")
def wck(tiny_word_checkpoint):
    return checkpoint.load(tiny_word_checkpoint)


@pytest.fixture(scope="module")
def ck(tiny_checkpoint):
    return checkpoint.load(tiny_checkpoint)


@pytest.fixture(scope="module")
def predictor(wck) -> WordPredictor:
    return WordPredictor(wck.build_model(), wck.vocab, wck.words)


def read(predictor: WordPredictor, text: str) -> WordState:
    return advance(predictor, predictor.start(), predictor.vocab.encode(text))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=TEXT)
def test_every_next_character_distribution_is_proper(predictor, text):
    logp = predictor.log_probs(read(predictor, text))
    assert logp.shape == (len(predictor.vocab),)
    assert bool(torch.isfinite(logp).all())
    assert math.isclose(float(logp.exp().sum()), 1.0, rel_tol=1e-4)


def test_the_engine_picks_the_word_predictor_by_the_checkpoint_level(wck):
    assert wck.level == "word" and wck.words is not None
    assert isinstance(Engine(wck).predictor, WordPredictor)


def test_ghost_text_completes_the_word_at_the_cursor(wck):
    engine = Engine(wck, SuggestConfig(document_match=False, corpus_memory=False))
    for text, expected in (("The cat sat on the m", "at"), ("The quick brown f", "ox"), ("The dog ran to the d", "oor")):
        ghost = "".join(engine.suggest(text, len(text)))
        assert ghost.startswith(expected), (text, ghost)


def test_known_words_are_cheaper_than_unknown_ones_and_unknown_ones_are_read(predictor):
    def bits(text: str) -> float:
        state, total = predictor.start(), 0.0
        for cid in predictor.vocab.encode(text):
            total -= float(predictor.log_probs(state)[cid])
            state = predictor.step(state, cid)
        return total

    assert bits("The cat sat on the mat.") < bits("The cqz sat on the mat.")
    after_unknown = read(predictor, "The zqzq ")
    assert after_unknown.pending == " " and predictor.words.id_of(" zqzq") == 0
    assert bool(torch.isfinite(predictor.log_probs(after_unknown)).all())


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=TEXT)
def test_step_is_a_pure_function_of_state_and_character(predictor, text):
    """Whether a state's distribution was asked for first (which caches the boundary's model
    step on it) or not, reading on gives the same states."""
    ids = predictor.vocab.encode(text)
    asked, plain = predictor.start(), predictor.start()
    for cid in ids:
        predictor.log_probs(asked)
        asked, plain = predictor.step(asked, cid), predictor.step(plain, cid)
    assert asked.pending == plain.pending
    assert torch.equal(asked.h, plain.h) and torch.equal(asked.c, plain.c)
    assert torch.equal(predictor.log_probs(asked), predictor.log_probs(plain))


def engines(wck, ck, kind: str, **options) -> Engine:
    """An engine on the word model alone, or on the char model with the word model mixed in."""
    config = SuggestConfig(min_confidence=0.0, max_chars=12)
    if kind == "word":
        return Engine(wck, config, **options)
    mixed = MixedPredictor(FusedRNN(ck.build_model(), ck.vocab), WordPredictor(wck.build_model(), wck.vocab, wck.words),
                           0.3, wck.mid_state)
    return Engine(ck, config, predictor=mixed, **options)


@pytest.mark.parametrize("kind", ["word", "mixed"])
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(start=st.text("the cat sat on mat.\nTHE dog!", max_size=120), history=edits)
def test_any_edit_history_gives_the_from_scratch_answer(wck, ck, kind, start, history):
    """The engine's invariant (tests/test_engine.py) with a word model, alone and as a voice."""
    engine = engines(wck, ck, kind, interval=8, max_checkpoints=12)
    engine.prepare(start)
    text, cursor, undo = start, len(start), []
    for edit in history:
        text, cursor = apply(edit, text, cursor, undo, engine)
        "".join(engine.suggest(text, cursor))
    got = "".join(engine.suggest(text, cursor))
    fresh = engines(wck, ck, kind)
    fresh.adopt(engine.adaptation)  # with what the engine learnt from the history (engine: "Learning")
    assert got == "".join(fresh.suggest(text, cursor))
    assert torch.equal(engine.next_char_log_probs(text, cursor), fresh.next_char_log_probs(text, cursor))


def test_a_mixed_voice_is_a_proper_distribution_between_its_two_voices(wck, ck, predictor):
    char = FusedRNN(ck.build_model(), ck.vocab)
    mixed = MixedPredictor(char, predictor, 0.3)
    text = "The cat sat on the m"
    state = advance(mixed, mixed.start(), mixed.vocab.encode(text))
    p = mixed.log_probs(state).exp()
    assert math.isclose(float(p.sum()), 1.0, rel_tol=1e-4)
    a = mixed.vocab.id_of("a")
    p_char = float(char.log_probs(advance(char, char.start(), char.vocab.encode(text))).exp()[a])
    p_word = float(predictor.log_probs(read(predictor, text)).exp()[predictor.vocab.id_of("a")])
    assert min(p_char, p_word) - 1e-3 <= float(p[a]) <= max(p_char, p_word) + 1e-3
