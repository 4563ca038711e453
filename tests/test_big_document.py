"""The editor's documents answer exactly as Textual's own would, edit after edit, and a snapshot
knows exactly how much of the text is unchanged since an earlier version."""

from __future__ import annotations

import threading
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.cells import cell_len
from textual.geometry import Offset
from textual.widgets.text_area import Document, WrappedDocument

from tuiwriter.tui.widgets import big_document
from tuiwriter.tui.widgets.big_document import IndexedDocument, IndexedWrappedDocument, SnapshotOutdated

# Words of every kind the wrapping must get right: plain, long (folded), tabs, wide and
# zero-width characters, blanks at the start and runs of blanks.
PIECES = ["a", "word", " ", "  ", "\t", "\n", "é", "—", "中文", "😀", "x" * 23, "e\u0301", "\xa0", "-"]
texts = st.lists(st.sampled_from(PIECES), max_size=40).map("".join)


def locations(doc: Document) -> list[tuple[int, int]]:
    return [(row, col) for row in range(doc.line_count) for col in range(len(doc[row]) + 1)]


def assert_same_document(ours: IndexedDocument, theirs: Document) -> None:
    assert ours.lines == theirs.lines and ours.text == theirs.text and ours.end == theirs.end
    assert ours.length == len(theirs.text)
    assert ours.get_size(4) == theirs.get_size(4)
    for location in locations(theirs):
        index = theirs.get_index_from_location(location)
        assert ours.get_index_from_location(location) == index
        assert ours.get_location_from_index(index) == theirs.get_location_from_index(index)
    spots = locations(theirs)
    for a in spots[:: max(1, len(spots) // 5)]:
        for b in spots[:: max(1, len(spots) // 5)]:
            assert ours.get_text_range(a, b) == theirs.get_text_range(a, b)


def assert_same_wrapping(ours: IndexedWrappedDocument, theirs: WrappedDocument) -> None:
    assert ours.height == theirs.height and ours.wrapped == theirs.wrapped
    for row in range(theirs.document.line_count):
        assert ours.get_offsets(row) == theirs.get_offsets(row)
        assert ours.get_sections(row) == theirs.get_sections(row)
        assert ours.get_tab_widths(row) == theirs.get_tab_widths(row)
    for y in range(theirs.height + 2):
        if y < theirs.height:
            assert ours._offset_to_line_info[y] == theirs._offset_to_line_info[y]
        for x in (0, 1, 3, 7, 40):
            assert ours.offset_to_location(Offset(x, y)) == theirs.offset_to_location(Offset(x, y))
    for location in locations(theirs.document):
        assert ours.location_to_offset(location) == theirs.location_to_offset(location)


edits = st.lists(st.tuples(st.floats(0, 1), st.floats(0, 1), texts), max_size=6)


@settings(max_examples=150, deadline=None)
@given(texts, edits, st.sampled_from([0, 5, 8, 13]), st.sampled_from([2, 4]))
def test_documents_and_wrapping_match_textuals_through_edits(text, changes, width, tab):
    theirs = Document(text)
    ours = IndexedDocument(text)
    their_wrap = WrappedDocument(theirs, width, tab)
    our_wrap = IndexedWrappedDocument(ours, width, tab)
    assert_same_document(ours, theirs)
    assert_same_wrapping(our_wrap, their_wrap)
    for a, b, insert in changes:
        spots = locations(theirs)
        start, end = sorted((spots[int(a * (len(spots) - 1))], spots[int(b * (len(spots) - 1))]))
        result = theirs.replace_range(start, end, insert)
        assert ours.replace_range(start, end, insert) == result
        their_wrap.wrap_range(start, end, result.end_location)
        our_wrap.wrap_range(start, end, result.end_location)
        assert_same_document(ours, theirs)
        assert_same_wrapping(our_wrap, their_wrap)


@settings(max_examples=150, deadline=None)
@given(texts, edits, st.integers(0, 6))
def test_a_snapshot_knows_what_is_unchanged_since_any_earlier_version(text, changes, keep):
    doc = IndexedDocument(text, version=3)
    seen = {3: text}
    for a, b, insert in changes:
        spots = locations(doc)
        start, end = sorted((spots[int(a * (len(spots) - 1))], spots[int(b * (len(spots) - 1))]))
        doc.replace_range(start, end, insert)
        seen[doc.version] = doc.text
    snap = doc.snapshot()
    now = str(snap)
    assert len(snap) == len(now) and now == seen[snap.version]
    for a in range(0, len(now) + 1, 3):
        for b in range(a, len(now) + 1, 5):
            assert snap[a:b] == now[a:b]
    doc.replace_range((0, 0), (0, 0), "a later edit")
    with pytest.raises(SnapshotOutdated):
        snap[0:1]  # never the text of another version
    for version, old in seen.items():
        same = snap.unchanged_before(version)
        assert now[:same] == old[:same]
        if version == snap.version:
            assert same == len(now)
    assert snap.unchanged_before(2) == 0  # before this document existed: unknown
    assert snap.unchanged_before(snap.version + 1) == 0


def test_a_snapshot_behind_the_change_log_says_unknown(monkeypatch):
    monkeypatch.setattr(big_document, "CHANGE_LOG", 4)
    doc = IndexedDocument("abc\ndef\n")
    for _ in range(6):
        doc.replace_range(doc.end, doc.end, "x")
    assert doc.snapshot().unchanged_before(0) == 0  # log starts at version 3
    assert doc.snapshot().unchanged_before(3) == len("abc\ndef\n") + 3


def test_plain_characters_are_one_cell_each():
    """Rows made only of `_NOT_PLAIN`'s complement are wrapped by counting characters: every
    such character must be exactly one cell wide for rich (and so for Textual)."""
    for code in range(0x20, 0x3000):
        ch = chr(code)
        if not big_document._NOT_PLAIN.match(ch):
            assert cell_len(ch) == 1 and ch.isprintable(), hex(code)


def test_snapshots_read_in_another_thread_while_editing_are_exact_or_refused():
    """The engine's worker reads snapshots while the person types: each read is the text of the
    snapshot's version, or SnapshotOutdated, never a mixture."""
    doc = IndexedDocument("".join(f"row {i} " * 3 + "\n" for i in range(2000)))
    texts = {doc.version: doc.text}
    snaps = [doc.snapshot()]
    stop = threading.Event()
    results: list[tuple[int, str | None]] = []

    def reader() -> None:
        while not stop.is_set():
            snap = snaps[-1]
            try:
                results.append((snap.version, str(snap)))
            except SnapshotOutdated:
                results.append((snap.version, None))

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        for i in range(300):
            row = (i * 37) % doc.line_count
            doc.replace_range((row, 0), (row, 2), f"edit {i}\n" if i % 3 else "")
            texts[doc.version] = doc.text
            snaps.append(doc.snapshot())
        deadline = time.monotonic() + 10  # the last snapshot stays current: it must be read whole
        while not any(v == doc.version and t for v, t in list(results)) and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        stop.set()
        thread.join()
    exact = [(v, t) for v, t in results if t is not None]
    assert exact and all(t == texts[v] for v, t in exact)
    _, rows = doc.rows_now()
    assert "\n".join(rows) == doc.text
