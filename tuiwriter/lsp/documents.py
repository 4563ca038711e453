"""Open documents as the server sees them: pygls keeps the text (incremental sync), this keeps
each document's engine, and turns a request's position into the text before the cursor.

A document whose name matches config.toml's `suggestions_off` (`*.env`, `*.csv`, ...: see
settings.py) gets no items, as it gets no ghost text in the editor.

A position is trusted only when it lies in the document: a line past the end or a column past
the end of its line gets no suggestion (pygls would clamp it to somewhere else in the text, and
a ghost for a place the person is not at is worse than none).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable
from urllib.parse import unquote, urlparse

if TYPE_CHECKING:
    from lsprotocol.types import Position
    from pygls.workspace import TextDocument

    from tuiwriter.lsp.model import SharedModel
    from tuiwriter.predict.engine import Engine

INVOKED_SAMPLES = 4  # asked for by a key: the first suggestion and three resamples to cycle through


@dataclass(eq=False)
class OpenDocument:
    """One document between didOpen and didClose. `engine` and `prepared` belong to the
    inference thread; the rest to the event loop."""

    uri: str
    text: TextDocument  # pygls's: source and version, changed in place by didChange
    closed: bool = False
    off: str | None = None  # the suggestions_off pattern its name matches: no items, no reading ahead
    _engine: Engine | None = field(default=None, repr=False)
    _model: SharedModel | None = field(default=None, repr=False)
    prepared: bool = False  # the engine has read the whole document once

    def read_through(self, model: SharedModel) -> bool:
        """This document's engine for `model` has read all of it once (read on any thread: a
        stale answer only costs a read-ahead job that finds nothing to do)."""
        return self._model is model and self.prepared

    def engine(self, model: SharedModel) -> Engine:
        """This document's engine for `model` (a new one, with an empty cache, after a switch)."""
        if self._engine is None or self._model is not model:
            self._engine, self._model, self.prepared = model.engine_for_document(), model, False
        return self._engine


def uri_path(uri: str) -> str:
    """The path part of a document's URI, for matching file patterns (`file:///a/b%20c.env` ->
    `/a/b c.env`; `untitled:Untitled-1` -> `Untitled-1`)."""
    return unquote(urlparse(uri).path)


def offset_at(document: TextDocument, position: Position) -> int | None:
    """The index into `document.source` of a client position (in the negotiated units), or
    None when the position is not in the document."""
    lines = document.lines
    if position.line >= len(lines):
        # Only the start of the (empty) line after a final line break, or of an empty document.
        ends_open = not lines or lines[-1].endswith(("\n", "\r"))
        if position.line == len(lines) and position.character == 0 and ends_open:
            return len(document.source)
        return None
    content = lines[position.line].rstrip("\r\n")
    if position.character > document.position_codec.client_num_units(content):
        return None
    column = document.position_codec.position_from_client_units(lines, position).character
    return sum(map(len, lines[: position.line])) + column


def suggestion_allowed(text: str, offset: int) -> bool:
    """The editor's rule: ghost text only where the rest of the line is blank (inside a line
    it would push the person's own text aside)."""
    end = text.find("\n", offset)
    return not text[offset: end if end >= 0 else len(text)].strip()


def suggestions(engine: Engine, text: str, offset: int, samples: int, cancelled: Callable[[], bool]) -> list[str]:
    """The first suggestion and resamples 1..samples-1, each the text Tab inserts in the editor
    (it may end with a line break), without blanks and repeats; [] if cancelled meanwhile."""
    found: list[str] = []
    for sample in range(samples):
        suggestion = "".join(engine.suggest(text, offset, sample=sample, cancelled=cancelled))
        if cancelled():
            return []
        if suggestion and suggestion not in found:
            found.append(suggestion)
    return found
