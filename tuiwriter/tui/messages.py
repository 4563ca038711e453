"""The messages that cross the app: from the training job (via `post_to_app`), the models dialog
and the training screen, to the app, which alone decides what to do with them.

Messages a widget keeps to itself (the editor's streamed chunks and state) stay on that widget,
as Textual's own widgets do.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from textual.app import App
from textual.message import Message

from tuiwriter.training.job import JobSnapshot


@dataclass
class ModelChosen(Message):
    """The person picked this model (a name, `default`, or a path) to write with."""

    name: str


@dataclass
class TrainingStarted(Message):
    """A run began (it reads the files first)."""

    snapshot: JobSnapshot


@dataclass
class TrainingProgress(Message):
    """Twice a second or so while a run trains; only the newest one waiting in a queue is kept."""

    snapshot: JobSnapshot

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, TrainingProgress)


@dataclass
class TrainingFinished(Message):
    """A model was saved: at the end of the budget, or early when cancelled (the best so far)."""

    name: str
    path: Path
    val_bpc: float | None
    cancelled: bool = False
    previous: str | None = None  # the model in use when the run started


@dataclass
class TrainingFailed(Message):
    """A run ended without a new model; the model in use is untouched."""

    message: str


def message_for(snap: JobSnapshot) -> Message | None:
    """The app message for a job event (None for states the app need not hear about)."""
    if snap.state == "preparing" and not snap.corpus_line:
        return TrainingStarted(snap)
    if snap.running:
        return TrainingProgress(snap)
    if snap.state in ("finished", "cancelled") and snap.path is not None:
        return TrainingFinished(snap.name, snap.path, snap.best_val_bpc, snap.state == "cancelled",
                                snap.active_model)
    if snap.state in ("failed", "cancelled"):
        return TrainingFailed(snap.message or "training stopped before a model was saved")
    return None


def post_to_app(app: App) -> Callable[[JobSnapshot], None]:
    """A `TrainingJob.on_event` that posts the matching message to `app` from any thread
    (`App.post_message` is thread-safe)."""

    def listener(snap: JobSnapshot) -> None:
        message = message_for(snap)
        if message is not None:
            try:
                app.post_message(message)
            except RuntimeError:  # the app's loop has closed: nobody is listening any more
                pass

    return listener
