"""The editing pane: Textual's TextArea with the model's continuation as dim ghost text.

TextArea (Textual 8.2.8) draws its `suggestion` reactive at the cursor, but leaves three traps:
Right arrow inserts it, it cannot show a newline, and moving the cursor or undoing keeps it, so
it lands in the wrong place. Here the suggestion is only ever the visible slice of a *ghost* that
belongs to one cursor position: any cursor, selection or edit change the ghost did not predict
clears it and asks for a new one, and only what fits on the cursor's row is shown (and accepted).
A ghost that ends its line shows the line end as NEWLINE_GLYPH; Tab inserts a real newline.

Suggestions come from `Engine.suggest` in one exclusive thread worker. A generation counter ties
every streamed character to the request that asked for it, so a stale character is dropped, never
shown; a lock keeps the (not thread-safe) engine to one call at a time even while a cancelled
worker is still winding down. The UI thread never waits for the model. The worker reads a
`DocumentSnapshot` (taken in O(1): the text at one version and where it changed since the engine
last read), never the joined text: a key costs the same in a 10 MB document as in a note. A
snapshot whose document has changed since refuses to be read (SnapshotOutdated); its request is
stale by then and simply ends.

Big documents. TextArea (Textual 8.2.8) joins the whole text for every row it draws and keeps
wrapping and locations in per-row Python loops; `big_document` answers the same questions from
tables kept edit by edit. Textual builds its documents in the private `TextArea._set_document`:
the one private method overridden here (guarded by tests/test_big_editor.py, which fails loudly
if Textual changes it). Syntax highlighting re-parses and re-queries the whole tree on every edit
in Textual, so documents over `HIGHLIGHT_MAX_CHARS` are shown as plain text.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from rich.cells import cell_len
from textual.actions import SkipAction
from textual.binding import Binding
from textual.message import Message
from textual.strip import Strip
from textual.widgets import TextArea
from textual.widgets.text_area import (
    DocumentNavigator,
    Edit,
    EditResult,
    Location,
    Selection,
    SyntaxAwareDocument,
)
from textual.worker import Worker, get_current_worker

from tuiwriter.tui.widgets.big_document import (
    DocumentSnapshot,
    IndexedDocument,
    IndexedDocuments,
    IndexedSyntaxDocument,
    IndexedWrappedDocument,
    SnapshotOutdated,
)

if TYPE_CHECKING:
    from tuiwriter.predict.engine import Engine

NEWLINE_GLYPH = "⏎"
"""How a suggestion that ends the line shows its line end (TextArea's suggestion is one row)."""

THINKING_AFTER_S = 0.25
"""Say "thinking" only when a suggestion takes longer than this, so fast typing does not make
the status bar flicker on every key."""

HIGHLIGHT_MAX_CHARS = 64_000
"""Largest document shown with syntax highlighting. Textual re-parses the whole document and
re-queries the whole syntax tree on every edit: measured (tests/bench_big_document.py) a Markdown
key costs 26 ms at 64 KB and 76 ms at 256 KB against 10 ms plain, and it grows with the size."""

BRACKET_SCAN_CHARS = 10_000
"""How far the matching bracket is looked for (TextArea's own search runs to the document end)."""

_OPENING = {"(": ")", "[": "]", "{": "}"}
_CLOSING = {close: open_ for open_, close in _OPENING.items()}


class GhostEditor(TextArea):
    """A TextArea whose ghost text is the model's continuation at the cursor."""

    BINDINGS = [
        Binding("tab", "accept", "Accept", id="accept", priority=True,
                tooltip="Accept the whole suggestion (indents when there is none)"),
        Binding("ctrl+right", "accept_word", "Word", id="accept_word", priority=True,
                tooltip="Accept the suggestion's next word"),
        # alt+right: TextArea binds no alt+arrow, and the app's alt+up/down are its other
        # suggestion keys; the smallest step next to ctrl+right's word (ctrl+l, the usual free
        # alternative, is "redraw" to terminal users, and shift+right selects).
        Binding("alt+right", "accept_char", "Char", id="accept_char", show=False,
                tooltip="Accept one character of the suggestion"),
        Binding("escape", "dismiss", "Dismiss", id="dismiss", priority=True,
                tooltip="Dismiss the suggestion"),
        Binding("ctrl+n", "resample", "Resample", id="resample",
                tooltip="Draw another suggestion at the current temperature"),
        Binding("ctrl+b", "previous_sample", "Previous", id="previous_sample", show=False,
                tooltip="Go back to the previous suggestion (the same text again)"),
        Binding("ctrl+home", "document_start", "Start", show=False),
        Binding("ctrl+end", "document_end", "End", show=False),
    ]

    class StateChanged(Message):
        """The suggestion state changed: on, off, thinking, none, loading, no model."""

        def __init__(self, state: str) -> None:
            super().__init__()
            self.state = state

    class CycleChanged(Message):
        """Cycling samples: the `k`-th of the `n` drawn at this position (n=1: not cycling)."""

        def __init__(self, k: int, n: int) -> None:
            super().__init__()
            self.k = k
            self.n = n

    class Chunk(Message, bubble=False):
        """Characters streamed by the worker for request `generation` (`done`: no more)."""

        def __init__(self, generation: int, text: str, done: bool, error: str | None = None) -> None:
            super().__init__()
            self.generation = generation
            self.text = text
            self.done = done
            self.error = error

    class Refined(Message, bubble=False):
        """The ghost for request `generation` as a beam chose it (`Engine.refine`; None: the one
        shown stands): it replaces the streamed one if the person has not typed into it yet."""

        def __init__(self, generation: int, ticket: int, text: str | None) -> None:
            super().__init__()
            self.generation = generation
            self.ticket = ticket  # which idle moment asked (a later one supersedes it)
            self.text = text

    _in_edit = False  # TextArea's constructor moves the cursor before __init__ below finishes
    _rendering = False
    document: IndexedDocument | IndexedSyntaxDocument  # type: ignore[assignment]
    wrapped_document: IndexedWrappedDocument  # type: ignore[assignment]

    def __init__(self, text: str = "", **kwargs: Any) -> None:
        kwargs.setdefault("soft_wrap", True)
        kwargs.setdefault("tab_behavior", "indent")
        kwargs.setdefault("show_line_numbers", False)
        # TextArea's constructor wraps the text it is given with Textual's own classes, a loop
        # over every row (seconds at 10 MB): give it nothing, then load the text here.
        super().__init__("", **kwargs)
        if text:
            self._set_document(text, self.language)
        self.engine: Engine | None = None
        self.enabled = True
        self.off_here: str | None = None  # the config pattern that turns this file's suggestions off
        self.loading_model = True
        self.temperature = 0.0
        self.max_chars = 40
        self._lock = threading.Lock()
        self._generation = 0
        self._ghost = ""  # what Tab accepts: the visible part of the rest of the stream
        self._stream = ""  # characters streamed for the current generation
        self._consumed = 0  # how many of them the person has typed or accepted since
        self._done = True
        self._refining = False  # an idle worker may yet swap the ghost (`Refined`)
        self._refine_ticket = 0
        self._sample = 0
        self._drawn = 1  # samples drawn at this position so far (the first, and each resample)
        self._cycle = (1, 1)  # (k, n) last told to the app
        self._in_edit = False
        self._kick_pending = False
        self._state = ""
        self._prepared: tuple[object, int, int] | None = None  # (engine, version, cursor) prepared

    # ----- what the rest of the app uses -------------------------------------------------
    @property
    def ghost(self) -> str:
        """The part of the suggestion the person can see (and Tab would accept); a line end
        in it is drawn as NEWLINE_GLYPH."""
        return self._ghost

    @property
    def busy(self) -> bool:
        """A suggestion is being asked for, still streaming, or may yet be swapped (`Refined`)."""
        return self._kick_pending or not self._done or self._refining

    @property
    def state(self) -> str:
        return self._state

    @property
    def sample(self) -> int:
        return self._sample

    @property
    def cycle(self) -> tuple[int, int]:
        """(k, n): the sample shown is the k-th of the n drawn at this position (1-based)."""
        return self._sample + 1, self._drawn

    @property
    def cursor_offset(self) -> int:
        """The cursor as an offset into the text (O(1): the document keeps a row-start table)."""
        return self.document.get_index_from_location(self.cursor_location)

    def snapshot(self) -> DocumentSnapshot:
        """The text now, for reading in another thread (O(1); see DocumentSnapshot)."""
        return self.document.snapshot()

    # ----- big documents ------------------------------------------------------------------
    def _set_document(self, text: str, language: str | None) -> None:
        """Put `text` in our indexed documents (the private TextArea method every load, language
        change and construction goes through; see the module docstring and the guarding test).

        Textual's own version is run on an empty text, so it picks the kind of document and the
        highlight query for `language`; then the documents are replaced by ours, of the same kind,
        and the steps it takes after building them (highlights, cursor, wrapping) are repeated.
        """
        previous = getattr(self, "document", None)
        version = previous.version + 1 if isinstance(previous, IndexedDocuments) else 0
        if len(text) > HIGHLIGHT_MAX_CHARS:
            language = None
            if type(previous) is IndexedDocument and text is previous._text:
                # A language set on a document too big to highlight: the same plain document
                # again, so keep it (at 10 MB a rebuild is 0.3 s, and the app sets the language
                # right after opening a file).
                self.move_cursor((0, 0))
                return
        super()._set_document("", language)
        kind = self.document
        if isinstance(kind, SyntaxAwareDocument):
            self.document = IndexedSyntaxDocument(text, kind.language, version=version)
        else:
            self.document = IndexedDocument(text, version=version)
        self.wrapped_document = IndexedWrappedDocument(self.document, tab_width=self.indent_width)
        self.navigator = DocumentNavigator(self.wrapped_document)
        self._build_highlight_map()
        self.move_cursor((0, 0))
        self._rewrap_and_refresh_virtual_size()

    @property  # type: ignore[override]
    def text(self) -> str:
        """The whole text. While a row is drawn TextArea reads it only to know whether the
        document is empty (for its placeholder); then the answer is a stand-in with the same
        truth value, not the join of the whole document per drawn row."""
        if self._rendering and self.document._text is None:
            return "" if self.document.length == 0 else "\n"
        return self.document.text

    @text.setter
    def text(self, value: str) -> None:
        self.load_text(value)

    def render_line(self, y: int) -> Strip:
        self._rendering = True
        try:
            return super().render_line(y)
        finally:
            self._rendering = False

    def find_matching_bracket(self, bracket: str, search_from: Location) -> Location | None:
        """The bracket that pairs with `bracket` at `search_from`, looked for within
        BRACKET_SCAN_CHARS (TextArea's own search walks to the document's end, character by
        character, on every cursor move onto an unmatched bracket)."""
        forward = bracket in _OPENING
        if not forward and bracket not in _CLOSING:
            return None
        document = self.document
        here = document.get_index_from_location(search_from)
        if forward:
            start, stop = here, min(document.length, here + BRACKET_SCAN_CHARS)
        else:
            start, stop = max(0, here + 1 - BRACKET_SCAN_CHARS), here + 1
        window = document.get_text_range(document.get_location_from_index(start),
                                         document.get_location_from_index(stop))
        same, other = (_OPENING, _CLOSING) if forward else (_CLOSING, _OPENING)
        positions = range(len(window)) if forward else range(len(window) - 1, -1, -1)
        pending: list[str] = []
        for i in positions:
            ch = window[i]
            if ch in same:
                pending.append(ch)
            elif ch in other and pending and same[pending[-1]] == ch:
                pending.pop()
                if not pending:
                    return document.get_location_from_index(start + i)
        return None

    def action_document_start(self) -> None:
        """Ctrl+Home: the start of the document."""
        self.move_cursor(self.document.start)

    def action_document_end(self) -> None:
        """Ctrl+End: the end of the document."""
        self.move_cursor(self.document.end)

    def set_engine(self, engine: Engine | None) -> None:
        """Use `engine` from the next suggestion on; the running one is cancelled, not mixed."""
        self.engine = engine
        self.loading_model = False
        self._invalidate()

    def set_enabled(self, enabled: bool) -> None:
        self.enabled = enabled
        self._invalidate()

    def set_off_here(self, pattern: str | None) -> None:
        """No suggestions in this file (`pattern` from config.toml's suggestions_off), or again."""
        self.off_here = pattern
        self._invalidate()

    @property
    def suggesting(self) -> bool:
        """Suggestions are on here: switched on, and not off for this file."""
        return self.enabled and not self.off_here

    def set_temperature(self, temperature: float) -> None:
        self.temperature = temperature
        self._invalidate(keep_sample=True)

    def refresh_suggestion(self) -> None:
        """Drop the ghost and ask again at the cursor."""
        self._invalidate(keep_sample=True)

    # ----- keys ---------------------------------------------------------------------------
    def action_accept(self) -> None:
        """Tab: take the visible suggestion; with none Tab indents, with a selection it
        indents the selected lines (TextArea's own Tab would replace the selection)."""
        if not self.selection.is_empty:
            self._indent_selected_lines()
            return
        if not self.ghost:
            raise SkipAction()
        self.insert(self.ghost)

    def _indent_selected_lines(self) -> None:
        """One edit (one undo step) that indents every line the selection touches."""
        start, end = sorted(self.selection)
        first, last = start[0], end[0]
        if end[1] == 0 and last > first:
            last -= 1  # a selection that ends at a line start leaves that line alone
        indent = "\t" if self.indent_type == "tabs" else " " * self.indent_width
        lines = [self.document.get_line(row) for row in range(first, last + 1)]
        indented = [indent + line if line.strip() else line for line in lines]
        self.replace("\n".join(indented), (first, 0), (last, len(lines[-1])), maintain_selection_offset=False)
        self.selection = Selection((first, 0), (last, len(indented[-1])))

    def action_accept_word(self) -> None:
        """Ctrl+Right: take the suggestion's leading spaces and next word; else move a word."""
        if not self.ghost or not self.selection.is_empty:
            self.action_cursor_word_right()
            return
        from tuiwriter.predict.policy import next_word

        word = next_word(self.ghost)
        if word:
            self.insert(word)

    def action_accept_char(self) -> None:
        """Alt+Right: take one character of the suggestion; with none, move right a character."""
        if not self.ghost or not self.selection.is_empty:
            self.action_cursor_right()
            return
        self.insert(self.ghost[0])  # typed through the ghost: the rest stays shown

    def action_dismiss(self) -> None:
        """Esc: hide the ghost until the text or cursor changes; or drop a selection."""
        if self.ghost or not self._done:
            self._drop()
        elif not self.selection.is_empty:
            self.selection = Selection.cursor(self.selection.end)

    def action_resample(self) -> None:
        """Ctrl+N: draw another suggestion at the current temperature (the next one drawn here,
        or, after going back, the next of those already drawn)."""
        self._sample += 1
        self._drawn = max(self._drawn, self._sample + 1)
        self._invalidate(keep_sample=True)

    def action_previous_sample(self) -> None:
        """Ctrl+B: go back to the previous sample (the engine redraws it exactly)."""
        if self._sample == 0:
            raise SkipAction()
        self._sample -= 1
        self._invalidate(keep_sample=True)

    def action_cursor_right(self, select: bool = False) -> None:
        """Right moves the cursor, never inserts the suggestion (TextArea's default does)."""
        self._drop()
        super().action_cursor_right(select)

    # ----- edits and cursor moves ---------------------------------------------------------
    def edit(self, edit: Edit) -> EditResult:
        """Every change to the text passes here: typing what the ghost shows consumes it."""
        typed = None
        if edit.from_location == edit.to_location == self.cursor_location and self.selection.is_empty:
            typed = edit.text
        self._in_edit = True
        try:
            result = super().edit(edit)
        finally:
            self._in_edit = False
        if typed and self._consume(typed):
            return result
        self._invalidate()
        return result

    def update_suggestion(self) -> None:
        """TextArea's hook after edits, undo, redo and loads; `edit` handles its own case."""
        if self.is_mounted and not self._in_edit:
            self._invalidate()

    def watch_selection(self, previous: Selection, selection: Selection) -> None:
        if not self.is_mounted or self._in_edit or previous == selection:
            return
        self._invalidate()

    def on_resize(self) -> None:
        self._show()

    def on_focus(self) -> None:
        self._show()

    # ----- the ghost ----------------------------------------------------------------------
    def idle_state(self) -> str:
        """The state to show when no suggestion is on its way."""
        if not self.enabled:
            return "off"
        if self.off_here:
            return "off here"
        if self.engine is None:
            return "loading" if self.loading_model else "no model"
        return "on"

    def _set_state(self, state: str) -> None:
        if state != self._state:
            self._state = state
            self.post_message(self.StateChanged(state))

    def _clear_ghost(self) -> None:
        self._stream = ""
        self._consumed = 0
        self._done = True
        self._refining = False
        self._ghost = ""
        if self.suggestion:
            self.suggestion = ""

    def _drop(self) -> None:
        """Hide the ghost and ignore whatever the running request still streams."""
        self._generation += 1
        self._clear_ghost()
        self._set_state(self.idle_state())

    def _invalidate(self, keep_sample: bool = False) -> None:
        """The ghost no longer fits the text or cursor: drop it and ask for a new one."""
        self._generation += 1
        self._clear_ghost()
        if not keep_sample:
            self._sample = 0
            self._drawn = 1
        if self.cycle != self._cycle:
            self._cycle = self.cycle
            self.post_message(self.CycleChanged(*self._cycle))
        if not self._kick_pending:
            self._kick_pending = True
            self.call_next(self._kick)

    def _consume(self, typed: str) -> bool:
        """The person typed `typed` at the cursor: True if it matched the ghost, now trimmed."""
        rest = self._stream[self._consumed:]
        if not rest:
            return False
        from tuiwriter.predict.policy import consume

        left = consume(rest, typed)
        if left is None:
            return False
        self._consumed += len(typed)
        if not left and self._done:
            return False  # used up: the caller asks for the next suggestion
        self._show()
        return True

    def _wants_suggestion(self) -> bool:
        if not (self.suggesting and self.engine is not None and self.selection.is_empty):
            return False
        row, col = self.cursor_location
        return not self.document.get_line(row)[col:].strip()

    def _kick(self) -> None:
        """Start a worker for the current generation (coalesces bursts of changes)."""
        self._kick_pending = False
        if not self._wants_suggestion():
            self._set_state(self.idle_state())
            self._prepare_when_idle()
            return
        engine = self.engine
        assert engine is not None
        generation = self._generation
        text = self.snapshot()
        cursor = self.cursor_offset
        self._done = False
        self.set_timer(THINKING_AFTER_S, lambda: self._maybe_thinking(generation))
        self.run_worker(
            lambda: self._compute(engine, generation, text, cursor, self._sample,
                                  self.temperature, self.max_chars),
            name="suggest", group="suggest", thread=True, exclusive=True, exit_on_error=False,
        )

    def _maybe_thinking(self, generation: int) -> None:
        if generation == self._generation and not self._done and not self._stream:
            self._set_state("thinking")

    def _compute(self, engine: Engine, generation: int, text: DocumentSnapshot, cursor: int, sample: int,
                 temperature: float, max_chars: int) -> None:
        """Worker thread: stream the engine's characters back, tagged with `generation`."""
        worker: Worker[Any] = get_current_worker()

        def cancelled() -> bool:
            return worker.is_cancelled or self._generation != generation

        error = None
        with self._lock:
            if cancelled():
                return
            try:
                engine.config.temperature = temperature
                engine.config.max_chars = max_chars
                for ch in engine.suggest(text, cursor, sample=sample, cancelled=cancelled):
                    if cancelled():
                        return
                    self.post_message(self.Chunk(generation, ch, done=False))
            except SnapshotOutdated:
                return  # the text changed meanwhile: a newer request is on its way
            except Exception as exc:  # noqa: BLE001 - a model failure must not end the editor
                error = f"{type(exc).__name__}: {exc}".splitlines()[0]
        if not cancelled():
            self.post_message(self.Chunk(generation, "", done=True, error=error))

    def on_ghost_editor_chunk(self, message: Chunk) -> None:
        if message.generation != self._generation:
            return  # stale: the text or cursor changed since it was asked for
        if message.error:
            self.enabled = False
            self.notify(f"suggestions turned off: {message.error}", severity="error")
        self._stream += message.text
        if message.done:
            self._done = True
        if message.done and not self._stream[self._consumed:]:
            if self._consumed:
                self._invalidate()  # typed through a finished ghost: ask for the next one
                return
            self._set_state("none" if self.suggesting else self.idle_state())
            self._prepare_when_idle()
            return
        self._show()
        if message.done:
            self._prepare_when_idle()

    def on_ghost_editor_refined(self, message: Refined) -> None:
        if message.generation != self._generation or message.ticket != self._refine_ticket:
            return  # stale: the text or cursor changed since, or a later idle moment asked again
        self._refining = False
        if message.text is None or self._consumed or not self._done:
            return  # the ghost stands, or the person has begun typing along it
        self._stream = message.text  # never empty: `Engine.refine` offers a beam's ghost or None
        self._show()

    def _prepare_when_idle(self) -> None:
        """Let the engine read up to the cursor while nothing is asked of it, so typing on from
        here costs one model step a key; first, if a first suggestion was just shown whole, ask the
        engine whether a beam would choose another (`Engine.refine`) and swap it in. The next
        request cancels it; what was read is kept."""
        engine = self.engine
        if engine is None or self.document.length == 0:
            return
        text = self.snapshot()
        cursor = self.cursor_offset
        done = (engine, text.version, cursor)
        generation = self._generation
        refinable = self._done and not self._consumed and self._sample == 0 and self._wants_suggestion()
        shown = self._stream
        self._refining = refinable
        self._refine_ticket += 1
        ticket = self._refine_ticket
        if self._prepared == done and not refinable:
            return

        def refine(worker: Worker[Any]) -> None:
            better = None
            try:
                if not worker.is_cancelled:
                    better = engine.refine(text, cursor, shown,
                                           cancelled=lambda: worker.is_cancelled or self._generation != generation)
            finally:  # whatever happens, the ghost is no longer waiting on it
                self.post_message(self.Refined(generation, ticket, better))

        def run() -> None:
            worker: Worker[Any] = get_current_worker()
            with self._lock:
                try:
                    if refinable:
                        refine(worker)
                    if worker.is_cancelled or self._prepared == done:
                        return
                    engine.prepare(text, cursor, cancelled=lambda: worker.is_cancelled)
                except SnapshotOutdated:
                    return  # edited meanwhile: the next idle moment prepares again
                if not worker.is_cancelled:
                    self._prepared = done

        self.run_worker(run, name="prepare", group="suggest", thread=True, exclusive=True,
                        exit_on_error=False)

    def _show(self) -> None:
        """Put the visible slice of the ghost into TextArea's `suggestion`."""
        rest = self._stream[self._consumed:]
        line, newline, _ = rest.partition("\n")
        visible = self._fit(line + (NEWLINE_GLYPH if newline else "")) if rest else ""
        ends_line = bool(newline) and len(visible) == len(line) + 1
        self._ghost = line + "\n" if ends_line else visible
        if visible != self.suggestion:
            self.suggestion = visible
        if rest:
            self._set_state("on")

    def _fit(self, ghost: str) -> str:
        """As much of `ghost` as fits between the cursor and the right edge of its row."""
        if not ghost or not self.is_mounted:
            return ghost
        x = self.wrapped_document.location_to_offset(self.cursor_location).x
        room = self.scrollable_content_region.width - self.gutter_width - x - 1
        if room <= 0:
            return ""
        out = []
        used = 0
        for ch in ghost:
            width = self.indent_width if ch == "\t" else cell_len(ch)
            if used + width > room:
                break
            out.append(ch)
            used += width
        return "".join(out)
