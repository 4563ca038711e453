"""The ghost text as a person meets it: it appears, Tab, Ctrl+Right and Alt+Right take it (all, a
word, a character), Esc and cursor moves clear it, typing through it consumes it, resampling
changes it (the status bar counts the samples), and it is never stale."""

from __future__ import annotations

import pytest
from editor_helpers import make_app, model_ready, settled, type_text, wait_until
from textual.document._document import Selection

from tuiwriter.predict.policy import next_word
from tuiwriter.settings import Settings
from tuiwriter.tui.widgets.editor import GhostEditor

PROMPT = "The dog ran to the"


async def _ghost_after(pilot, app, text: str = PROMPT) -> str:
    """Type `text`, then the model's whole suggestion there (typing along a ghost only trims
    it, so ask afresh to get a suggestion measured from the end of `text`)."""
    await model_ready(pilot, app)
    await type_text(pilot, text)
    await settled(pilot, app)
    app.editor.refresh_suggestion()
    ghost = await settled(pilot, app)
    assert ghost, f"the tiny model suggested nothing after {text!r}"
    return ghost


async def test_suggestion_appears_and_tab_accepts_it(tiny_checkpoint):
    app = make_app(tiny_checkpoint)
    async with app.run_test(size=(100, 30)) as pilot:
        ghost = await _ghost_after(pilot, app)
        assert app.editor.text == PROMPT  # ghost text is not part of the document
        await pilot.press("tab")
        assert app.editor.text == PROMPT + ghost


async def test_ctrl_right_accepts_exactly_one_word(tiny_checkpoint):
    app = make_app(tiny_checkpoint)
    async with app.run_test(size=(100, 30)) as pilot:
        ghost = await _ghost_after(pilot, app, "The quick brown")
        word = next_word(ghost)
        await pilot.press("ctrl+right")
        assert app.editor.text == "The quick brown" + word
        assert word.strip() and " " not in word.strip()


async def test_alt_right_accepts_one_character_and_keeps_the_rest_shown(tiny_checkpoint):
    app = make_app(tiny_checkpoint)
    async with app.run_test(size=(100, 30)) as pilot:
        ghost = await _ghost_after(pilot, app, "The quick brown")
        assert len(ghost) >= 3
        await pilot.press("alt+right")
        assert app.editor.text == "The quick brown" + ghost[0]
        assert app.editor.ghost == ghost[1:]  # the same suggestion, one character shorter
        await pilot.press("alt+right", "alt+right")
        assert app.editor.text == "The quick brown" + ghost[:3]
        assert app.editor.ghost == ghost[3:]


async def test_alt_right_without_a_suggestion_moves_the_cursor(tiny_checkpoint):
    app = make_app(tiny_checkpoint, settings=Settings(suggestions=False))
    async with app.run_test(size=(100, 30)) as pilot:
        await model_ready(pilot, app)
        app.editor.load_text("abc")
        app.editor.move_cursor((0, 1))
        await pilot.press("alt+right")
        assert app.editor.cursor_location == (0, 2) and app.editor.text == "abc"


async def test_escape_clears_and_nothing_stale_comes_back(tiny_checkpoint):
    app = make_app(tiny_checkpoint)
    async with app.run_test(size=(100, 30)) as pilot:
        await _ghost_after(pilot, app)
        await pilot.press("escape")
        assert app.editor.ghost == ""
        await pilot.pause(0.2)
        assert app.editor.ghost == ""
        assert app.editor.text == PROMPT


async def test_cursor_movement_clears_the_ghost_and_right_does_not_insert_it(tiny_checkpoint):
    app = make_app(tiny_checkpoint)
    async with app.run_test(size=(100, 30)) as pilot:
        ghost = await _ghost_after(pilot, app)
        await pilot.press("left")
        assert app.editor.ghost == ""  # mid-line: no suggestion at all
        await settled(pilot, app)
        assert app.editor.ghost == ""
        await pilot.press("right")
        assert app.editor.text == PROMPT  # TextArea's Right would have inserted a ghost
        assert await settled(pilot, app) == ghost  # back at the end: the same suggestion


async def test_undo_recomputes_instead_of_keeping_the_old_ghost(tiny_checkpoint):
    app = make_app(tiny_checkpoint)
    async with app.run_test(size=(100, 30)) as pilot:
        await _ghost_after(pilot, app, "The cat")
        await type_text(pilot, " sat on")
        assert await settled(pilot, app)
        await pilot.press("ctrl+z")
        assert app.editor.text != "The cat sat on"
        assert app.editor.ghost == ""  # the old ghost belonged to text that is gone
        after_undo = await settled(pilot, app)
        app.editor.refresh_suggestion()
        assert await settled(pilot, app) == after_undo  # what a fresh request gives there


async def test_typing_the_ghost_consumes_it_without_a_new_request(tiny_checkpoint):
    app = make_app(tiny_checkpoint)
    async with app.run_test(size=(100, 30)) as pilot:
        ghost = await _ghost_after(pilot, app, "The quick brown")
        assert len(ghost) >= 2
        await type_text(pilot, ghost[0])
        assert app.editor.ghost == ghost[1:]
        assert not app.editor.busy  # trimmed in place: no recompute, no flicker


async def test_a_ghost_that_ends_the_line_shows_and_inserts_the_line_end(tiny_checkpoint):
    from tests.test_engine import ScriptPredictor
    from tuiwriter.lm import checkpoint
    from tuiwriter.predict.engine import Engine
    from tuiwriter.predict.policy import SuggestConfig
    from tuiwriter.tui.widgets.editor import NEWLINE_GLYPH

    app = make_app(tiny_checkpoint)
    async with app.run_test(size=(100, 30)) as pilot:
        await model_ready(pilot, app)
        ck = checkpoint.load(tiny_checkpoint)
        script = "thee,\nAnd so"  # the model is sure the line ends after "thee,"
        app.editor.set_engine(Engine(ck, SuggestConfig(), predictor=ScriptPredictor(ck.vocab, script, p=0.99)))
        assert await settled(pilot, app) == "thee,\n"
        assert app.editor.suggestion == "thee," + NEWLINE_GLYPH  # the line end is visible
        await pilot.press("tab")
        assert app.editor.text == "thee,\n" and app.editor.cursor_location == (1, 0)
        await pilot.press("ctrl+z")
        await type_text(pilot, "thee,")
        assert await settled(pilot, app) == "\n"
        await pilot.press("enter")  # typing the line end consumes it: no second newline
        assert app.editor.text == "thee,\n"


async def test_typing_something_else_replaces_the_ghost(tiny_checkpoint):
    app = make_app(tiny_checkpoint)
    async with app.run_test(size=(100, 30)) as pilot:
        ghost = await _ghost_after(pilot, app, "The quick brown")
        other = "Z" if not ghost.startswith("Z") else "Q"
        await type_text(pilot, other)
        assert not app.editor.ghost.startswith(ghost[1:]) or not ghost[1:]
        await settled(pilot, app)
        assert app.editor.text == "The quick brown" + other


async def test_resample_changes_the_suggestion_and_previous_brings_it_back(tiny_checkpoint):
    app = make_app(tiny_checkpoint)
    async with app.run_test(size=(100, 30)) as pilot:
        first = await _ghost_after(pilot, app)
        await pilot.press("ctrl+n")
        second = await settled(pilot, app)
        assert second and second != first
        await pilot.press("ctrl+b")
        assert await settled(pilot, app) == first


async def test_cycling_samples_counts_k_of_n_and_going_back_shows_the_same_text(tiny_checkpoint):
    from test_app import status_text

    app = make_app(tiny_checkpoint)
    async with app.run_test(size=(100, 30)) as pilot:
        first = await _ghost_after(pilot, app)
        assert "sample" not in status_text(app)  # one suggestion: nothing to count
        shown = [first]
        for k in (2, 3):
            await pilot.press("ctrl+n")
            shown.append(await settled(pilot, app))
            assert f"sample {k}/{k}" in status_text(app)
        await pilot.press("ctrl+b")
        assert await settled(pilot, app) == shown[1]
        assert "sample 2/3" in status_text(app)  # n is what was drawn here, going back keeps it
        await pilot.press("ctrl+b")
        assert await settled(pilot, app) == shown[0]
        assert "sample 1/3" in status_text(app)
        await pilot.press("ctrl+n")
        assert await settled(pilot, app) == shown[1]
        assert "sample 2/3" in status_text(app)
        await type_text(pilot, "!")  # another position: a fresh count
        await settled(pilot, app)
        assert "sample" not in status_text(app) and app.editor.cycle == (1, 1)


async def test_tab_indents_when_there_is_no_suggestion(tiny_checkpoint):
    app = make_app(tiny_checkpoint, settings=Settings(suggestions=False))
    async with app.run_test(size=(100, 30)) as pilot:
        await model_ready(pilot, app)
        await pilot.press("tab")
        assert app.editor.text.strip() == "" and len(app.editor.text) > 0


async def test_tab_with_a_selection_indents_the_lines_and_loses_nothing(tiny_checkpoint):
    app = make_app(tiny_checkpoint)
    async with app.run_test(size=(100, 30)) as pilot:
        await model_ready(pilot, app)
        app.editor.load_text("def f():\nreturn 1\n\nx = 2")
        app.editor.selection = Selection((1, 3), (3, 2))
        await pilot.press("tab")
        assert app.editor.text == "def f():\n    return 1\n\n    x = 2"
        assert app.editor.selection == Selection((1, 0), (3, 9))
        await pilot.press("ctrl+z")
        assert app.editor.text == "def f():\nreturn 1\n\nx = 2"


async def test_stale_characters_from_an_old_request_are_dropped(tiny_checkpoint):
    app = make_app(tiny_checkpoint)
    async with app.run_test(size=(100, 30)) as pilot:
        await _ghost_after(pilot, app)
        editor = app.editor
        old = editor._generation
        await type_text(pilot, "x")
        editor.post_message(GhostEditor.Chunk(old, "STALE", done=False))
        await settled(pilot, app)
        assert "STALE" not in editor.ghost


async def test_ghost_only_shows_what_fits_on_the_row(tiny_checkpoint):
    app = make_app(tiny_checkpoint)
    async with app.run_test(size=(30, 12)) as pilot:
        await model_ready(pilot, app)
        await type_text(pilot, "The quick brown fox jumps")
        ghost = await settled(pilot, app)
        editor = app.editor
        x = editor.wrapped_document.location_to_offset(editor.cursor_location).x
        assert x + len(ghost) < editor.scrollable_content_region.width
        assert "\n" not in ghost


@pytest.mark.parametrize("remap", [{"accept": "ctrl+j"}])
async def test_keys_are_remappable(tiny_checkpoint, remap):
    settings = Settings()
    settings.keys.update(remap)
    app = make_app(tiny_checkpoint, settings=settings)
    async with app.run_test(size=(100, 30)) as pilot:
        ghost = await _ghost_after(pilot, app)
        await pilot.press("ctrl+j")
        assert app.editor.text == PROMPT + ghost


async def test_a_ghost_a_beam_chose_replaces_the_one_first_shown(tiny_checkpoint):
    """The first ghost streams at once; in the idle moment after it the engine may offer a better
    one (`Engine.refine`), which takes its place, and Tab takes what is shown."""
    app = make_app(tiny_checkpoint)
    async with app.run_test(size=(100, 30)) as pilot:
        await model_ready(pilot, app)
        app.engine.refine = lambda text, cursor, shown, cancelled=None: "refined "
        await type_text(pilot, PROMPT)
        assert await settled(pilot, app) == "refined "
        await pilot.press("tab")
        assert app.editor.text == PROMPT + "refined "


async def test_a_ghost_the_person_began_typing_is_not_swapped(tiny_checkpoint):
    import threading

    app = make_app(tiny_checkpoint)
    async with app.run_test(size=(100, 30)) as pilot:
        ghost = await _ghost_after(pilot, app, "The quick brown")
        release, asked = threading.Event(), threading.Event()

        def slow_refine(text, cursor, shown, cancelled=None):
            asked.set()
            release.wait(10)
            return "other "

        app.engine.refine = slow_refine
        app.editor.refresh_suggestion()
        await wait_until(pilot, asked.is_set, "the refinement to start")
        shown = app.editor.ghost
        assert shown and shown != "other "
        await type_text(pilot, shown[0])  # along the ghost: consumed, no new request
        release.set()
        await settled(pilot, app)
        assert app.editor.ghost == shown[1:]
        assert app.editor.text == "The quick brown" + shown[0]
        assert ghost  # (the first request had a ghost to begin with)
