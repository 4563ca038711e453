"""Crash recovery: unsaved buffers copied to the state dir, offered back at the next start.

One JSON file per (document, process) in `state_dir()/recovery` (mode 0700: the buffers are
private writing). A file whose process is still running belongs to another live editor and is
never offered; a clean save or an explicit discard removes it.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

from tuiwriter.paths import atomic_write, private_dir, state_dir

FORMAT = "tuiwriter-recovery"


@dataclass
class Snapshot:
    """One saved copy of an unsaved buffer."""

    file: Path  # the recovery file itself
    path: Path | None  # the document it belongs to (None: untitled)
    text: str
    saved_at: float
    pid: int

    @property
    def label(self) -> str:
        return str(self.path) if self.path else "an untitled buffer"

    @property
    def when(self) -> str:
        return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(self.saved_at))


def recovery_dir() -> Path:
    return private_dir(state_dir() / "recovery")


def _key(path: Path | None) -> str:
    if path is None:
        return "untitled"
    absolute = os.path.abspath(os.path.expanduser(path))
    return hashlib.sha256(absolute.encode("utf-8", "surrogatepass")).hexdigest()[:20]


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class Recorder:
    """Keeps the one recovery file of this process's buffer up to date."""

    def __init__(self, path: Path | None, folder: Path | None = None) -> None:
        self._folder = folder  # made on the first write: an unwritable state dir must not stop the editor
        self.pid = os.getpid()
        self.path = path
        self.written: str | None = None

    @property
    def file(self) -> Path:
        """This buffer's copy; raises OSError when the state folder cannot be made."""
        if self._folder is None:
            self._folder = recovery_dir()
        return self._folder / f"{_key(self.path)}-{self.pid}.json"

    def retarget(self, path: Path | None) -> None:
        """The buffer now belongs to another file (save as, open): drop the old copy."""
        self.discard()
        self.path = path

    def write(self, text: str) -> bool:
        """Copy `text` if it changed since the last copy; True when a file was written."""
        if text == self.written:
            return False
        record = {"format": FORMAT, "path": str(self.path) if self.path else None,
                  "pid": self.pid, "saved_at": time.time(), "text": text}
        atomic_write(self.file, json.dumps(record, ensure_ascii=False))
        self.written = text
        return True

    def discard(self) -> None:
        """The buffer is saved or thrown away on purpose: nothing to recover."""
        self.written = None
        try:
            self.file.unlink()
        except OSError:  # gone already, or a state folder we cannot touch: nothing to undo
            pass


def _read(file: Path) -> Snapshot | None:
    try:
        raw = json.loads(file.read_text(encoding="utf-8"))
        if raw.get("format") != FORMAT:
            return None
        path = Path(raw["path"]) if raw.get("path") else None
        return Snapshot(file, path, str(raw["text"]), float(raw["saved_at"]), int(raw["pid"]))
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def orphans(folder: Path | None = None) -> list[Snapshot]:
    """Copies left by editors that are no longer running, newest first."""
    try:
        folder = folder or recovery_dir()
    except OSError:  # no state folder to read: nothing to recover
        return []
    found = [s for f in sorted(folder.glob("*.json")) if (s := _read(f)) and not _alive(s.pid)]
    return sorted(found, key=lambda s: s.saved_at, reverse=True)


def for_document(path: Path | None, folder: Path | None = None) -> list[Snapshot]:
    """Orphaned copies of the buffer for `path` (None: untitled), newest first."""
    key = _key(path)
    return [s for s in orphans(folder) if _key(s.path) == key]


def forget(snapshots: list[Snapshot]) -> None:
    """Remove recovery copies the person recovered or discarded."""
    for snap in snapshots:
        try:
            snap.file.unlink()
        except OSError:
            pass
