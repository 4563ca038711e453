"""Another program writes the file: nothing the person typed, and nothing the other program wrote,
is lost. Saving asks (overwrite, save as, reload, cancel), an idle editor offers to reload, and a
second tuiwriter on a file the first has unsaved changes to says so."""

from __future__ import annotations

import subprocess
import sys

import pytest
from editor_helpers import make_app, type_text, wait_until
from test_app import enter_path, notifications, status_text

from tuiwriter.text import recovery
from tuiwriter.tui.screens.dialogs import Choice, PathPrompt


def choice_title(app) -> str:
    return app.screen.title_text if isinstance(app.screen, Choice) else ""


async def rewritten_while_typing(pilot, app, path) -> None:
    """Type in the editor, then another program rewrites the file; Ctrl+S must ask."""
    await type_text(pilot, " and mine")
    path.write_text("their new text\n")
    await pilot.press("ctrl+s")
    await wait_until(pilot, lambda: "changed on disk" in choice_title(app), "the question")
    assert path.read_text() == "their new text\n"  # nothing written before the answer


@pytest.fixture
def notes(tmp_path):
    path = tmp_path / "notes.md"
    path.write_text("first words")
    return path


async def test_overwrite_writes_the_persons_text(notes):
    app = make_app(None, notes)
    async with app.run_test(size=(100, 30)) as pilot:
        await rewritten_while_typing(pilot, app, notes)
        await pilot.press("o")
        await pilot.pause()
        assert notes.read_text() == "first words and mine"
        assert "●" not in status_text(app)
        await type_text(pilot, "!")
        await pilot.press("ctrl+s")  # saved over it on purpose: the next save does not ask
        await pilot.pause()
        assert notes.read_text() == "first words and mine!" and not isinstance(app.screen, Choice)


async def test_save_as_keeps_both_texts(notes, tmp_path):
    app = make_app(None, notes)
    async with app.run_test(size=(100, 30)) as pilot:
        await rewritten_while_typing(pilot, app, notes)
        await pilot.press("a")
        await wait_until(pilot, lambda: isinstance(app.screen, PathPrompt), "the path prompt")
        await enter_path(pilot, app, tmp_path / "mine.md")
        await pilot.pause()
        assert (tmp_path / "mine.md").read_text() == "first words and mine"
        assert notes.read_text() == "their new text\n"
        assert "mine.md" in status_text(app)


async def test_reload_shows_their_text_and_keeps_the_persons_as_a_recovery_copy(notes):
    app = make_app(None, notes)
    async with app.run_test(size=(100, 30)) as pilot:
        await rewritten_while_typing(pilot, app, notes)
        await pilot.press("r")
        await pilot.pause()
        assert app.editor.text == "their new text\n" and not app.dirty
        assert notes.read_text() == "their new text\n"
        assert "kept" in notifications(app)
    kept = recovery.for_document(notes)
    assert [s.text for s in kept] == ["first words and mine"]
    app = make_app(None, notes)  # the next time the file is opened, it is offered
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_until(pilot, lambda: "Recover" in choice_title(app), "the recovery offer")
        await pilot.press("r")
        assert app.editor.text == "first words and mine"


async def test_cancel_writes_nothing_and_keeps_the_edits(notes):
    app = make_app(None, notes)
    async with app.run_test(size=(100, 30)) as pilot:
        await rewritten_while_typing(pilot, app, notes)
        await pilot.press("escape")
        await pilot.pause()
        assert notes.read_text() == "their new text\n"
        assert app.editor.text == "first words and mine" and app.dirty


async def test_an_idle_editor_offers_to_reload_a_file_changed_on_disk(notes):
    app = make_app(None, notes)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        notes.write_text("synced from elsewhere")
        await wait_until(pilot, lambda: "changed on disk" in choice_title(app), "the reload offer")
        await pilot.press("r")
        await pilot.pause()
        assert app.editor.text == "synced from elsewhere" and not app.dirty


async def test_with_unsaved_edits_a_change_on_disk_is_told_once_and_a_deletion_too(notes):
    app = make_app(None, notes)
    async with app.run_test(size=(100, 30)) as pilot:
        await type_text(pilot, " unsaved")
        notes.write_text("theirs")
        await wait_until(pilot, lambda: "Ctrl+S will ask" in notifications(app), "the warning")
        await pilot.pause(2.5)  # another check or two: not said again
        assert notifications(app).count("Ctrl+S will ask") == 1 and not isinstance(app.screen, Choice)
        notes.unlink()
        await wait_until(pilot, lambda: "was deleted on disk" in notifications(app), "the deletion")
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert notes.read_text() == "first words unsaved"  # saving writes it again, no question


@pytest.fixture
def other_editor():
    """A live process standing in for another tuiwriter (its pid is what the copy records)."""
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    yield proc.pid
    proc.kill()
    proc.wait()


@pytest.mark.parametrize("answer", ["e", "r"])
async def test_a_second_editor_on_a_file_with_unsaved_changes_warns(notes, other_editor, answer):
    theirs = recovery.Recorder(notes)
    theirs.pid = other_editor
    theirs.write("first words and their unsaved words")
    app = make_app(None, notes)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_until(pilot, lambda: "edited elsewhere" in choice_title(app), "the warning")
        assert str(other_editor) in str(app.screen.body)
        await pilot.press(answer)
        await type_text(pilot, " here")
        if answer == "r":
            assert app.editor.text == "first words" and "read-only" in status_text(app)
        else:
            assert app.editor.text == "first words here"
    assert recovery.for_document(notes) == []  # a live editor's copy is never offered as a crash's
