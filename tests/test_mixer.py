"""The online mixer: its update against a hand-computed example, determinism, and the engine's
learning rule (what it learns from, and that nothing else changes what it learnt)."""

from __future__ import annotations

import math
import random

import pytest
import torch

from tuiwriter.lm import checkpoint, store
from tuiwriter.predict import engine as engine_module
from tuiwriter.predict import mixer
from tuiwriter.predict.engine import LEARN_SPAN, Engine
from tuiwriter.predict.mixer import (
    Adaptation,
    Selection,
    adapted_log_probs,
    fast_log_probs,
    learn,
    learn_fast,
    learn_head,
    learn_mixer,
    learn_pair,
    mix,
    pair_log_probs,
    predict,
    side_keys,
)
from tuiwriter.predict.policy import SuggestConfig


@pytest.fixture
def ck(tiny_checkpoint):
    return checkpoint.load(tiny_checkpoint)


def test_the_update_matches_a_hand_computed_example():
    # two inputs over three characters, one context; weights (1, 1)
    inputs = torch.log(torch.tensor([[0.5, 0.25, 0.25], [0.25, 0.5, 0.25]]))
    weights = torch.tensor([[1.0, 1.0]])
    logp = mix(weights, inputs, (0,))
    # p ∝ (0.125, 0.125, 0.0625) = (0.4, 0.4, 0.2)
    assert torch.allclose(logp.exp(), torch.tensor([0.4, 0.4, 0.2]))
    # x = 0: Δw_1 = η (log 0.5 − (0.4 log 0.5 + 0.4 log 0.25 + 0.2 log 0.25)) = η (−1 + 1.6) log 2
    #        Δw_2 = η (log 0.25 − (0.4 log 0.25 + 0.4 log 0.5 + 0.2 log 0.25)) = η (−2 + 1.6) log 2
    new = learn_mixer(weights, inputs, (0,), logp, 0, eta=0.5)
    expected = torch.tensor([[1 + 0.3 * math.log(2), 1 - 0.2 * math.log(2)]])
    assert torch.allclose(new, expected)
    assert torch.equal(weights, torch.tensor([[1.0, 1.0]]))  # a copy: snapshots never change


def test_two_layers_match_a_hand_computed_example():
    # the same two inputs; one side mixer with two keys (key 1 learnt before, key 0 never used),
    # the final layer at the mean
    inputs = torch.log(torch.tensor([[0.5, 0.25, 0.25], [0.25, 0.5, 0.25]]))
    side = torch.tensor([[float("nan"), float("nan")], [2.0, 0.0]])
    a = Adaptation(torch.tensor([[1.0, 1.0]]), side=side, final=torch.tensor([[0.5, 0.5]]))
    # key 0: the shared weights stand in, both mixers say (0.4, 0.4, 0.2) and so does the mixture
    logp, layer = predict(a, inputs, Selection((0,), (0,), 0)), mixer.layer(a, inputs, Selection((0,), (0,), 0))
    assert torch.allclose(layer.exp(), torch.tensor([[0.4, 0.4, 0.2]] * 2))
    assert torch.allclose(logp.exp(), torch.tensor([0.4, 0.4, 0.2]))
    # x = 0: the shared weights move as one mixer's do (above); the side key starts from them and
    # moves SIDE_RATE times as far; the final layer by log p_j(0) − E_p[log p_j], the same for both
    weights, new_side, final = learn(a, inputs, Selection((0,), (0,), 0), logp, 0, eta=0.5)
    step = torch.tensor([0.6 * math.log(2), -0.4 * math.log(2)])  # the gradient (above)
    assert torch.allclose(weights, torch.tensor([[1.0, 1.0]]) + 0.5 * step)
    assert torch.allclose(new_side[0], torch.tensor([1.0, 1.0]) + 0.5 * mixer.SIDE_RATE * step)
    assert torch.equal(new_side[1], side[1])  # another key: unchanged
    g = math.log(0.4) - (0.8 * math.log(0.4) + 0.2 * math.log(0.2))
    assert torch.allclose(final, torch.tensor([[0.5, 0.5]]) + mixer.FINAL_RATE * g)
    assert side[0].isnan().all()  # copies: snapshots never change
    # key 1, weights (2, 0): p ∝ 0.5², 0.25², 0.25² = (2/3, 1/6, 1/6); the mixture is their geometric mean
    logp, layer = predict(a, inputs, Selection((0,), (1,), 0)), mixer.layer(a, inputs, Selection((0,), (1,), 0))
    assert torch.allclose(layer[1].exp(), torch.tensor([2 / 3, 1 / 6, 1 / 6]))
    mean = torch.tensor([0.4 * 2 / 3, 0.4 / 6, 0.2 / 6]).sqrt()
    assert torch.allclose(logp.exp(), mean / mean.sum())
    # learning x = 0 there moves the side key along its own prediction's gradient:
    # log p_1(0) − E[log p_1] = (−1 + 2/3 + 2/3) log 2, log p_2(0) − E[log p_2] = (−2 + 4/3 + 1/6 + 1/3) log 2
    _, new_side, _ = learn(a, inputs, Selection((0,), (1,), 0), logp, 0, eta=0.5)
    own = torch.tensor([math.log(2) / 3, -math.log(2) / 6])
    assert torch.allclose(new_side[1], torch.tensor([2.0, 0.0]) + 0.5 * mixer.SIDE_RATE * own)


def test_side_keys_are_the_characters_before_and_the_models_confidence():
    confident = torch.log(torch.tensor([0.96, 0.02, 0.02]))
    unsure = torch.log(torch.tensor([0.4, 0.3, 0.3]))
    # rows of the one side table: each mixer's keys after the one before's
    m, prev = mixer.MATCH_KEYS, mixer.PREV_KEYS
    pair, conf = mixer.SIDE[0], mixer.SIDE[0] + mixer.PAIR_KEYS
    assert side_keys((3, 5), confident, (0, 0)) == (5, pair + (3 * 1009 + 5) * m % mixer.PAIR_KEYS, conf + 5 * m)
    assert side_keys((3, 5), confident, (2, 0)) == (5, pair + ((3 * 1009 + 5) * m + 2) % mixer.PAIR_KEYS,
                                                    conf + 5 * m + 2)
    assert side_keys((0, 0), unsure, (1, 0)) == (0, pair + 1, conf + m + 1)
    assert side_keys((7, 300), unsure, (0, 0))[0] == 300 % prev
    # a long remembered match: other keys for each mixer
    long = side_keys((3, 5), confident, (2, 2))
    assert long[0] == 5 + 2 * prev and long[2] == conf + (2 * 7 + 5) * m + 2
    assert long[1] != side_keys((3, 5), confident, (2, 0))[1]
    sure = torch.log(torch.tensor([0.995, 0.004, 0.001]))
    last = side_keys((7, 300), sure, (m - 1, mixer.REMEMBERED_KEYS - 1))[2]
    assert last == sum(mixer.SIDE) - 1  # the table's last row


def test_the_head_learns_the_characters_it_is_shown():
    logp = torch.log_softmax(torch.zeros(4), 0)
    h = torch.tensor([1.0, -1.0])
    a = Adaptation(torch.zeros(1, 1))
    for _ in range(50):
        now = adapted_log_probs(logp, h, a)
        b, w = learn_head(a, now, h, 2, rate_b=0.1, rate_w=0.1)
        a = Adaptation(a.weights, w, b)
    assert adapted_log_probs(logp, h, a).argmax() == 2
    assert torch.equal(adapted_log_probs(logp, h, Adaptation(a.weights)), logp)  # nothing learnt: unchanged


def test_the_fast_correction_steps_as_the_slow_one_at_fast_times_its_rates():
    # uniform over four characters, h = (1, -1), x = 2: g = onehot(2) - p = (-1/4, -1/4, 3/4, -1/4)
    logp = torch.log_softmax(torch.zeros(4), 0)
    h = torch.tensor([1.0, -1.0])
    a = Adaptation(torch.zeros(1, 1))
    b, w = learn_fast(a, logp, h, 2)
    g = torch.tensor([-0.25, -0.25, 0.75, -0.25])
    assert torch.allclose(b, g * mixer.HEAD_RATE_B * mixer.FAST)
    assert torch.allclose(w, torch.outer(g * mixer.HEAD_RATE_W * mixer.FAST, h))
    slow_b, _ = learn_head(a, logp, h, 2)
    assert torch.allclose(b, slow_b * mixer.FAST)
    learnt = Adaptation(a.weights, fast_w=w, fast_b=b)
    assert fast_log_probs(logp, h, learnt).argmax() == 2
    assert torch.equal(adapted_log_probs(logp, h, learnt), logp)  # the slow correction: untouched


def test_the_pair_correction_learns_what_followed_the_two_characters_before():
    # uniform over four characters; after the pair (1, 3) came 2: that row moves by PAIR_RATE * g
    logp = torch.log_softmax(torch.zeros(4), 0)
    a = Adaptation(torch.zeros(1, 1))
    rows = learn_pair(a, logp, (1, 3), 2)
    g = torch.tensor([-0.25, -0.25, 0.75, -0.25])
    assert list(rows) == [(1, 3)] and torch.allclose(rows[(1, 3)], g * mixer.PAIR_RATE)
    learnt = Adaptation(a.weights, pair=rows)
    assert torch.allclose(pair_log_probs(logp, (1, 3), learnt), torch.log_softmax(g * mixer.PAIR_RATE, 0))
    assert torch.equal(pair_log_probs(logp, (3, 1), learnt), logp)  # another pair: unchanged
    again = learn_pair(learnt, pair_log_probs(logp, (1, 3), learnt), (1, 3), 2)
    assert again[(1, 3)][2] > rows[(1, 3)][2] and learnt.pair is rows and rows[(1, 3)][2] == 0.75 * mixer.PAIR_RATE


def test_the_mixers_last_inputs_are_the_fast_and_pair_corrections(ck):
    text = "The cat sat on the mat. The cat"
    engine = typed(ck, text)
    a = engine.adaptation
    assert a.fast_b is not None and a.head_b is not None and a.pair
    assert a.fast_b.abs().sum() > 5 * a.head_b.abs().sum()  # it has moved further
    assert (ck.vocab.id_of("a"), ck.vocab.id_of("t")) in a.pair  # "at" was typed, and what followed it learnt
    state = engine._cache.read(text, len(text), None)
    _, inputs, _, model = engine._mixture(state, len(text), "", a, keep=False)
    raw = engine.predictor.log_probs(state)
    assert torch.allclose(inputs[-2], fast_log_probs(raw, state.h[-1], a))
    assert torch.allclose(inputs[-1], pair_log_probs(raw, (ck.vocab.id_of("a"), ck.vocab.id_of("t")), a))
    assert torch.allclose(inputs[0], model) and not torch.allclose(inputs[-2], model)
    engine.config.dynamic = False  # off: the model's log-probs stand in, as for an expert without an opinion
    _, inputs, _, model = engine._mixture(state, len(text), "", a, keep=False)
    assert torch.equal(inputs[-2], model) and torch.equal(inputs[-1], model)


def test_made_up_words_are_taken_up_sooner_with_the_fast_correction(monkeypatch):
    """A project's own words, which the model never saw, in ever new orders (so no earlier match
    says what comes next): the fast output layer learns them within a few uses, and the shipped
    model's mixture predicts the text in fewer bits than with that input frozen."""
    ck = checkpoint.load(store.shipped_default())
    rng = random.Random(3)
    words = ["zorblax", "quindle", "frappet", "vorn", "skizzle", "plumbix"]
    text = "".join(" ".join(rng.choice(words) for _ in range(rng.randint(3, 7))).capitalize() + ". "
                   for _ in range(80))[:1500]

    def bits() -> float:
        engine = Engine(ck)
        ids = [engine.vocab.id_of(ch) for ch in text]
        return -sum(float(engine.next_char_log_probs(text, i)[x]) for i, x in enumerate(ids)) / len(text) / math.log(2)

    learning = bits()
    monkeypatch.setattr(engine_module, "learn_fast", lambda a, logp, h, x: mixer.learn_fast(a, logp, h, x, rate=0.0))
    frozen = bits()
    assert learning < frozen - 0.02, (learning, frozen)


TEXT = "The cat sat on the mat. The cat sat on the hat. The cat"


def typed(ck, text: str, config: SuggestConfig | None = None) -> Engine:
    """An engine after `text` typed one character at a time, a suggestion after each."""
    engine = Engine(ck, config)
    for i in range(1, len(text) + 1):
        "".join(engine.suggest(text[:i], i))
    return engine


def same(a: Adaptation, b: Adaptation) -> bool:
    """Whether two adaptations learnt the same mixer weights, side mixers, final layer and the
    output-layer and pair corrections (a side key never used is NaN in both)."""
    def tensors(x: Adaptation) -> list[torch.Tensor]:
        pairs = [x.pair[k] for k in sorted(x.pair)] if x.pair else []
        learnt = (x.side, x.final, x.head_b, x.head_w, x.fast_b, x.fast_w)
        return [x.weights] + [t for t in learnt if t is not None] + pairs

    if set(a.pair or {}) != set(b.pair or {}):
        return False
    return all(torch.equal(s.nan_to_num(nan=-7.0), t.nan_to_num(nan=-7.0))
               for s, t in zip(tensors(a), tensors(b), strict=True))


def test_learning_is_deterministic_and_a_function_of_the_text_typed(ck):
    a, b = typed(ck, TEXT), typed(ck, TEXT)
    assert same(a.adaptation, b.adaptation)
    # the side mixers learnt the keys the text used: "t" before the cursor, "at" ...
    prev = a.adaptation.side[:mixer.PREV_KEYS]
    assert not prev[ck.vocab.id_of("t")].isnan().any() and prev[ck.vocab.id_of("Z")].isnan().all()
    assert not torch.equal(a.adaptation.final, Engine(ck).adaptation.final)
    assert not torch.equal(a.adaptation.weights, Engine(ck).adaptation.weights)  # it learnt
    assert a.adaptation.learnt == len(TEXT) - 1  # all but the key just typed (see the next test)
    # the same characters learnt in one request (an accepted suggestion) give the same adaptation
    at_once = Engine(ck)
    at_once.next_char_log_probs(TEXT[:40], 40)
    at_once.next_char_log_probs(TEXT, len(TEXT))
    assert same(at_once.adaptation, a.adaptation)
    assert torch.allclose(at_once.adaptation.head_w, a.adaptation.head_w)
    assert list(a.suggest(TEXT, len(TEXT))) == list(b.suggest(TEXT, len(TEXT)))


def test_the_key_just_typed_is_learnt_while_idle_and_the_idle_moment_changes_nothing_learnt(ck, monkeypatch):
    import tuiwriter.predict.engine as engine_module
    calls = {"request": 0, "idle": 0}
    phase = ["request"]
    real = engine_module.learn_head

    def counted(*args, **kwargs):
        calls[phase[0]] += 1
        return real(*args, **kwargs)

    monkeypatch.setattr(engine_module, "learn_head", counted)
    idle = Engine(ck)
    ghosts = []
    for i in range(1, len(TEXT) + 1):
        phase[0] = "request"
        ghosts.append("".join(idle.suggest(TEXT[:i], i)))
        phase[0] = "idle"
        idle.prepare(TEXT[:i], i)  # the editor's idle moment once the ghost is shown
    # every character was learnt once, each in an idle moment, none between a key and its ghost
    assert calls == {"request": 0, "idle": len(TEXT)}
    # and what was learnt, and so every ghost, is what an engine with no idle moment gets
    phase[0] = "request"
    busy = Engine(ck)
    assert [("".join(busy.suggest(TEXT[:i], i))) for i in range(1, len(TEXT) + 1)] == ghosts
    assert same(idle.adaptation, busy.adaptation)
    assert torch.equal(idle.adaptation.head_w, busy.adaptation.head_w)
    assert idle.adaptation.learnt == busy.adaptation.learnt == len(TEXT) - 1
    # the next key takes what the idle moment learnt: the same as learning it then
    more = TEXT + " s"
    "".join(idle.suggest(more, len(more)))
    "".join(busy.suggest(more, len(more)))
    assert same(idle.adaptation, busy.adaptation)
    # an edit before what the idle moment learnt throws it away
    idle.prepare(more, len(more))
    edited = TEXT + " t"
    assert "".join(idle.suggest(edited, len(edited))) == "".join(busy.suggest(edited, len(edited)))
    "".join(idle.suggest(edited + "h", len(edited) + 1))
    "".join(busy.suggest(edited + "h", len(edited) + 1))
    assert same(idle.adaptation, busy.adaptation)
    assert torch.equal(idle.adaptation.head_w, busy.adaptation.head_w)


def test_moving_the_cursor_back_or_peeking_learns_nothing(ck):
    engine = typed(ck, TEXT)
    before = engine.adaptation
    for cursor in (3, 30, 10, len(TEXT) - 1, len(TEXT)):
        "".join(engine.suggest(TEXT, cursor))
    assert engine.adaptation is before


def test_an_opened_document_or_a_long_paste_is_not_learnt(ck):
    engine = Engine(ck)
    long_text = TEXT * 3
    assert len(long_text) > LEARN_SPAN
    engine.prepare(long_text)  # the idle read-ahead learns nothing
    assert engine.adaptation.learnt == 0
    engine.next_char_log_probs(long_text, len(long_text))  # a request far past what was learnt
    assert same(engine.adaptation, Engine(ck).adaptation)
    assert engine.adaptation.learnt == len(long_text)
    more = long_text + " sat"
    engine.next_char_log_probs(more, len(more))  # typed after it: learnt
    assert engine.adaptation.learnt == len(more) - 1
    assert not torch.equal(engine.adaptation.weights, Engine(ck).adaptation.weights)


def test_an_edit_before_what_was_learnt_rewinds_it_and_learns_the_new_text(ck):
    engine = typed(ck, TEXT)
    edited = TEXT[:20] + "X" + TEXT[21:]
    engine.next_char_log_probs(edited, 10)  # the change is seen; the cursor is before it
    assert engine.adaptation.learnt == 20
    # going on from the edit learns the text as it now stands, as a fresh engine with what was
    # learnt before would
    snapshot = engine.adaptation
    engine.next_char_log_probs(edited, 30)
    fresh = Engine(ck)
    fresh.adopt(snapshot)
    fresh.prepare(edited, 20)
    fresh.next_char_log_probs(edited, 30)
    assert same(engine.adaptation, fresh.adaptation)


def test_learning_off_keeps_the_fitted_weights(ck):
    engine = typed(ck, TEXT, SuggestConfig(adapt=False, dynamic=False))
    assert same(engine.adaptation, Engine(ck).adaptation)
    assert engine.adaptation.head_b is None


def test_a_sibling_starts_from_the_fit(ck):
    engine = typed(ck, TEXT)
    other = engine.sibling()
    assert same(other.adaptation, Engine(ck).adaptation)
    assert other.adaptation.learnt == 0
