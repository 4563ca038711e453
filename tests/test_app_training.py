"""Training from inside the editor: Ctrl+T, progress in the status bar, cancel, finish, hot swap."""

from __future__ import annotations

from pathlib import Path

import pytest
from editor_helpers import make_app, model_ready, settled, type_text, wait_until
from test_train_screen import choose
from test_training_job import write_notes
from textual.widgets import Button, Input

from tuiwriter.predict.engine import Engine
from tuiwriter.tui.screens.train import TrainScreen


@pytest.fixture
def notes(tmp_path) -> Path:
    return write_notes(tmp_path / "notes")


async def start_training(pilot, app, notes: Path) -> TrainScreen:
    """Ctrl+T, pick the notes, fine-tune the active model for up to 5 minutes; wait for progress."""
    await model_ready(pilot, app)
    await pilot.press("ctrl+t")
    await wait_until(pilot, lambda: isinstance(app.screen, TrainScreen), "the training screen")
    screen = app.screen
    await choose(pilot, screen, notes, minutes="5", size=None)  # fine-tune "tiny", the active model
    assert await pilot.click("#start")
    await wait_until(pilot, lambda: app.training.snapshot().chars_seen > 0, "training progress")
    return screen


def status_text(app) -> str:
    return str(app.status.render())


async def test_train_from_the_editor_cancel_then_finish_and_suggest_from_the_new_model(tiny_checkpoint, notes):
    app = make_app(tiny_checkpoint)
    async with app.run_test(size=(130, 44)) as pilot:
        screen = await start_training(pilot, app, notes)
        await wait_until(pilot, lambda: "training notes" in status_text(app), "progress in the status bar")

        screen.query_one("#cancel", Button).press()
        await wait_until(pilot, lambda: not app.training.running, "the run to stop")
        await wait_until(pilot, lambda: app.engine is not None and app.engine.name == "notes",
                         "the cancelled run's best model to be used")
        assert "training" not in status_text(app) and "model notes" in status_text(app)

        # the screen proposes a fresh name once it sees the first run's model saved
        name = screen.query_one("#name", Input)
        await wait_until(pilot, lambda: name.value == "notes-2", "a fresh name for the next run")
        minutes = screen.query_one("#minutes", Input)
        minutes.value = "0.02"
        minutes.focus()
        await wait_until(pilot, lambda: minutes.has_focus, "the minutes field to take focus")
        await pilot.press("enter")  # Enter in a field starts the run
        await wait_until(pilot, lambda: app.engine is not None and app.engine.name == "notes-2",
                         "the finished model to be swapped in")
        assert "model notes-2" in status_text(app)
        assert app.settings.model == "notes-2"  # remembered for the next start

        await pilot.press("escape")
        await wait_until(pilot, lambda: not isinstance(app.screen, TrainScreen), "the editor")
        await type_text(pilot, "The cat sat")
        ghost = await settled(pilot, app)
        fresh = Engine.load("notes-2")
        fresh.config.min_confidence = app.engine.config.min_confidence
        expected = "".join(fresh.suggest("The cat sat", len("The cat sat")))
        assert ghost and expected.startswith(ghost)

        await pilot.press("ctrl+p")
        await type_text(pilot, "Keep the previous")
        await pilot.press("enter")
        await wait_until(pilot, lambda: app.engine.name == "tiny", "the previous model back")


async def test_quitting_while_training_asks_and_keeps_the_best_model(tiny_checkpoint, notes):
    app = make_app(tiny_checkpoint)
    async with app.run_test(size=(130, 44)) as pilot:
        await start_training(pilot, app, notes)
        await pilot.press("escape")
        await pilot.press("ctrl+q")
        await wait_until(pilot, lambda: "Training notes is running" in str(getattr(app.screen, "body", "")),
                         "the quit question to mention training")
        await pilot.press("d")
        await wait_until(pilot, lambda: not app.is_running, "the app to quit")
    assert not app.training.running
    snap = app.training.snapshot()
    assert snap.state == "cancelled" and snap.path is not None and snap.path.exists()
