"""Helpers for the Pilot tests of the editor and the app: build the app on the tiny model and
wait (with a generous guard, never a speed assertion) for the model and its suggestions."""

from __future__ import annotations

import fcntl
import os
import select
import shutil
import signal
import struct
import subprocess
import sys
import termios
import threading
import time
from pathlib import Path
from typing import Callable

from textual.pilot import Pilot

from tuiwriter.settings import Settings
from tuiwriter.text.documents import open_document
from tuiwriter.tui.app import TuiwriterApp

GUARD_S = 20.0  # a hung worker fails the test instead of hanging the suite


def install_model(checkpoint: Path, name: str = "tiny") -> str:
    """Copy the tiny checkpoint into the (test-private) data dir so it has a stable name."""
    from tuiwriter.lm import names, store

    folder = store.model_dir(name)
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(checkpoint, folder / names.CHECKPOINT_FILE)
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


class PtyApp:
    """The real `tuiwriter` program in a 100x30 pseudo-terminal, as a person's terminal runs it."""

    def __init__(self, args: list[str], env: dict[str, str] | None = None) -> None:
        self.args = args
        self.env = dict(os.environ, TERM="xterm-256color", **(env or {}))
        self._stop = threading.Event()

    def __enter__(self) -> "PtyApp":
        master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 100, 0, 0))
        self.master = master
        self.proc = subprocess.Popen([sys.executable, "-m", "tuiwriter", *self.args], stdin=slave,
                                     stdout=slave, stderr=slave, env=self.env, start_new_session=True)
        os.close(slave)
        self._reader = threading.Thread(target=self._drain, daemon=True)
        self._reader.start()
        return self

    def _drain(self) -> None:
        """Read the screen output so the app never blocks on a full pty."""
        while not self._stop.is_set():
            ready, _, _ = select.select([self.master], [], [], 0.1)
            if ready:
                try:
                    os.read(self.master, 65536)
                except OSError:
                    return

    def write(self, keys: str) -> None:
        os.write(self.master, keys.encode())

    def kill(self) -> None:
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait()

    def __exit__(self, *exc: object) -> None:
        if self.proc.poll() is None:
            self.kill()
        self._stop.set()
        self._reader.join()
        os.close(self.master)
