"""Crash recovery: unsaved buffers copied to the state dir, offered back at the next start.

One JSON file per (document, process) in `state_dir()/recovery` (mode 0700: the buffers are
private writing). A file whose process is still running belongs to another live editor and is
never offered; a clean save or an explicit discard removes it. That same file tells a second
editor opening the document that a first one has unsaved changes to it (`editing_elsewhere`), as
vim's swap file does: no second lock file. A *kept* copy (`keep`: the unsaved text put aside when
the person reloads the file from disk) is offered like a crashed editor's, whoever wrote it.

A copy of a big buffer is encoded in pieces, so a worker thread writing it never holds Python's
lock long enough to stall the editor (one `json.dumps` of 10 MB holds it for tens of ms).
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from tuiwriter.paths import atomic_write, private_dir, state_dir

FORMAT = "tuiwriter-recovery"
PIECE_LINES = 2000  # lines encoded at a time
PIECE_CHARS = 1 << 16  # characters of a text given whole encoded at a time


@dataclass
class Snapshot:
    """One saved copy of an unsaved buffer."""

    file: Path  # the recovery file itself
    path: Path | None  # the document it belongs to (None: untitled)
    text: str
    saved_at: float
    pid: int
    kept: bool = False  # put aside on purpose (a reload), offered even while its editor runs

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
        self.written: object = None  # the version (or text) of the last copy

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

    def write(self, text: str | Sequence[str], version: object = None) -> bool:
        """Copy the buffer (its text, or its lines) unless it is the copy made last: the same
        `version` when one is given, else the same text. True when a file was written."""
        seen = version if version is not None else text
        if self.written is not None and seen == self.written:
            return False
        _write_copy(self.file, self.path, self.pid, text)
        self.written = seen
        return True

    def discard(self) -> None:
        """The buffer is saved or thrown away on purpose: nothing to recover."""
        self.written = None
        try:
            self.file.unlink()
        except OSError:  # gone already, or a state folder we cannot touch: nothing to undo
            pass


def _write_copy(file: Path, path: Path | None, pid: int, text: str | Sequence[str], kept: bool = False) -> None:
    """One recovery file, the text encoded a piece at a time (see the module docstring)."""
    head = {"format": FORMAT, "path": str(path) if path else None, "pid": pid, "saved_at": time.time()}
    if kept:
        head["kept"] = True
    pieces = [(json.dumps(head, ensure_ascii=False)[:-1] + ', "text": "').encode("utf-8")]
    if isinstance(text, str):
        text = [text[i: i + PIECE_CHARS] for i in range(0, len(text), PIECE_CHARS)]
        lines_per_piece, joiner = 1, ""
    else:
        lines_per_piece, joiner = PIECE_LINES, "\n"
    for i in range(0, len(text), lines_per_piece):
        piece = joiner.join(text[i: i + lines_per_piece])
        if joiner and i + lines_per_piece < len(text):
            piece += joiner
        pieces.append(json.dumps(piece, ensure_ascii=False)[1:-1].encode("utf-8"))
    pieces.append(b'"}')
    atomic_write(file, b"".join(pieces))  # bytes: joining and encoding one str held the GIL 3x as long


def keep(path: Path | None, text: str | Sequence[str], folder: Path | None = None) -> Path:
    """Put `text` aside as a recovery copy of `path` that is offered the next time the file is
    opened (the person's unsaved text, before the file is reloaded from disk); returns the copy."""
    folder = folder or recovery_dir()
    pid = os.getpid()
    file = folder / f"{_key(path)}-{pid}-kept-{time.time_ns()}.json"
    _write_copy(file, path, pid, text, kept=True)
    return file


def _read(file: Path) -> Snapshot | None:
    try:
        raw = json.loads(file.read_text(encoding="utf-8"))
        if raw.get("format") != FORMAT:
            return None
        path = Path(raw["path"]) if raw.get("path") else None
        return Snapshot(file, path, str(raw["text"]), float(raw["saved_at"]), int(raw["pid"]),
                        bool(raw.get("kept", False)))
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def _folder(folder: Path | None) -> Path | None:
    try:
        return folder or recovery_dir()
    except OSError:  # no state folder to read: nothing to recover
        return None


def orphans(folder: Path | None = None) -> list[Snapshot]:
    """Copies left by editors that are no longer running, and kept copies, newest first."""
    folder = _folder(folder)
    if folder is None:
        return []
    found = [s for f in sorted(folder.glob("*.json")) if (s := _read(f)) and (s.kept or not _alive(s.pid))]
    return sorted(found, key=lambda s: s.saved_at, reverse=True)


@dataclass(frozen=True)
class Elsewhere:
    """Another running editor with unsaved changes to the same document."""

    pid: int
    since: float  # when it last copied its buffer

    @property
    def when(self) -> str:
        return time.strftime("%H:%M:%S", time.localtime(self.since))


def editing_elsewhere(path: Path | None, folder: Path | None = None) -> list[Elsewhere]:
    """Other live editors whose unsaved buffer for `path` has a recovery copy (read from the file
    names and times alone: the copies themselves may be megabytes)."""
    folder = _folder(folder)
    if folder is None or path is None:
        return []
    found = []
    for file in folder.glob(f"{_key(path)}-*.json"):
        pid_text = file.stem.split("-")[1]
        if "-kept-" in file.name or not pid_text.isdigit():
            continue
        pid = int(pid_text)
        if pid != os.getpid() and _alive(pid):
            try:
                found.append(Elsewhere(pid, file.stat().st_mtime))
            except OSError:  # saved or quit meanwhile
                continue
    return sorted(found, key=lambda e: e.since, reverse=True)


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
