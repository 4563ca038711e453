"""The editor on big documents: it opens 16 MB, draws exactly what Textual's TextArea draws,
feeds the engine snapshots that give the same ghost as the whole text would, and relies on
Textual's private API only where this file checks it (so an upgrade that changes it fails here,
loudly, instead of slowing or breaking the editor)."""

from __future__ import annotations

import copy
import inspect

import pytest
from conftest import SENTENCES, tiny_text
from editor_helpers import make_app, model_ready, settled, type_text
from textual import events
from textual.app import App, ComposeResult
from textual.widgets import TextArea
from textual.widgets.text_area import WrappedDocument

from tuiwriter.predict.engine import Engine
from tuiwriter.text.documents import MAX_BYTES, DocumentError, open_document
from tuiwriter.tui.widgets.big_document import (
    IndexedDocument,
    IndexedSyntaxDocument,
    IndexedWrappedDocument,
)
from tuiwriter.tui.widgets.editor import HIGHLIGHT_MAX_CHARS, GhostEditor

MIXED = ("A line that is long enough to wrap at least once on a narrow screen, and then some more words.\n"
         "\tindented\twith tabs\n"
         "wide 中文字符 and emoji 😀 in the middle of a line that also wraps around the edge\n"
         "averyveryveryverylongwordthatcannotbebrokenanywhereatallandmustbefoldedbythewrapping end\n"
         "(brackets [nested] here) and {more}\n\n") * 6


def test_textual_private_api_the_editor_relies_on():
    """GhostEditor overrides TextArea._set_document and calls two helpers Textual's version
    calls; TextArea's renderer reads WrappedDocument._offset_to_line_info. If an upgrade of
    Textual renames or reshapes these, this test names what moved."""
    assert list(inspect.signature(TextArea._set_document).parameters) == ["self", "text", "language"]
    for helper in ("_build_highlight_map", "_rewrap_and_refresh_virtual_size"):
        assert callable(getattr(TextArea, helper, None)), f"TextArea.{helper} is gone"
    assert "_offset_to_line_info" in inspect.getsource(TextArea._render_line), \
        "TextArea no longer reads WrappedDocument._offset_to_line_info: check IndexedWrappedDocument"
    assert "_offset_to_line_info" in vars(WrappedDocument(IndexedDocument("x")))


class SideBySide(App[None]):
    """The editor and Textual's own TextArea with the same text and size."""

    def __init__(self, text: str, language: str | None = None) -> None:
        super().__init__()
        self.text = text
        self.language = language

    def compose(self) -> ComposeResult:
        yield GhostEditor(self.text, id="ours", language=self.language)
        yield TextArea(self.text, id="theirs", language=self.language, tab_behavior="indent")

    CSS = "TextArea { height: 12; width: 44; }"


def screen_text(area: TextArea) -> list[str]:
    return [area.render_line(y).text for y in range(area.size.height)]


@pytest.mark.parametrize("language", [None, "markdown"])
async def test_the_editor_draws_exactly_what_textarea_draws(language):
    app = SideBySide(MIXED, language)
    async with app.run_test(size=(100, 30)) as pilot:
        ours, theirs = app.query_one("#ours", GhostEditor), app.query_one("#theirs", TextArea)
        assert isinstance(ours.document, IndexedSyntaxDocument if language else IndexedDocument)
        assert isinstance(ours.wrapped_document, IndexedWrappedDocument)

        async def both(*keys: str, start: tuple[int, int] | None = None) -> None:
            for area in (ours, theirs):
                area.focus()
                if start is not None:
                    area.move_cursor(start)
                await pilot.press(*keys)
            await pilot.pause()
            assert ours.text == theirs.text and ours.selection == theirs.selection
            assert ours.scroll_offset == theirs.scroll_offset
            assert ours.virtual_size == theirs.virtual_size
            assert screen_text(ours) == screen_text(theirs)

        await both(start=(0, 0))
        await both("down", "down", "end", "x", "y", "enter", "z")
        await both("pagedown", "pagedown", "down", "right", "right", "backspace", "tab")
        await both("up", "up", "up", "home", "delete", "ctrl+z", "ctrl+z", "ctrl+y")
        for area in (ours, theirs):
            area.soft_wrap = False
        await both("end", "left", "shift+left", "shift+left", "q")
        await both("end", "left", "w", start=(0, 0))  # a long row: scrolled sideways


async def test_language_changes_and_loads_keep_the_editors_documents():
    app = SideBySide("# title\n")
    async with app.run_test(size=(100, 30)) as pilot:
        ours = app.query_one("#ours", GhostEditor)
        first = ours.document.version
        ours.language = "markdown"
        assert isinstance(ours.document, IndexedSyntaxDocument) and ours.is_syntax_aware
        assert ours.document.version > first  # a new document: snapshots know nothing of before
        ours.load_text("x" * (HIGHLIGHT_MAX_CHARS + 1))
        await pilot.pause()
        assert isinstance(ours.document, IndexedDocument) and not ours.is_syntax_aware  # too big to highlight
        big = ours.document
        ours.language = None
        ours.language = "markdown"
        assert ours.document is big  # nothing to rebuild: still the same plain text
        ours.text = "# small again\n"
        assert isinstance(ours.document, IndexedSyntaxDocument)


def test_the_size_limit_is_at_least_16_mb_and_the_refusal_says_it(tmp_path):
    assert MAX_BYTES >= 16_000_000
    big = tmp_path / "big.txt"
    with open(big, "wb") as fh:
        fh.truncate(MAX_BYTES + 1)
    with pytest.raises(DocumentError, match=r"big.txt is 32.0 MB: tuiwriter opens files up to 32.0 MB"):
        open_document(big)


async def test_a_16_mb_document_opens_and_takes_typing_at_both_ends(tmp_path):
    line = " ".join(SENTENCES) + "\n"
    path = tmp_path / "journal.md"
    path.write_text(line * (16_000_000 // len(line) + 1))
    app = make_app(None, path)
    app.load_model_at_start = False
    async with app.run_test(size=(100, 30)) as pilot:
        editor = app.editor
        assert editor.document.length > 16_000_000 and not editor.is_syntax_aware
        assert editor.cursor_location == editor.document.end  # a notes file is continued at its end
        await type_text(pilot, "The end.")
        await pilot.press("ctrl+home")
        await type_text(pilot, "Top. ")
        await pilot.press("ctrl+s")
        await pilot.pause()
    saved = path.read_text()
    assert saved.startswith("Top. " + line) and saved.endswith(line + "The end.")


def visible(suggestion: str) -> str:
    """What the editor shows of a suggestion on a wide screen: up to its line end, kept in it."""
    line, newline, _ = suggestion.partition("\n")
    return line + newline


async def test_the_ghost_from_snapshots_equals_a_fresh_engine_on_the_whole_string(tiny_checkpoint, tmp_path):
    """Typing at the end and the top, deleting, undoing, pasting and jumping: after each, the
    editor's ghost (computed from snapshots, incrementally) is what a fresh engine says for the
    whole text as one string, given what the editor's engine has learnt from the typing (the
    engine's rule: the same adaptation and text give the same suggestion)."""
    path = tmp_path / "notes.md"
    path.write_text(tiny_text(300))
    app = make_app(tiny_checkpoint, path)
    async with app.run_test(size=(120, 30)) as pilot:
        await model_ready(pilot, app)
        editor = app.editor

        async def check(what: str) -> None:
            editor.refresh_suggestion()
            ghost = await settled(pilot, app)
            fresh = Engine.load(str(tiny_checkpoint), copy.copy(app.engine.config))
            fresh.adopt(app.engine.adaptation)
            expected = "".join(fresh.suggest(editor.text, editor.cursor_offset))
            if editor.document.get_line(editor.cursor_location[0])[editor.cursor_location[1]:].strip():
                expected = ""  # mid-line: the editor asks for nothing
            assert ghost == visible(expected), what

        await type_text(pilot, "The dog ran to the")
        await check("typed at the end")
        await pilot.press("backspace", "backspace", "backspace")
        await check("deleted at the end")
        await pilot.press("ctrl+z")
        await check("undone")
        await pilot.press("ctrl+home")
        await type_text(pilot, "She opened the")
        await check("typed at the top")
        editor.post_message(events.Paste("The cat sat on the mat and the"))
        await pilot.pause()
        await check("pasted")
        editor.move_cursor((150, 0))
        await pilot.press("end")
        await check("jumped to the middle")
        await type_text(pilot, " The quick")
        await check("typed in the middle")
        await pilot.press("ctrl+end", "enter")
        await type_text(pilot, "A writer")
        await check("jumped back to the end")


async def test_bracket_matching_is_bounded_and_still_finds_near_pairs():
    app = SideBySide("(a [b] c)\n" + "(" + "x" * 20_000 + ")\n")
    async with app.run_test(size=(100, 30)):
        ours = app.query_one("#ours", GhostEditor)
        assert ours.find_matching_bracket("(", (0, 0)) == (0, 8)
        assert ours.find_matching_bracket("]", (0, 5)) == (0, 3)
        assert ours.find_matching_bracket("(", (1, 0)) is None  # beyond the scan: not searched
        ours.move_cursor((1, 0))
        assert ours.matching_bracket_location is None
