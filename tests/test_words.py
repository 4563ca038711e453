"""Word tokens: text and tokens map both ways, the vocabulary is chosen by coverage, unknown
words are priced by their spelling."""

import math
from collections import Counter

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.conftest import tiny_text
from tuiwriter.text.vocab import BASE_CHARS, Vocab
from tuiwriter.text.words import (
    MIN_WORDS,
    UNK,
    Spelling,
    WordsError,
    WordVocab,
    choose_size,
    complete,
    detokenize,
    extends,
    tokenize,
)

TEXT_CHARS = st.text(alphabet=st.sampled_from(list("ab'_ ,.\n\t-Zé9") + [" ", " "]), max_size=60)


def test_tokens_are_words_with_their_space_punctuation_and_line_ends():
    assert tokenize("ROMEO:\nI don't know,  sir.") == [
        "ROMEO", ":", "\n", "I", " don't", " know", ",", " ", " sir", "."]
    assert tokenize("'Tis o'er") == ["'Tis", " o'er"]
    assert tokenize("a\t b") == ["a", "\t", " b"]


@given(TEXT_CHARS)
def test_detokenize_restores_every_text_exactly(text):
    assert detokenize(tokenize(text)) == text


@given(TEXT_CHARS)
def test_one_character_ahead_decides_every_boundary(text):
    """What the editor does one key at a time (extends/complete) gives the tokenizer's tokens."""
    tokens: list[str] = []
    pending = ""
    for ch in text:
        if pending and extends(pending, ch):
            pending += ch
            continue
        if pending:
            tokens.append(pending)
        pending = ch
        if complete(pending):
            tokens.append(pending)
            pending = ""
    if pending:
        tokens.append(pending)
    assert tokens == tokenize(text)


def _vocab(text: str, **kw) -> WordVocab:
    cut = int(len(text) * 0.9)
    return WordVocab.build(text[:cut], text[cut:], Vocab.build([text]).chars, **kw)


def test_vocabulary_holds_punctuation_whitespace_and_frequent_words():
    words = _vocab(tiny_text(40))
    assert words.tokens[0] == UNK
    for token in ("\n", " ", "\t", ",", " ,", ".", "(", " ("):
        assert words.id_of(token) > 0
    assert words.id_of(" the") > 0 and words.id_of("The") > 0
    assert words.id_of(" zebra") == 0  # unknown
    assert 0.9 < words.coverage <= 1.0
    assert WordVocab.from_json(words.to_json()) == words


def test_size_is_the_fewest_words_that_cover_the_validation_text():
    ranked = [f" w{i}" for i in range(100)]
    val = Counter({" w0": 50, " w1": 30, " w2": 15, " w50": 5})
    assert choose_size(ranked, val, 0.95) == max(3, MIN_WORDS)
    assert choose_size(ranked, val, 0.99) == 51
    assert choose_size(ranked, val + Counter({" never": 100}), 0.99) == 100  # unreachable: all of them


def test_too_few_distinct_words_is_a_one_line_error():
    with pytest.raises(WordsError, match="too few distinct words.*--level char") as info:
        _vocab("the cat sat. " * 200)
    assert "\n" not in str(info.value)


def test_spelling_prices_unknown_words_and_prefers_familiar_letters():
    spelling = Spelling.measure(Counter({" thane": 3, " thorn": 2, "Moor": 1}), BASE_CHARS)
    assert 0 < spelling.space < 1 and 0 < spelling.end < 1
    assert math.isclose(sum(spelling.letter_probs("t").values()), 1.0)
    assert spelling.letter_probs("t")["h"] > spelling.letter_probs("t")["q"] > 0
    assert 0 < spelling.nats(" thorn") < spelling.nats(" qzxvq")
    assert Spelling.from_json(spelling.to_json()) == spelling
