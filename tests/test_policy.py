"""The suggestion policy's decoding choices (most are tested through the engine in test_engine.py)."""

from __future__ import annotations

import math

import torch

from tuiwriter.predict.policy import SuggestConfig, decode, first_word

CHARS = "?abc \n"  # id 0 is the unknown symbol
# what follows each prefix (anything else: a hundredth), made so that the likeliest first
# character leads into a less likely word: "ac " is 0.55 * 0.34, "b " is 0.45 * 0.9
TABLE = {"": {"a": 0.55, "b": 0.45}, "a": {"c": 0.34, "a": 0.33, "b": 0.33}, "ac": {" ": 0.99},
         "aa": {" ": 0.99}, "ab": {" ": 0.99}, "b": {" ": 0.9, "c": 0.1}}


def log_probs(state: str, decoded: str) -> torch.Tensor:
    row = TABLE.get(state, {" ": 0.99})
    return torch.tensor([math.log(row.get(ch, 0.01)) for ch in CHARS])


def advance(state: str, cid: int) -> str:
    return state + CHARS[cid]


def test_a_beam_finds_the_likelier_word_that_greedy_decoding_walks_past():
    assert first_word("", advance, log_probs, CHARS, 1, 10) == "ac "  # width 1 is greedy
    assert first_word("", advance, log_probs, CHARS, 2, 10) == "b "
    config = SuggestConfig(min_confidence=0.0, word_confidence=1.0)
    assert "".join(decode("", advance, log_probs, CHARS, 5, config)) == "ac "
    config.beam = 2
    assert "".join(decode("", advance, log_probs, CHARS, 5, config)) == "b "


def test_a_beam_that_completes_no_word_leaves_the_choice_to_greedy_decoding():
    assert first_word("", advance, lambda s, d: log_probs("a", d), CHARS, 2, 3) is None
