"""The document match finds what followed the same text earlier in the document, only before the
cursor, and stays right while the document is edited."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from tuiwriter.predict.experts.document_match import MIN_MATCH, DocumentIndex, trust


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
def test_edits_leave_the_index_as_if_built_fresh(first, second, cut):
    index = indexed(first)
    n = min(cut, len(first))
    index.truncate(n)
    index.extend(first[:n] + second)
    fresh = indexed(first[:n] + second)
    text = first[:n] + second
    for end in range(len(text) + 1):
        assert index.predict(end) == fresh.predict(end)
