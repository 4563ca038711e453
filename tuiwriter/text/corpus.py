"""Build a training corpus from the files and folders a person points at.

Keeps readable UTF-8 text, skips what is not (binaries, hidden folders, huge or unreadable
files, symlink loops) and says why, then splits off held-out text for validation.
"""

from __future__ import annotations

import errno
import os
import random
from dataclasses import dataclass, field
from pathlib import Path

MAX_FILE_BYTES = 20_000_000
MIN_CORPUS_CHARS = 1_000
SNIFF_BYTES = 8192


class CorpusError(Exception):
    """A problem with the input that the user must fix; the message is one line."""


@dataclass
class SourceFile:
    path: Path
    text: str


@dataclass
class Corpus:
    files: list[SourceFile] = field(default_factory=list)
    skipped: list[tuple[Path, str]] = field(default_factory=list)

    @property
    def chars(self) -> int:
        return sum(len(f.text) for f in self.files)

    @property
    def bytes(self) -> int:
        return sum(len(f.text.encode("utf-8")) for f in self.files)

    def summary(self) -> str:
        """One line: what was kept and what was skipped."""
        line = f"{len(self.files)} file(s) kept, {self.chars:,} characters"
        if self.skipped:
            reasons: dict[str, int] = {}
            for _, why in self.skipped:
                reasons[why] = reasons.get(why, 0) + 1
            line += "; skipped " + ", ".join(f"{n} {why}" for why, n in sorted(reasons.items()))
        return line


def _read_text(path: Path, max_bytes: int) -> tuple[str | None, str]:
    """The file's text, or None and the reason it was skipped."""
    try:
        size = path.stat().st_size
        if size > max_bytes:
            return None, "over the size cap"
        with open(path, "rb") as fh:
            data = fh.read()
    except OSError:
        return None, "unreadable"
    if b"\x00" in data[:SNIFF_BYTES] or b"\x00" in data:
        return None, "binary"
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None, "not valid UTF-8"
    if text.startswith("\ufeff"):
        text = text[1:]
    return text.replace("\r\n", "\n"), ""


def _walk(root: Path, corpus: Corpus, max_bytes: int, seen_dirs: set[tuple[int, int]]) -> list[Path]:
    """Text candidates under root, following symlinks once, skipping hidden folders and loops."""
    found: list[Path] = []
    try:
        st = root.stat()
    except OSError:
        corpus.skipped.append((root, "unreadable"))
        return found
    key = (st.st_dev, st.st_ino)
    if key in seen_dirs:
        corpus.skipped.append((root, "symlink loop"))
        return found
    seen_dirs.add(key)
    try:
        entries = sorted(os.scandir(root), key=lambda e: e.name)
    except OSError:
        corpus.skipped.append((root, "unreadable"))
        return found
    for entry in entries:
        path = Path(entry.path)
        if entry.name.startswith("."):
            if entry.is_dir():
                corpus.skipped.append((path, "hidden folder"))
            else:
                corpus.skipped.append((path, "hidden file"))
            continue
        try:
            is_dir = entry.is_dir()
            is_file = entry.is_file()
        except OSError:
            corpus.skipped.append((path, "symlink loop"))
            continue
        if is_dir:
            found.extend(_walk(path, corpus, max_bytes, seen_dirs))
        elif is_file:
            found.append(path)
        elif entry.is_symlink():
            corpus.skipped.append((path, "broken or looping symlink"))
    return found


def collect(paths: list[str | Path], max_file_bytes: int = MAX_FILE_BYTES,
            min_chars: int = MIN_CORPUS_CHARS) -> Corpus:
    """Read every text file under `paths`; raise CorpusError when nothing usable remains."""
    corpus = Corpus()
    candidates: list[Path] = []
    seen_dirs: set[tuple[int, int]] = set()
    if not paths:
        raise CorpusError("no files or folders given")
    for raw in paths:
        path = Path(raw).expanduser()
        if path.is_symlink() and not path.exists():
            try:
                path.resolve(strict=True)
            except RuntimeError:  # Python 3.11 and 3.12
                raise CorpusError(f"symlink loop: {raw}") from None
            except OSError as exc:  # 3.13 reports a loop as ELOOP
                kind = "symlink loop" if exc.errno == errno.ELOOP else "broken symlink"
                raise CorpusError(f"{kind}: {raw}") from None
        if not path.exists():
            raise CorpusError(f"no such file or folder: {raw}")
        if path.is_dir():
            under = _walk(path, corpus, max_file_bytes, seen_dirs)
            if not under and not any(p != path and path in p.parents for p, _ in corpus.skipped):
                raise CorpusError(f"empty folder: {raw}")
            candidates.extend(under)
        else:
            candidates.append(path)
    seen_files: set[Path] = set()
    for path in candidates:
        real = path.resolve()
        if real in seen_files:
            continue
        seen_files.add(real)
        text, why = _read_text(path, max_file_bytes)
        if text is None:
            corpus.skipped.append((path, why))
        elif not text.strip():
            corpus.skipped.append((path, "empty"))
        else:
            corpus.files.append(SourceFile(path, text))
    if not corpus.files:
        what = ", ".join(sorted({why for _, why in corpus.skipped})) or "nothing found"
        raise CorpusError(f"no text files found in {', '.join(map(str, paths))} (skipped: {what})")
    if corpus.chars < min_chars:
        raise CorpusError(
            f"corpus too small to train on: {corpus.chars:,} characters (need at least {min_chars:,})"
        )
    return corpus


JOIN = "\n\n"


def split(corpus: Corpus, val_fraction: float = 0.1, seed: int = 0) -> tuple[str, str, list[Path]]:
    """Train text, validation text and the held-out files.

    With several files, whole files are held out (so validation measures writing the model has
    not seen); when no file fits the fraction, the tail of the text is held out instead.
    """
    total = corpus.chars
    target = total * val_fraction
    if len(corpus.files) >= 3:
        order = list(range(len(corpus.files)))
        random.Random(seed).shuffle(order)
        held: list[int] = []
        held_chars = 0
        for i in order:
            n = len(corpus.files[i].text)
            if held_chars + n <= 1.5 * target:
                held.append(i)
                held_chars += n
            if held_chars >= 0.5 * target:
                break
        if held and held_chars >= 0.5 * target and len(held) < len(corpus.files):
            train = JOIN.join(f.text for i, f in enumerate(corpus.files) if i not in held)
            val = JOIN.join(corpus.files[i].text for i in sorted(held))
            return train, val, [corpus.files[i].path for i in sorted(held)]
    text = JOIN.join(f.text for f in corpus.files)
    cut = int(len(text) * (1 - val_fraction))
    return text[:cut], text[cut:], []
