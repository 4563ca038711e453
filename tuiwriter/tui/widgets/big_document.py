"""Documents for Textual's TextArea that stay fast at many megabytes, and snapshots of them.

Textual 8.2.8's `Document` and `WrappedDocument` do per-line Python work over the *whole*
document in places the editor hits on every key or frame: the index of a location is a loop over
the rows above it, the wrapped height is a sum over every row, and wrapping loops over every row
at load (about 10 s for 10 MB). The classes here answer the same questions from tables kept up
to date edit by edit:

- `IndexedDocument` (and `IndexedSyntaxDocument` for highlighted text) keep a numpy table of
  where each row starts, so a location and an offset convert in O(1) / O(log rows), and a
  `plain` flag per row (only characters one cell wide, no tabs), which is what makes wrapping
  cheap. They also count versions and log where each change began, for `DocumentSnapshot`.
- `IndexedWrappedDocument` keeps the number of screen rows of each document row and their
  running total, so the height is one lookup and a screen row is found by binary search.
  Rows that fit (most of them) cost nothing; a plain row that does not is wrapped by one regular
  expression (the same breaks as Textual's word wrap: tested); other rows go through Textual's
  own wrapping.
- `DocumentSnapshot`: the text at one version, for the engine's worker thread, with where it
  changed since an earlier version. Taking one costs O(1): it keeps the row-start table of its
  version (tables are replaced, never changed in place) and reads the live rows under a seqlock;
  once the document has moved past its version it raises `SnapshotOutdated` rather than answer
  with another version's text (the request that took it is stale by then anyway). A shallow copy
  of the rows per request was measured at 3 ms (10 MB: 334k rows to touch) plus the garbage
  collector walking each copy.

Each class answers exactly as Textual's would (the property tests compare them edit by edit).
"""

from __future__ import annotations

import re
import time
from bisect import bisect_right
from collections import deque
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from rich.cells import cell_len
from textual.expand_tabs import expand_tabs_inline, get_tab_widths
from textual.geometry import Offset, Size
from textual.widgets.text_area import (
    Document,
    EditResult,
    Location,
    SyntaxAwareDocument,
    WrappedDocument,
)

CHANGE_LOG = 1024
"""Changes remembered for `DocumentSnapshot.unchanged_before`; a reader further behind re-reads."""

_NOT_PLAIN = re.compile(r"[^\x20-\x7e\xa1-\xac\xae-\u02ff\u2010-\u2027\u2030-\u205e]")
"""A character that may not be exactly one cell wide (a tab, a control or wide character, or
one outside the ranges checked against rich's cell widths by the tests)."""


def _lengths(lines: list[str]) -> np.ndarray:
    return np.fromiter(map(len, lines), dtype=np.int64, count=len(lines))


def _plain(lines: list[str]) -> np.ndarray:
    return np.fromiter((_NOT_PLAIN.search(line) is None for line in lines), dtype=bool, count=len(lines))


class _LineIndex:
    """What the indexed documents add to Textual's: the row-start table, the plain flags, the
    cached text and the change log. Mixed into `Document` and `SyntaxAwareDocument`."""

    _lines: list[str]
    newline: str

    def _start_index(self, text: str, version: int) -> None:
        nl = len(self.newline)
        self._starts = np.zeros(len(self._lines) + 1, dtype=np.int64)
        np.cumsum(_lengths(self._lines) + nl, out=self._starts[1:])
        self._plain_rows = _plain(self._lines)
        self._text: str | None = text if len(text) == self.length and _joins_back(text, self.newline) else None
        self._widths: np.ndarray | None = None  # cell widths for get_size, made on first use
        self._widths_tab = 0
        self.first_version = version  # texts before this version are unknown to this document
        self.version = version
        self._changes: deque[tuple[int, int]] = deque(maxlen=CHANGE_LOG)  # (version, offset)
        self._seq = 0  # odd while a change is being made (readers in other threads retry or give up)

    # -- sizes and conversions ---------------------------------------------------------------

    @property
    def length(self) -> int:
        """Characters in the text (rows joined by the newline)."""
        return int(self._starts[-1]) - len(self.newline)

    def is_plain(self, row: int) -> bool:
        """The row holds only characters one cell wide, and no tab."""
        return bool(self._plain_rows[row])

    @property
    def text(self) -> str:
        """The whole text: joined once after a change, then kept until the next one."""
        if self._text is None:
            self._text = self.newline.join(self._lines)
        return self._text

    def get_index_from_location(self, location: Location) -> int:
        row, column = location
        return int(self._starts[row]) + column

    def get_location_from_index(self, index: int) -> Location:
        if not 0 <= index <= self.length:
            raise ValueError(f"Index {index!r} does not correspond to a location in the document.")
        row = int(np.searchsorted(self._starts, index, side="right")) - 1
        return row, index - int(self._starts[row])

    def get_text_range(self, start: Location, end: Location) -> str:
        if start == end:
            return ""
        (top_row, top_column), (bottom_row, bottom_column) = sorted((start, end))
        if bottom_row >= len(self._lines):
            bottom_row, bottom_column = len(self._lines) - 1, len(self._lines[-1])
        if top_row == bottom_row:
            return self._lines[top_row][top_column:bottom_column]
        tail = len(self._lines[bottom_row]) - bottom_column
        joined = self.newline.join(self._lines[top_row: bottom_row + 1])
        return joined[top_column: len(joined) - tail]

    def get_size(self, tab_width: int) -> Size:
        if self._widths is None or self._widths_tab != tab_width:
            self._widths = self._row_widths(self._lines, self._plain_rows, tab_width)
            self._widths_tab = tab_width
        return Size(int(self._widths.max(initial=0)), len(self._lines))

    @staticmethod
    def _row_widths(lines: list[str], plain: np.ndarray, tab_width: int) -> np.ndarray:
        widths = _lengths(lines)
        for row in np.flatnonzero(~plain).tolist():
            widths[row] = cell_len(lines[row].expandtabs(tab_width))
        return widths

    # -- changes -------------------------------------------------------------------------------

    def replace_range(self, start: Location, end: Location, text: str) -> EditResult:
        top, bottom = sorted((start, end))
        rows_before = len(self._lines)
        top_row = min(top[0], rows_before - 1)
        bottom_row = min(bottom[0], rows_before - 1)
        offset = self.get_index_from_location((top_row, min(top[1], len(self._lines[top_row]))))
        self._seq += 1
        try:
            result = super().replace_range(start, end, text)  # type: ignore[misc]
            new_rows = self._lines[top_row: bottom_row + 1 + len(self._lines) - rows_before]
            self._reindex(top_row, bottom_row, new_rows)
            self.version += 1
            self._changes.append((self.version, offset))
        finally:
            self._seq += 1
        return result

    def _reindex(self, top: int, bottom: int, new_rows: list[str]) -> None:
        """Rows top..bottom became `new_rows`. Every array is replaced, never changed in place,
        so a snapshot can share them."""
        nl = len(self.newline)
        starts = self._starts
        lengths = _lengths(new_rows) + nl
        shift = int(lengths.sum()) - int(starts[bottom + 1] - starts[top])
        inner = starts[top] + np.cumsum(lengths[:-1])
        self._starts = np.concatenate((starts[: top + 1], inner, starts[bottom + 1:] + shift))
        plain = _plain(new_rows)
        self._plain_rows = np.concatenate((self._plain_rows[:top], plain, self._plain_rows[bottom + 1:]))
        if self._widths is not None:
            widths = self._row_widths(new_rows, plain, self._widths_tab)
            self._widths = np.concatenate((self._widths[:top], widths, self._widths[bottom + 1:]))
        self._text = None

    # -- snapshots and other threads ---------------------------------------------------------

    def snapshot(self) -> DocumentSnapshot:
        """The text as it is now, to be read from another thread (see DocumentSnapshot)."""
        return DocumentSnapshot(self, self.newline, self._starts, self.version, self.first_version,
                                tuple(self._changes))

    def rows_at(self, version: int, first: int, last: int) -> list[str]:
        """Rows first..last as they are at `version`, from any thread; SnapshotOutdated when the
        document is no longer at `version`. A seqlock: the slice is one C call under the GIL, and
        a change begun or made meanwhile moves `_seq`."""
        seq = self._seq
        if seq % 2 or self.version != version:
            raise SnapshotOutdated(version)
        rows = self._lines[first: last + 1]
        if self._seq != seq:
            raise SnapshotOutdated(version)
        return rows

    def rows_now(self) -> tuple[int, list[str]]:
        """(version, a copy of every row) as one consistent state, from any thread."""
        while True:
            seq = self._seq
            version = self.version
            rows = self._lines[:]
            if seq % 2 == 0 and self._seq == seq:
                return version, rows
            time.sleep(0.001)  # a change is being made on the UI thread: let it finish


def _joins_back(text: str, newline: str) -> bool:
    """`text` is exactly its rows joined by `newline`: no other line break that splitlines() knows
    (the editor's text always has plain newlines; anything else is simply joined when asked)."""
    return newline == "\n" and not any(ch in text for ch in "\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029")


class IndexedDocument(_LineIndex, Document):
    """Textual's plain-text Document with a row-start table (see the module docstring)."""

    def __init__(self, text: str, version: int = 0) -> None:
        super().__init__(text)
        self._start_index(text, version)


class IndexedSyntaxDocument(_LineIndex, SyntaxAwareDocument):
    """Textual's syntax-highlighted document with the same table."""

    def __init__(self, text: str, language: object, version: int = 0) -> None:
        super().__init__(text, language)  # type: ignore[arg-type]
        self._start_index(text, version)


IndexedDocuments = (IndexedDocument, IndexedSyntaxDocument)


# -- wrapping ---------------------------------------------------------------------------------


@lru_cache(maxsize=8)
def _row_pattern(width: int) -> re.Pattern[str]:
    """One screen row of a plain line: as many whole words (each with the blanks after it) as fit
    in `width` cells, or, when not even the first fits, exactly `width` characters of it."""
    return re.compile(r".{1,%d}(?:(?<=\s)(?=\S)|$)|.{%d}" % (width, width))


def _textual_breaks(line: str, width: int, tab_width: int) -> list[int]:
    """Textual's own wrap of one line (used for rows that are not plain)."""
    return WrappedDocument(Document(line), width, tab_width).get_offsets(0)


class _ScreenRows:
    """Screen row y -> (document row, section of that row): what TextArea's renderer reads from
    a wrapped document (`_offset_to_line_info[y]`), answered by binary search."""

    def __init__(self, wrapped: IndexedWrappedDocument) -> None:
        self._wrapped = wrapped

    def __len__(self) -> int:
        return self._wrapped.height

    def __getitem__(self, y: int) -> tuple[int, int]:
        first = self._wrapped._first_rows()
        height = int(first[-1])
        if y < 0:
            y += height
        if not 0 <= y < height:
            raise IndexError(y)
        row = int(np.searchsorted(first, y, side="right")) - 1
        return row, y - int(first[row])


class IndexedWrappedDocument(WrappedDocument):
    """Textual's WrappedDocument answered from per-row section counts and their running total."""

    document: IndexedDocument  # type: ignore[assignment]

    def wrap(self, width: int, tab_width: int | None = None) -> None:
        self._width = width
        if tab_width:
            self._tab_width = tab_width
        rows = self.document.line_count
        self._breaks: list[list[int] | None] = [None] * rows  # None: the row is one section
        self._sections = np.ones(rows, dtype=np.int64)
        if width:
            document = self.document
            lengths = np.diff(document._starts) - len(document.newline)
            todo = np.flatnonzero((lengths > width) | ~document._plain_rows).tolist()
            breaks, sections = self._wrap_rows(todo)
            for row, row_breaks in zip(todo, breaks):
                self._breaks[row] = row_breaks
            self._sections[todo] = sections
        self._first: np.ndarray | None = None
        self._offset_to_line_info = _ScreenRows(self)  # type: ignore[assignment]

    def _wrap_rows(self, rows: list[int]) -> tuple[list[list[int] | None], np.ndarray]:
        """Where document `rows` break (None: they fit) and how many screen rows each takes."""
        lines = self.document.lines
        plain = self.document._plain_rows
        width, tab_width = self._width, self._tab_width
        pattern = _row_pattern(width)
        out: list[list[int] | None] = [None] * len(rows)
        sections = np.ones(len(rows), dtype=np.int64)
        for i, row in enumerate(rows):
            line = lines[row]
            if plain[row]:
                breaks = [m.start() for m in pattern.finditer(line)][1:] if len(line) > width else []
            else:
                breaks = _textual_breaks(line, width, tab_width)
            if breaks:
                out[i] = breaks
                sections[i] = len(breaks) + 1
        return out, sections

    def _first_rows(self) -> np.ndarray:
        """first[r]: the screen row where document row r starts; first[-1]: the height."""
        if self._first is None:
            first = np.zeros(len(self._sections) + 1, dtype=np.int64)
            np.cumsum(self._sections, out=first[1:])
            self._first = first
        return self._first

    @property
    def height(self) -> int:
        return int(self._first_rows()[-1])

    @property
    def wrapped(self) -> bool:
        return self.height == len(self._sections)  # as Textual 8.2.8 answers it

    @property
    def lines(self) -> list[list[str]]:
        return [self.get_sections(row) for row in range(len(self._sections))]

    def wrap_range(self, start: Location, old_end: Location, new_end: Location) -> None:
        rows_before = len(self._sections)
        rows_after = self.document.line_count
        added = rows_after - rows_before
        top = max(0, min(start[0], rows_before - 1, rows_after - 1))
        old_bottom = min(max(old_end[0], top), rows_before - 1)
        new_bottom = max(old_bottom + added, min(new_end[0], rows_after - 1))
        old_bottom = new_bottom - added
        count = new_bottom - top + 1
        old_sections = self._sections[top: old_bottom + 1]
        if self._width:
            breaks, sections = self._wrap_rows(list(range(top, new_bottom + 1)))
        else:
            breaks, sections = [None] * count, np.ones(count, dtype=np.int64)
        self._breaks[top: old_bottom + 1] = breaks
        if added == 0:
            if not np.array_equal(old_sections, sections):
                self._sections = self._sections.copy()
                self._sections[top: new_bottom + 1] = sections
                self._first = None
        else:
            self._sections = np.concatenate((self._sections[:top], sections, self._sections[old_bottom + 1:]))
            self._first = None

    # -- questions ------------------------------------------------------------------------------

    def get_offsets(self, line_index: int) -> list[int]:
        if not 0 <= line_index < len(self._sections):
            raise ValueError(f"The document line index {line_index!r} is out of bounds. "
                             f"The document contains {len(self._sections)!r} lines.")
        breaks = self._breaks[line_index]
        return list(breaks) if breaks else []

    def get_sections(self, line_index: int) -> list[str]:
        line = self.document[line_index]
        bounds = [0, *self.get_offsets(line_index), len(line)]
        return [line[a:b] for a, b in zip(bounds, bounds[1:])]

    def get_tab_widths(self, line_index: int) -> list[int]:
        if self.document.is_plain(line_index):  # no tab: one section of width 0, as Textual's
            return [0] if self.document[line_index] else []
        return [width for _, width in get_tab_widths(self.document[line_index], self._tab_width)]

    def offset_to_location(self, offset: Offset) -> Location:
        x, y = max(0, offset[0]), max(0, offset[1])
        if not self._width:
            row = min(y, len(self._sections) - 1)
            return row, self.get_target_document_column(row, x, 0)
        screen_rows = self._offset_to_line_info
        try:
            row, section = screen_rows[y]
        except IndexError:
            row, section = screen_rows[-1]
        return row, self.get_target_document_column(row, x, section)

    def location_to_offset(self, location: Location) -> Offset:
        row, column = location
        row = max(0, min(row, len(self._sections) - 1))
        breaks = self.get_offsets(row)
        section = bisect_right(breaks, column)
        section_start = breaks[section - 1] if section else 0
        text = self.get_sections(row)[section]
        x = cell_len(expand_tabs_inline(text[: column - section_start], self._tab_width))
        return Offset(x, int(self._first_rows()[row]) + section)


# -- snapshots ----------------------------------------------------------------------------------


class SnapshotOutdated(Exception):
    """The document changed after the snapshot was taken: the text it stood for is gone."""


@dataclass(frozen=True, eq=False)
class DocumentSnapshot:
    """The document's text at `version`, as the engine reads it (tuiwriter.predict.doc_text's
    TextSnapshot): len(), slices, and how much of it is unchanged since an earlier version.
    Slicing raises SnapshotOutdated once the document has changed (never another version's text)."""

    document: _LineIndex
    newline: str
    starts: np.ndarray  # starts[r]: offset of row r; starts[-1]: length + len(newline)
    version: int
    first_version: int
    changes: tuple[tuple[int, int], ...]  # (version reached, offset where that change began)

    def __len__(self) -> int:
        return int(self.starts[-1]) - len(self.newline)

    def __getitem__(self, index: slice) -> str:
        if not isinstance(index, slice):
            raise TypeError("a document snapshot is read in slices")
        start, stop, step = index.indices(len(self))
        if step != 1:
            raise ValueError("document snapshot slices have no step")
        if start >= stop:
            self.document.rows_at(self.version, 0, -1)  # outdated or not, whatever the slice
            return ""
        first = int(np.searchsorted(self.starts, start, side="right")) - 1
        last = int(np.searchsorted(self.starts, stop, side="right")) - 1
        base = int(self.starts[first])
        rows = self.document.rows_at(self.version, first, last)
        if first == last:
            return rows[0][start - base: stop - base]
        return self.newline.join(rows)[start - base: stop - base]

    def __str__(self) -> str:
        return self[0: len(self)]

    def unchanged_before(self, version: int) -> int:
        """An offset before which this text equals the text at `version` (0 when not known)."""
        if version == self.version:
            return len(self)
        if not self.first_version <= version < self.version:
            return 0
        changes = self.changes
        if not changes or changes[0][0] > version + 1:
            return 0  # the log no longer reaches back to `version`
        return min((offset for v, offset in changes if v > version), default=len(self))
