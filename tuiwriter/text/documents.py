"""Opening and saving the document the person edits.

The editor works on text with `\\n` line ends (one document character = one model step), so a
file's BOM and CRLF line ends are taken off on open and put back on save. Binary files and files
over a size cap are refused with a one-line message before anything is shown. Saves go through
`paths.atomic_write` and keep the file's permissions; a symlink is written through, not replaced.

Other programs write the file too (sync tools, git, another editor). A document remembers what was
on disk when it was read or last written (`DiskState`: modification time, size, SHA-256 of the
bytes); `disk_change` says whether the file still holds that, and `save_document` refuses to
overwrite a file that changed since (`ChangedOnDisk`) unless told to.
"""

from __future__ import annotations

import hashlib
import os
import stat
from dataclasses import dataclass, replace
from pathlib import Path

from tuiwriter.paths import atomic_write

MAX_BYTES = 32_000_000
"""Largest file the editor opens. Measured (tests/bench_big_document.py, README "Measuring"): a key
costs the same at 64 MB as in a short note, but opening grows with the size (32 MB: painted 2 s
after launch, 64 MB: over 2 s of loading alone), so does memory (32 MB with the default model: 705
MB resident; the text is held as rows, by the engine and as the saved copy), a save (0.4 s at 32
MB) and a recovery copy (0.5 s, so made every 5 s instead of 2); and a file past this is most likely
a log or a data dump rather than writing."""

SNIFF_BYTES = 8192
BOM = "\ufeff"


class DocumentError(Exception):
    """A file the editor cannot open or save; the message is one line."""


class ChangedOnDisk(DocumentError):
    """The file changed on disk since it was read or last saved; saving would overwrite that."""


@dataclass(frozen=True)
class DiskState:
    """What a file held when the editor read or wrote it."""

    mtime_ns: int
    size: int
    sha256: str

    @classmethod
    def of(cls, st: os.stat_result, data: bytes) -> "DiskState":
        return cls(st.st_mtime_ns, st.st_size, hashlib.sha256(data).hexdigest())


@dataclass
class Document:
    """The text being edited and how to write it back the way the file had it."""

    path: Path | None
    text: str = ""
    newline: str = "\n"
    bom: bool = False
    exists: bool = False
    disk: DiskState | None = None  # the file as last read or written (None: there was none)

    @property
    def name(self) -> str:
        return self.path.name if self.path else "untitled"

    def encoded(self, text: str) -> bytes:
        """`text` (with `\\n` line ends) as the bytes this file should hold."""
        if self.newline != "\n":
            text = text.replace("\n", self.newline)
        return ((BOM if self.bom else "") + text).encode("utf-8")


def _size_label(n: int) -> str:
    return f"{n / 1e6:.1f} MB" if n >= 1e6 else f"{n / 1e3:.0f} KB"


def open_document(path: Path | str | None, max_bytes: int = MAX_BYTES) -> Document:
    """Read `path` for editing; a missing file is an empty new document created on first save."""
    if path is None:
        return Document(path=None)
    path = Path(path).expanduser()
    shown = str(path)
    if path.is_dir():
        raise DocumentError(f"{shown} is a folder, not a file")
    try:
        st = path.stat()
    except FileNotFoundError:
        if not path.parent.is_dir():
            raise DocumentError(f"cannot create {shown}: folder {path.parent} does not exist") from None
        return Document(path=path)
    except OSError as exc:
        raise DocumentError(f"cannot open {shown}: {exc.strerror or exc}") from None
    if not stat.S_ISREG(st.st_mode):
        raise DocumentError(f"{shown} is not a regular file")
    if st.st_size > max_bytes:
        raise DocumentError(
            f"{shown} is {_size_label(st.st_size)}: tuiwriter opens files up to {_size_label(max_bytes)}")
    try:
        data, disk = _read_steady(path)
    except OSError as exc:
        raise DocumentError(f"cannot read {shown}: {exc.strerror or exc}") from None
    if len(data) > max_bytes:
        raise DocumentError(
            f"{shown} is {_size_label(len(data))}: tuiwriter opens files up to {_size_label(max_bytes)}")
    if b"\x00" in data:
        raise DocumentError(f"{shown} looks like a binary file (it contains NUL bytes)")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DocumentError(f"{shown} is not UTF-8 text (bad byte at offset {exc.start})") from None
    bom = text.startswith(BOM)
    if bom:
        text = text[1:]
    newline = "\r\n" if "\r\n" in text[:SNIFF_BYTES] else "\n"
    if "\r" in text:
        text = text.replace("\r\n", "\n")
    return Document(path=path, text=text, newline=newline, bom=bom, exists=True, disk=disk)


def _read_steady(path: Path, tries: int = 3) -> tuple[bytes, DiskState]:
    """The file's bytes and their DiskState, read again if it changed while being read."""
    for _ in range(tries):
        with open(path, "rb") as fh:
            before = os.fstat(fh.fileno())
            data = fh.read()
            after = os.fstat(fh.fileno())
        if (before.st_mtime_ns, before.st_size) == (after.st_mtime_ns, after.st_size) == (
                after.st_mtime_ns, len(data)):
            break
    return data, DiskState.of(after, data)


def _hash_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass(frozen=True)
class DiskCheck:
    """How the file on disk compares with what the document last read or wrote."""

    change: str  # "same", "changed", "deleted" (the file is gone) or "created" (a file appeared)
    state: DiskState | None = None  # for "same": the state to remember (its time may have moved)
    seen: tuple[int, int] | None = None  # the file's (mtime_ns, size) as found (None: no file)


def disk_change(doc: Document) -> DiskCheck:
    """Compare the file with `doc.disk`: a stat, and a hash only when the time moved but the size
    did not (a sync tool touching the file changes nothing). Safe to run in a worker thread."""
    if doc.path is None:
        return DiskCheck("same")
    try:
        st = os.stat(doc.path)
    except FileNotFoundError:
        return DiskCheck("deleted" if doc.disk else "same")
    except OSError:
        return DiskCheck("same")  # cannot tell: saving will say what is wrong
    seen = (st.st_mtime_ns, st.st_size)
    known = doc.disk
    if known is None:
        return DiskCheck("created", seen=seen)
    if seen == (known.mtime_ns, known.size):
        return DiskCheck("same", known, seen)
    if st.st_size != known.size:
        return DiskCheck("changed", seen=seen)
    try:
        digest = _hash_file(doc.path)
    except OSError:
        return DiskCheck("same")
    if digest != known.sha256:
        return DiskCheck("changed", seen=seen)
    return DiskCheck("same", replace(known, mtime_ns=st.st_mtime_ns), seen)


def _new_file_mode() -> int:
    """What `open(..., "w")` would give a new file: 0o666 less the umask."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def save_document(doc: Document, text: str, path: Path | None = None, overwrite: bool = False) -> Path:
    """Atomically write `text` to `path` (default: the document's); returns the path written.

    The file keeps its permission bits; a symlink is followed so the link stays a link. Writing
    the document's own file after another program changed (or created) it raises ChangedOnDisk,
    unless `overwrite`; a deleted file is simply written again.
    """
    target = Path(path or doc.path or "").expanduser()
    if not str(target):
        raise DocumentError("no file name to save to")
    if not overwrite and doc.path is not None and _same_file(target, doc.path):
        change = disk_change(doc).change
        if change in ("changed", "created"):
            raise ChangedOnDisk(f"{target} changed on disk since it was "
                                f"{'opened' if change == 'changed' else 'created by another program'}")
    real = Path(os.path.realpath(target))
    try:
        mode = stat.S_IMODE(real.stat().st_mode)
    except FileNotFoundError:
        mode = _new_file_mode()
    except OSError as exc:
        raise DocumentError(f"cannot save {target}: {exc.strerror or exc}") from None
    if real.is_dir():
        raise DocumentError(f"cannot save: {target} is a folder")
    payload = doc.encoded(text)
    try:
        atomic_write(real, payload, mode=mode)
        written = os.stat(real)
    except OSError as exc:
        raise DocumentError(f"cannot save {target}: {exc.strerror or exc}") from None
    doc.path = target
    doc.exists = True
    doc.disk = DiskState.of(written, payload)
    return target


def _same_file(a: Path, b: Path) -> bool:
    return os.path.realpath(Path(a).expanduser()) == os.path.realpath(Path(b).expanduser())
