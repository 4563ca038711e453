"""The document match finds what followed the same text earlier in the document, only before the
cursor, and stays right while the document is edited."""

from __future__ import annotations

import torch
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tuiwriter.predict.experts import document_match
from tuiwriter.predict.experts.document_match import MIN_MATCH, DocumentIndex, DocumentMatchExpert, trust
from tuiwriter.text.vocab import Vocab


def indexed(text: str) -> DocumentIndex:
    index = DocumentIndex()
    index.extend(text)
    return index


def test_it_copies_what_followed_the_longest_earlier_match():
    text = "Dear Quarrendell, and Quarrendell. Later: Mr Quarr"
    assert indexed(text).predict(len(text)) == ("e", len("r Quarr"))  # "Dear Quarr"
    # the longer match wins over the more recent one
    text = "the cat sat. a bat ran. the cat sa"
    assert indexed(text).predict(len(text))[0] == "t"


def test_its_inputs_are_the_counts_smoothed_with_the_model_by_hand():
    # "abcdX" twice and "abcdY" once before the cursor; the most recent "abcd" matches longest
    text = "abcdX abcdY 1abcdX 1abcd"
    vocab = Vocab.from_counts({ch: 1 for ch in "abcdXY 1"})
    expert = DocumentMatchExpert(vocab)
    expert.read(text)
    probs = torch.full((len(vocab),), 1.0 / len(vocab))
    got = expert.inputs(text, len(text), "", probs)
    p, x, y = 1.0 / len(vocab), vocab.id_of("X"), vocab.id_of("Y")
    # the longest match (" 1abcd", 6 characters): X once; b = 1 distinct, n = 1
    best = torch.full((len(vocab),), p / 2)
    best[x] = (1 + p) / 2
    # every candidate: X twice, Y once; b = 2 distinct, n = 3
    every = torch.full((len(vocab),), 2 * p / 5)
    every[x], every[y] = (2 + 2 * p) / 5, (1 + 2 * p) / 5
    assert torch.allclose(got.logps[0].exp(), best) and torch.allclose(got.logps[1].exp(), every)
    assert got.context == document_match.bucket(6, document_match.MIXER_EDGES)


def test_it_sees_only_text_before_the_cursor():
    text = "abcdXYZ abcdQ"
    index = indexed(text)
    assert index.predict(len("abcdXYZ abcd")) == ("X", len("abcd"))
    assert index.predict(len("abcd")) is None  # the later "abcd" is after the cursor
    assert index.predict(len("abcdXYZ abc"), extra="d") == ("X", len("abcd"))


def test_a_short_or_unseen_context_predicts_nothing():
    assert indexed("abc").predict(3) is None
    assert indexed("hello world, goodbye").predict(20) is None
    assert trust(MIN_MATCH - 1) == 0.0 < trust(MIN_MATCH) < trust(40) < 1.0


@settings(max_examples=60, deadline=None)
@given(st.text(alphabet="ab c", min_size=0, max_size=60), st.text(alphabet="ab c", max_size=60),
       st.integers(min_value=0, max_value=60))
@example("ab cab cab c", "cccccccccccc", 0)  # the repeats before the last answer's end are gone
def test_edits_leave_the_index_as_if_built_fresh(first, second, cut):
    index = indexed(first)
    for end in range(len(first) + 1):  # answers before the edit (the last is kept): none may survive it
        index.matches(end)
    n = min(cut, len(first))
    index.truncate(n)
    index.extend(first[:n] + second)
    fresh = indexed(first[:n] + second)
    text = first[:n] + second
    last = min(len(first), len(text))
    assert index.matches(last) == fresh.matches(last)  # where the last answer before the edit was
    for end in range(len(text) + 1):
        assert index.predict(end) == fresh.predict(end)
        assert index.matches(end) == fresh.matches(end)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(alphabet="ab cé", min_size=0, max_size=120), st.text(alphabet="ab cé", max_size=40),
       st.integers(min_value=0, max_value=120))
def test_the_c_speed_index_answers_exactly_as_the_dictionary(monkeypatch, first, second, cut):
    """A long stretch of text is indexed at C speed (hashed buckets, every candidate checked);
    the answers are the character-by-character dictionary's, even when every string shares a
    bucket, and after an edit moves the static part's limit."""
    with monkeypatch.context() as m:
        m.setattr(document_match, "REBUILD_CHARS", 0)
        m.setattr(document_match.StaticIndex, "BUCKET_BITS", 2)  # collisions everywhere
        static = indexed(first)
        n = min(cut, len(first))
        static.truncate(n)
        static.extend(first[:n] + second)
    text = first[:n] + second
    fresh = indexed(text)
    for end in range(len(text) + 1):
        assert static.predict(end) == fresh.predict(end)
