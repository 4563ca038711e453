"""The document's short endings: what followed each at its most recent places before the cursor,
the same whether the text was typed, opened whole or edited."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tuiwriter.predict.experts import document_counts
from tuiwriter.predict.experts.document_counts import ShortIndex
from tuiwriter.text.vocab import Vocab

VOCAB = Vocab.build(["ab c\n"])


def by_brute_force(text: str, width: int, recent: int, ending: str, end: int) -> dict[int, int]:
    places = [p for p in range(width, min(end, len(text))) if text[p - width:p] == ending][-recent:]
    counts: dict[int, int] = {}
    for p in places:
        i = VOCAB.id_of(text[p])
        if i:
            counts[i] = counts.get(i, 0) + 1
    return counts


def check(index: ShortIndex, text: str) -> None:
    for end in range(len(text) + 1):
        for ending in {text[max(0, end - index.width):end], "ab"[:index.width], "é" * index.width}:
            if len(ending) == index.width:
                assert index.counts(ending, end) == by_brute_force(text, index.width, index.recent, ending, end)


@settings(max_examples=80, deadline=None)
@given(st.text(alphabet="ab cé\n", max_size=120), st.text(alphabet="ab c", max_size=30), st.integers(0, 120),
       st.integers(1, 3), st.integers(1, 8), st.booleans())
def test_counts_are_those_before_the_cursor_however_the_text_was_indexed(text, inserted, at, width, recent, opened):
    """Typed or opened whole (the static part), then edited: the counts are those of the places
    before the cursor in the text as it is now, the most recent `recent` of them. An unknown
    character (é) is a place but never counted."""
    with pytest.MonkeyPatch.context() as m:
        m.setattr(document_counts, "REBUILD_CHARS", 0 if opened else 10_000)
        index = ShortIndex(VOCAB, width, recent)
        index.extend(text)
        check(index, text)
        at = min(at, len(text))
        edited = text[:at] + inserted + text[at:]
        index.truncate(at)
        index.extend(edited)
        check(index, edited)


def test_a_long_document_opened_whole_then_typed_into():
    """More than REBUILD_CHARS at once is indexed at C speed; typing after it goes to the
    dictionary; both count, the most recent first."""
    text = "ab c\n" * (document_counts.REBUILD_CHARS // 5 + 20)
    index = ShortIndex(VOCAB, 2, 32)
    index.extend(text)
    assert index.counts("ab", len(text)) == {VOCAB.id_of(" "): 32}
    typed = text + "abc abb"
    index.extend(typed)
    assert index.counts("ab", len(typed)) == {VOCAB.id_of(" "): 30, VOCAB.id_of("c"): 1, VOCAB.id_of("b"): 1}
