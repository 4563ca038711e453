"""The training screen, driven with Pilot from a minimal host app that listens to its messages."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from test_training_job import write_notes
from textual.app import App
from textual.message import Message
from textual.widgets import Button, Input, RadioButton, Select, Static

from tuiwriter.lm import checkpoint
from tuiwriter.paths import models_dir
from tuiwriter.training.job import TrainingJob
from tuiwriter.tui.messages import (
    ModelChosen,
    TrainingFailed,
    TrainingFinished,
    TrainingProgress,
    TrainingStarted,
    post_to_app,
)
from tuiwriter.tui.path_suggester import PathSuggester
from tuiwriter.tui.screens.train import TrainScreen

WAIT_S = 60  # upper bound for a wait; a wait ends as soon as its condition holds


class Host(App):
    """Stands in for the editor: owns the job, opens the screen, records what it is told."""

    def __init__(self, root: Path, active_model: str | None = None) -> None:
        super().__init__()
        self.root_dir = root
        self.active_model = active_model
        self.job = TrainingJob(threads=1, on_event=post_to_app(self))
        self.received: list[Message] = []

    def on_mount(self) -> None:
        self.open_training()

    def open_training(self) -> None:
        self.push_screen(TrainScreen(self.job, active_model=self.active_model, root=self.root_dir))

    def on_training_started(self, m: TrainingStarted) -> None:
        self.received.append(m)

    def on_training_progress(self, m: TrainingProgress) -> None:
        self.received.append(m)

    def on_training_finished(self, m: TrainingFinished) -> None:
        self.received.append(m)

    def on_training_failed(self, m: TrainingFailed) -> None:
        self.received.append(m)

    def on_model_chosen(self, m: ModelChosen) -> None:
        self.received.append(m)

    def got(self, kind: type[Message]) -> list:
        return [m for m in self.received if isinstance(m, kind)]


async def until(pilot, condition, what: str) -> None:
    """Let the app run until `condition()` holds (fails after WAIT_S: a hang, not a slow machine)."""
    for _ in range(int(WAIT_S / 0.05)):
        if condition():
            return
        await pilot.pause(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def text_of(screen, selector: str) -> str:
    return str(screen.query_one(selector, Static).content)


@pytest.fixture
def notes(tmp_path) -> Path:
    folder = write_notes(tmp_path / "notes")
    (folder / "photo.jpg").write_bytes(b"\xff\xd8\x00\x00" * 64)
    return folder


async def choose(pilot, screen, path: Path, minutes: str, size: str | None = "tiny") -> None:
    field = screen.query_one("#path", Input)
    field.value = str(path)
    field.focus()
    await pilot.press("enter")
    await until(pilot, lambda: "kept" in text_of(screen, "#preview"), "the corpus preview")
    if size:
        screen.query_one("#size", Select).value = size
    screen.query_one("#minutes", Input).value = minutes


async def test_the_preview_says_what_is_excluded_and_which_secrets_are_removed(tmp_path):
    from tests.secret_notes import make_secret_notes

    folder = tmp_path / "notes"
    make_secret_notes(folder)
    app = Host(tmp_path)
    async with app.run_test(size=(130, 44)) as pilot:
        screen = app.screen
        await choose(pilot, screen, folder, minutes="1")
        preview = text_of(screen, "#preview")
        for part in ("6 file(s) kept", "excluded: notes/.env, notes/id_rsa (secret file name)",
                     "notes/private/ (.tuiwriterignore)", "notes/build/ (.gitignore)",
                     "secrets removed from: notes/aws.md (AWS access key, AWS secret key, GitHub token, "
                     "password assignment), notes/server.md (private key)"):
            assert part in preview
        app.save_screenshot(str(tmp_path / "preview.svg"))


async def test_pick_a_folder_start_cancel_then_train_to_the_end(notes):
    app = Host(notes.parent)
    async with app.run_test(size=(130, 44)) as pilot:
        screen = app.screen
        await choose(pilot, screen, notes, minutes="5")
        preview = text_of(screen, "#preview")
        assert "3 file(s) kept" in preview and "photo.jpg (binary)" in preview
        assert screen.query_one("#name", Input).value == "notes"
        assert screen.query_one("#mode-new", RadioButton).value  # no model in use: a new one

        assert await pilot.click("#start")
        await until(pilot, lambda: app.job.snapshot().chars_seen > 0, "training progress")
        first = app.job.snapshot().chars_seen
        await until(pilot, lambda: app.job.snapshot().chars_seen > first, "progress to advance")
        await until(pilot, lambda: "chars seen" in text_of(screen, "#status"), "the progress line")
        assert screen.query_one("#start", Button).disabled
        assert app.got(TrainingStarted) and app.got(TrainingProgress)

        # While a run burns CPU, every Pilot key or click waits up to a second for an idle process
        # (textual._wait), so this test calls the buttons' handlers; the next test uses the keys.
        screen.query_one("#cancel", Button).press()
        await until(pilot, lambda: app.got(TrainingFinished), "the cancelled run to report")
        cancelled = app.got(TrainingFinished)[0]
        assert cancelled.cancelled and cancelled.name == "notes"
        assert checkpoint.load(cancelled.path).training["chars_seen"] > 0  # the best so far is kept
        await until(pilot, lambda: "Cancelled notes" in text_of(screen, "#status"), "the cancelled status")

        assert screen.query_one("#name", Input).value == "notes-2"  # "notes" is taken now
        minutes = screen.query_one("#minutes", Input)
        minutes.value = "0.02"
        minutes.focus()
        await pilot.press("enter")  # Enter in a field starts, like the Start button (no run yet: fast)
        await until(pilot, lambda: len(app.got(TrainingFinished)) == 2, "the second run to finish")
        done = app.got(TrainingFinished)[1]
        assert (done.name, done.cancelled) == ("notes-2", False)
        assert done.path == models_dir() / "notes-2" / "model.safetensors"
        assert done.val_bpc == pytest.approx(checkpoint.load(done.path).training["val_bpc"], abs=1e-3)
        await until(pilot, lambda: "Finished notes-2" in text_of(screen, "#status"), "the finished status")
        assert not app.got(TrainingFailed)


async def test_closing_the_screen_keeps_the_run_going_and_reopening_shows_it(notes):
    app = Host(notes.parent)
    async with app.run_test(size=(130, 44)) as pilot:
        screen = app.screen
        await choose(pilot, screen, notes, minutes="5")
        await pilot.press("ctrl+r")  # the Start key
        await until(pilot, lambda: app.job.snapshot().chars_seen > 0, "training progress")
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, TrainScreen)
        assert app.job.running
        seen = len(app.got(TrainingProgress))
        await until(pilot, lambda: len(app.got(TrainingProgress)) > seen, "progress while the screen is closed")

        app.open_training()
        await pilot.pause()
        reopened = app.screen
        assert isinstance(reopened, TrainScreen) and reopened is not screen
        await until(pilot, lambda: "notes (new model" in text_of(reopened, "#status"), "the running job shown")
        assert reopened.query_one("#start", Button).disabled
        await pilot.press("f8")  # the Cancel key
        await until(pilot, lambda: not app.job.running, "the run to stop")


async def test_fine_tune_is_recommended_and_the_old_model_can_be_kept(notes, tiny_checkpoint):
    mine = models_dir() / "mine" / "model.safetensors"
    mine.parent.mkdir()
    shutil.copy(tiny_checkpoint, mine)
    app = Host(notes.parent, active_model="mine")
    async with app.run_test(size=(130, 44)) as pilot:
        screen = app.screen
        finetune = screen.query_one("#mode-finetune", RadioButton)
        assert finetune.value and "recommended" in str(finetune.label)
        assert screen.query_one("#size", Select).disabled  # a fine-tune keeps the architecture
        await choose(pilot, screen, notes, minutes="0.02", size=None)
        assert await pilot.click("#start")
        await until(pilot, lambda: app.got(TrainingFinished), "the fine-tune to finish")
        done = app.got(TrainingFinished)[0]
        assert done.previous == "mine"
        assert checkpoint.load(done.path).training["from"] == "mine"
        keep = screen.query_one("#keep-old", Button)
        # Shown is not yet placed: a click before the next layout lands at the screen's corner.
        await until(pilot, lambda: keep.display and keep.region.area > 0, "the keep-old button")
        assert await pilot.click("#keep-old")
        await until(pilot, lambda: app.got(ModelChosen), "the keep-old choice")
        assert app.got(ModelChosen)[0].name == "mine"
        assert not keep.display


async def test_without_a_model_file_fine_tune_is_not_offered(notes, monkeypatch):
    monkeypatch.setattr("tuiwriter.lm.store.shipped_default", lambda: notes.parent / "no-default.safetensors")
    app = Host(notes.parent, active_model="default")  # an install without the shipped model
    async with app.run_test(size=(130, 44)) as pilot:
        screen = app.screen
        finetune = screen.query_one("#mode-finetune", RadioButton)
        await until(pilot, lambda: finetune.disabled, "the missing model to be noticed")
        assert screen.query_one("#mode-new", RadioButton).value
        assert not screen.query_one("#size", Select).disabled


async def test_problems_are_shown_before_anything_runs(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "blank.txt").write_text("   \n")
    app = Host(tmp_path)
    async with app.run_test(size=(130, 44)) as pilot:
        screen = app.screen
        assert await pilot.click("#start")
        assert "choose at least one file or folder" in text_of(screen, "#error")
        field = screen.query_one("#path", Input)
        field.value = str(tmp_path / "missing")
        field.focus()
        await pilot.press("enter")
        assert "no such file or folder" in text_of(screen, "#error")
        field.value = str(empty)
        await pilot.press("enter")
        await until(pilot, lambda: "Nothing to train on" in text_of(screen, "#preview"), "the preview")
        assert await pilot.click("#start")
        await until(pilot, lambda: app.got(TrainingFailed), "the failure message")
        assert "no text files found" in app.got(TrainingFailed)[0].message
        assert not any(models_dir().iterdir())


async def test_path_completion_offers_what_is_on_disk(tmp_path):
    root = tmp_path / "home"
    (root / "journal").mkdir(parents=True)
    (root / "jokes.txt").write_text("ha")
    (root / ".hidden").mkdir()
    suggester = PathSuggester()
    assert await suggester.get_suggestion(f"{root}/jou") == f"{root}/journal/"
    assert await suggester.get_suggestion(f"{root}/jok") == f"{root}/jokes.txt"
    assert await suggester.get_suggestion(f"{root}/x") is None
    assert await suggester.get_suggestion(f"{root}/") == f"{root}/jokes.txt"  # hidden entries only for "."
    assert await suggester.get_suggestion(f"{root}/.h") == f"{root}/.hidden/"


async def test_a_new_model_can_predict_words(notes):
    app = Host(notes.parent)
    async with app.run_test(size=(130, 44)) as pilot:
        screen = app.screen
        level = screen.query_one("#level", Select)
        assert not level.disabled and level.value == "char"  # no model in use: a new one, characters by default
        await choose(pilot, screen, notes, minutes="0.02")
        level.value = "word"
        await pilot.pause()
        assert await pilot.click("#start")
        await until(pilot, lambda: app.got(TrainingFinished) or app.got(TrainingFailed), "the run to finish")
        assert not app.got(TrainingFailed), app.got(TrainingFailed)
        done = app.got(TrainingFinished)[0]
        saved = checkpoint.load(done.path)
        assert saved.level == "word" and saved.training["level"] == "word"
