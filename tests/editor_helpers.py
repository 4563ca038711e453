"""Helpers for the Pilot tests of the editor and the app: build the app on the tiny model and
wait (with a generous guard, never a speed assertion) for the model and its suggestions."""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Callable

from textual.pilot import Pilot

from tuiwriter.app import TuiwriterApp
from tuiwriter.documents import open_document
from tuiwriter.settings import Settings

GUARD_S = 20.0  # a hung worker fails the test instead of hanging the suite


def install_model(checkpoint: Path, name: str = "tiny") -> str:
    """Copy the tiny checkpoint into the (test-private) data dir so it has a stable name."""
    from tuiwriter import store

    folder = store.model_dir(name)
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(checkpoint, folder / store.CHECKPOINT_FILE)
    return name


def make_app(checkpoint: Path | None, path: Path | None = None, settings: Settings | None = None,
             warning: str | None = None) -> TuiwriterApp:
    model = install_model(checkpoint) if checkpoint else "default"
    return TuiwriterApp(open_document(path), settings or Settings(), warning, model=model)


async def wait_until(pilot: Pilot, condition: Callable[[], object], what: str) -> None:
    deadline = time.monotonic() + GUARD_S
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        await pilot.pause(0.02)


async def model_ready(pilot: Pilot, app: TuiwriterApp) -> None:
    await wait_until(pilot, lambda: app.engine is not None, "the model to load")
    await settled(pilot, app)


async def settled(pilot: Pilot, app: TuiwriterApp) -> str:
    """Wait until the suggestion for the current text is complete; returns the ghost."""
    await pilot.pause()
    await wait_until(pilot, lambda: not app.editor.busy, "the suggestion to finish")
    await pilot.pause()
    return app.editor.ghost


async def type_text(pilot: Pilot, text: str) -> None:
    await pilot.press(*[{" ": "space", "\n": "enter"}.get(ch, ch) for ch in text])
