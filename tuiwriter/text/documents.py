"""Opening and saving the document the person edits.

The editor works on text with `\\n` line ends (one document character = one model step), so a
file's BOM and CRLF line ends are taken off on open and put back on save. Binary files and files
over a size cap are refused with a one-line message before anything is shown. Saves go through
`paths.atomic_write` and keep the file's permissions; a symlink is written through, not replaced.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path

from tuiwriter.paths import atomic_write

MAX_BYTES = 4_000_000
"""Largest file the editor opens: TextArea stays responsive well past this, a notes file rarely
gets near it, and a bigger file is most likely a log or data dump rather than writing."""

SNIFF_BYTES = 8192
BOM = "\ufeff"


class DocumentError(Exception):
    """A file the editor cannot open or save; the message is one line."""


@dataclass
class Document:
    """The text being edited and how to write it back the way the file had it."""

    path: Path | None
    text: str = ""
    newline: str = "\n"
    bom: bool = False
    exists: bool = False

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
        data = path.read_bytes()
    except OSError as exc:
        raise DocumentError(f"cannot read {shown}: {exc.strerror or exc}") from None
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
    return Document(path=path, text=text, newline=newline, bom=bom, exists=True)


def _new_file_mode() -> int:
    """What `open(..., "w")` would give a new file: 0o666 less the umask."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def save_document(doc: Document, text: str, path: Path | None = None) -> Path:
    """Atomically write `text` to `path` (default: the document's); returns the path written.

    The file keeps its permission bits; a symlink is followed so the link stays a link.
    """
    target = Path(path or doc.path or "").expanduser()
    if not str(target):
        raise DocumentError("no file name to save to")
    real = Path(os.path.realpath(target))
    try:
        mode = stat.S_IMODE(real.stat().st_mode)
    except FileNotFoundError:
        mode = _new_file_mode()
    except OSError as exc:
        raise DocumentError(f"cannot save {target}: {exc.strerror or exc}") from None
    if real.is_dir():
        raise DocumentError(f"cannot save: {target} is a folder")
    try:
        atomic_write(real, doc.encoded(text), mode=mode)
    except OSError as exc:
        raise DocumentError(f"cannot save {target}: {exc.strerror or exc}") from None
    doc.path = target
    doc.exists = True
    return target
