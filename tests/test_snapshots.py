"""What the screen looks like: the main screen with ghost text, and the help screen.

Deterministic: the tiny model trained with a fixed seed and step count, temperature 0, a fixed
file name, no cursor blink. Update after a deliberate change with `pytest --snapshot-update`.
"""

from __future__ import annotations

from editor_helpers import make_app, model_ready, settled, type_text

from tuiwriter.settings import Settings

SIZE = (100, 30)


def notes_app(checkpoint, tmp_path):
    path = tmp_path / "notes.md"
    path.write_text("# Notes\n\nThe cat sat on the mat and looked at the door.\n")
    # Pin the suggestion policy so tuning the engine's default threshold does not move pixels.
    return make_app(checkpoint, path, settings=Settings(temperature=0.0, min_confidence=0.1))


async def ghost_after(pilot, app, text: str) -> None:
    """Type `text` at the end, then wait for the whole suggestion measured from there."""
    app.editor.cursor_blink = False
    await model_ready(pilot, app)
    app.editor.move_cursor(app.editor.document.end)
    await type_text(pilot, text)
    await settled(pilot, app)
    app.editor.refresh_suggestion()
    assert await settled(pilot, app)


def test_main_screen_with_ghost_text(snap_compare, tiny_checkpoint, tmp_path):
    app = notes_app(tiny_checkpoint, tmp_path)

    async def run_before(pilot) -> None:
        await ghost_after(pilot, app, "The quick brown fox")

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_help_screen(snap_compare, tiny_checkpoint, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", "/home/writer/.config")  # the path the help shows
    app = make_app(tiny_checkpoint)

    async def run_before(pilot) -> None:
        app.editor.cursor_blink = False
        await model_ready(pilot, app)
        await pilot.press("f1")

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_status_bar_counts_samples_while_cycling(snap_compare, tiny_checkpoint, tmp_path):
    """Two resamples and one step back: the third of three drawn is left, the status bar says
    `sample 2/3` and the ghost is the second sample (`door.⏎`) again."""
    app = notes_app(tiny_checkpoint, tmp_path)

    async def run_before(pilot) -> None:
        await ghost_after(pilot, app, "The cat sat on the ")
        for key in ("ctrl+n", "ctrl+n", "ctrl+b"):
            await pilot.press(key)
            assert await settled(pilot, app)
        assert app.editor.cycle == (2, 3)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)
