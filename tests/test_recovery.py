"""Crash recovery: a killed editor loses at most the last couple of seconds of typing, and the
next start offers the text back."""

from __future__ import annotations

import stat
import subprocess
import sys
import time

import pytest
from editor_helpers import PtyApp, make_app, wait_until

from tuiwriter.settings import Settings
from tuiwriter.text import recovery
from tuiwriter.tui.screens.dialogs import Choice


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_copies_are_private_and_written_only_on_change(tmp_path):
    rec = recovery.Recorder(tmp_path / "notes.md")
    assert rec.write("draft") and not rec.write("draft")
    assert stat.S_IMODE(recovery.recovery_dir().stat().st_mode) == 0o700
    assert stat.S_IMODE(rec.file.stat().st_mode) == 0o600
    rec.discard()
    assert not rec.file.exists()


def test_only_copies_of_dead_editors_are_offered(tmp_path):
    mine = recovery.Recorder(tmp_path / "a.md")
    mine.write("live")
    orphan = recovery.Recorder(tmp_path / "a.md")
    orphan.pid = _dead_pid()
    orphan.write("lost text")
    other = recovery.Recorder(tmp_path / "b.md")
    other.pid = orphan.pid
    other.write("other file")
    found = recovery.for_document(tmp_path / "a.md")
    assert [s.text for s in found] == ["lost text"]
    assert {s.text for s in recovery.orphans()} == {"lost text", "other file"}
    recovery.forget(found)
    assert recovery.for_document(tmp_path / "a.md") == []


def _leave_orphan(path, text: str) -> None:
    """A recovery copy as a crashed editor leaves it."""
    orphan = recovery.Recorder(path)
    orphan.pid = _dead_pid()
    orphan.write(text)


@pytest.mark.parametrize("answer, expected", [
    ("r", "saved part and unsaved part"),  # recover: the text is back, not yet saved
    ("d", "saved part"),  # discard: the file as it was
])
async def test_next_start_offers_the_text_back(tiny_checkpoint, tmp_path, answer, expected):
    path = tmp_path / "notes.md"
    path.write_text("saved part")
    _leave_orphan(path, "saved part and unsaved part")
    app = make_app(tiny_checkpoint, path)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_until(pilot, lambda: isinstance(app.screen, Choice), "the recovery prompt")
        await pilot.press(answer)
        assert app.editor.text == expected
        assert path.read_text() == "saved part"  # nothing written until Ctrl+S
    assert recovery.for_document(path) == []  # answered either way: not offered again


def test_kill_9_loses_at_most_the_last_two_seconds(tmp_path):
    """The real program in a pseudo-terminal, typed into at a person's pace, then SIGKILLed."""
    path = tmp_path / "notes.md"
    typed: list[tuple[float, str]] = []
    with PtyApp([str(path), "--model", "none.safetensors"]) as app:
        time.sleep(2.0)  # start-up
        words = "the quick brown fox jumps over the lazy dog and keeps on running "
        end = time.monotonic() + 5.0
        while time.monotonic() < end:
            ch = words[len(typed) % len(words)]
            app.write(ch)
            typed.append((time.monotonic(), ch))
            time.sleep(0.05)
        killed_at = time.monotonic()
        app.kill()
    text = "".join(ch for _, ch in typed)
    must_have = "".join(ch for t, ch in typed if t <= killed_at - 2.0)
    snaps = recovery.for_document(path)
    assert snaps, "no recovery copy was left"
    assert text.startswith(snaps[0].text)
    assert len(snaps[0].text) >= len(must_have)
    assert not path.exists()  # recovery copies never touch the document itself


async def test_an_unusable_state_folder_costs_the_copies_not_the_editor(tiny_checkpoint, tmp_path,
                                                                        monkeypatch):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the state folder should be")
    monkeypatch.setenv("XDG_STATE_HOME", str(blocker / "state"))
    path = tmp_path / "notes.md"
    app = make_app(tiny_checkpoint, path)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press(*"words")
        await wait_until(pilot, lambda: any("crash-recovery copy failed" in str(n.message)
                                            for n in app._notifications), "the warning")
        await pilot.press(*" more", "ctrl+s")
        assert path.read_text() == "words more"
        warnings = [n for n in app._notifications if "crash-recovery" in str(n.message)]
        assert len(warnings) == 1  # said once, not on every autosave tick


def test_a_copy_written_in_pieces_reads_back_exactly(tmp_path, monkeypatch):
    """Big buffers are encoded a piece at a time; quotes, escapes, non-ASCII and line ends that
    fall on piece boundaries come back as they were, from lines or from one string."""
    monkeypatch.setattr(recovery, "PIECE_LINES", 3)
    monkeypatch.setattr(recovery, "PIECE_CHARS", 7)
    lines = ['say "hi"', "back\\slash\ttab", "", "é 中 😀", "last"]
    text = "\n".join(lines)
    rec = recovery.Recorder(tmp_path / "notes.md")
    rec.pid = _dead_pid()
    assert rec.write(lines, version=7) and not rec.write(lines, version=7)
    assert [s.text for s in recovery.for_document(tmp_path / "notes.md")] == [text]
    kept = recovery.keep(tmp_path / "other.md", text)
    assert recovery._read(kept).text == text and recovery._read(kept).kept


async def test_closing_with_unsaved_text_keeps_the_copy_and_raises_nothing(tiny_checkpoint, tmp_path):
    """The autosave timer may tick while the app closes, after its widgets are gone: it must not
    fail there (it did: 'No nodes match #editor' after a test's last step)."""
    path = tmp_path / "notes.md"
    path.write_text("saved part")
    app = make_app(tiny_checkpoint, path, settings=Settings(autosave_seconds=0.1))
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press(*" and unsaved part")
        typed = "saved part and unsaved part"
        await wait_until(pilot, lambda: app.recorder.file.exists() and recovery._read(app.recorder.file).text == typed,
                         "the recovery copy")
        await app.editor.remove()  # as when the app closes: the editor goes first
        await pilot.pause(0.6)  # a few autosave intervals
    assert recovery._read(app.recorder.file).text == typed  # left for the next start to offer
