"""Build a training corpus from the files and folders a person points at, in bounded memory.

`collect` walks the folders and decides, file by file, what training may read: readable UTF-8
text, not excluded by a rule (hidden, a secret by name, named in a `.gitignore` or
`.tuiwriterignore`), with its secret-looking spans found (`secrets`). It says why for every
file it leaves out, and keeps per file only what it needs to read it again (path, size, a
digest, the spans to remove), plus one character histogram for a new vocabulary: never the
text, so a folder of hundreds of MB costs a few MB until training reads it.

Training reads it again, file by file (`Corpus.iter_texts`): `encode` turns each file into
vocabulary ids with numpy, straight into one preallocated byte array per split, so the corpus
is held once, as one byte per character. A file that changed on disk in between is checked and
scrubbed afresh.

A file named on the command line is read even when an ignore file would exclude it (the person
asked for that file; ignore files say what a folder walk should leave out), but never when its
name says it holds secrets, and its secret-looking spans are removed like any other's.
"""

from __future__ import annotations

import errno
import hashlib
import os
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from tuiwriter.text.ignore import IgnoreFileError, IgnoreRules
from tuiwriter.text.secrets import Secret, is_secret_name, remove_spans, scrub
from tuiwriter.text.vocab import Vocab, code_points

MAX_FILE_BYTES = 20_000_000
MIN_CORPUS_CHARS = 1_000
JOIN = "\n\n"
HISTOGRAM_CHUNK = 1 << 20  # characters counted at a time (numpy's bincount copies to 8-byte ints)

SECRET_NAME = "secret file name"
ONLY_SECRETS = "nothing but secrets"


class CorpusError(Exception):
    """A problem with the input that the user must fix; the message is one line."""


@dataclass(frozen=True)
class SourceFile:
    """A kept file: enough to read it again, not its text."""

    path: Path
    size: int  # bytes on disk when collected
    digest: bytes  # of those bytes: a file that changed since is checked and scrubbed afresh
    chars: int  # characters of its text once the secret-looking spans are removed
    secrets: tuple[Secret, ...] = ()  # the spans removed (offsets into the text as read)


@dataclass
class Corpus:
    files: list[SourceFile] = field(default_factory=list)
    skipped: list[tuple[Path, str]] = field(default_factory=list)  # not usable text, and why
    excluded: list[tuple[Path, str]] = field(default_factory=list)  # left out by a rule, and which
    char_counts: dict[str, int] = field(default_factory=dict)  # characters of the kept text (vocabulary)

    @property
    def chars(self) -> int:
        return sum(f.chars for f in self.files)

    @property
    def bytes(self) -> int:
        return sum(f.size for f in self.files)

    @property
    def masked(self) -> list[SourceFile]:
        """The kept files that had secret-looking spans removed."""
        return [f for f in self.files if f.secrets]

    def summary(self) -> str:
        """One line: what was kept, excluded, skipped and removed."""
        line = f"{len(self.files)} file(s) kept, {self.chars:,} characters"
        if self.excluded:
            line += "; excluded " + _count_reasons(self.excluded)
        if self.skipped:
            line += "; skipped " + _count_reasons(self.skipped)
        if masked := self.masked:
            spans = sum(len(f.secrets) for f in masked)
            line += f"; {spans} secret-looking span(s) removed from {len(masked)} file(s)"
        return line

    def report(self, limit: int = 10, name: Callable[[Path], str] = str) -> list[str]:
        """A line per file excluded, skipped or scrubbed, saying why, at most `limit` per reason
        (then how many more); `name` shows a path."""
        lines: list[str] = []
        for verb, entries in (("excluded", self.excluded), ("skipped", self.skipped)):
            by_reason: dict[str, list[Path]] = {}
            for path, why in entries:
                by_reason.setdefault(why, []).append(path)
            for why, paths in by_reason.items():
                for path in paths[:limit]:
                    slash = "/" if verb == "excluded" and path.is_dir() else ""
                    lines.append(f"{verb} {name(path)}{slash} ({why})")
                if len(paths) > limit:
                    lines.append(f"… and {len(paths) - limit} more {verb} ({why})")
        masked = self.masked
        for f in masked[:limit]:
            kinds = ", ".join(dict.fromkeys(s.kind for s in f.secrets))
            lines.append(f"removed {len(f.secrets)} secret-looking span(s) from {name(f.path)} ({kinds})")
        if len(masked) > limit:
            lines.append(f"… and {len(masked) - limit} more file(s) with secret-looking spans removed")
        return lines

    def iter_texts(self, start: int = 0) -> Iterator[tuple[SourceFile, str]]:
        """Each kept file from index `start` on, with its text as training reads it (secret-looking
        spans removed), read again from disk one at a time. A file that changed since `collect`
        is checked and scrubbed afresh; one that is gone or no longer text is left out."""
        for f in self.files[start:]:
            text = reread(f)
            if text is not None:
                yield f, text


def _count_reasons(entries: list[tuple[Path, str]]) -> str:
    reasons: dict[str, int] = {}
    for _, why in entries:
        reasons[why] = reasons.get(why, 0) + 1
    return ", ".join(f"{n} {why}" for why, n in sorted(reasons.items()))


def _digest(data: bytes) -> bytes:
    return hashlib.blake2b(data, digest_size=16).digest()


def _decode(data: bytes) -> tuple[str | None, str]:
    """The text of a file's bytes, or None and the reason it is not text."""
    if b"\x00" in data:
        return None, "binary"
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None, "not valid UTF-8"
    if text.startswith("\ufeff"):
        text = text[1:]
    return text.replace("\r\n", "\n"), ""


def _read(path: Path, max_bytes: int) -> tuple[bytes | None, str]:
    """A file's bytes, or None and the reason it was skipped."""
    try:
        if path.stat().st_size > max_bytes:
            return None, "over the size cap"
        with open(path, "rb") as fh:
            data = fh.read(max_bytes + 1)
    except OSError:
        return None, "unreadable"
    if len(data) > max_bytes:  # it grew since stat
        return None, "over the size cap"
    return data, ""


def reread(f: SourceFile) -> str | None:
    """The cleaned text of a kept file as it is on disk now, or None when it is no longer text."""
    data, _ = _read(f.path, max(f.size, MAX_FILE_BYTES))
    if data is None:
        return None
    unchanged = len(data) == f.size and _digest(data) == f.digest
    text, _ = _decode(data)
    del data
    if text is None:
        return None
    return remove_spans(text, list(f.secrets)) if unchanged else scrub(text)[0]


class _CharCounter:
    """How often each character occurs, counted with numpy a chunk at a time."""

    def __init__(self) -> None:
        self.counts = np.zeros(256, dtype=np.int64)

    def add(self, text: str) -> None:
        points = code_points(text)
        for at in range(0, len(points), HISTOGRAM_CHUNK):
            counted = np.bincount(points[at:at + HISTOGRAM_CHUNK])
            if len(counted) > len(self.counts):
                grown = np.zeros(len(counted), dtype=np.int64)
                grown[:len(self.counts)] = self.counts
                self.counts = grown
            self.counts[:len(counted)] += counted

    def as_dict(self) -> dict[str, int]:
        return {chr(c): int(self.counts[c]) for c in np.flatnonzero(self.counts)}


def _walk(root: Path, corpus: Corpus, rules: IgnoreRules, seen_dirs: set[tuple[int, int]]) -> list[Path]:
    """Text candidates under root, following symlinks once; hidden entries, secret file names and
    what ignore files name are excluded, symlink loops skipped."""
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
        rules = rules.enter(root)
    except IgnoreFileError as exc:
        raise CorpusError(str(exc)) from None
    try:
        entries = sorted(os.scandir(root), key=lambda e: e.name)
    except OSError:
        corpus.skipped.append((root, "unreadable"))
        return found
    for entry in entries:
        path = Path(entry.path)
        try:
            is_dir = entry.is_dir()
            is_file = entry.is_file()
        except OSError:
            corpus.skipped.append((path, "symlink loop"))
            continue
        if is_file and is_secret_name(entry.name):
            corpus.excluded.append((path, SECRET_NAME))
        elif entry.name.startswith("."):
            corpus.excluded.append((path, "hidden folder" if is_dir else "hidden file"))
        elif ignored_by := rules.excluded_by(path, is_dir):
            corpus.excluded.append((path, ignored_by))
        elif is_dir:
            found.extend(_walk(path, corpus, rules, seen_dirs))
        elif is_file:
            found.append(path)
        elif entry.is_symlink():
            corpus.skipped.append((path, "broken or looping symlink"))
    return found


def _check_symlink(path: Path, raw: str | Path) -> None:
    if path.is_symlink() and not path.exists():
        try:
            path.resolve(strict=True)
        except RuntimeError:  # Python 3.11 and 3.12
            raise CorpusError(f"symlink loop: {raw}") from None
        except OSError as exc:  # 3.13 reports a loop as ELOOP
            kind = "symlink loop" if exc.errno == errno.ELOOP else "broken symlink"
            raise CorpusError(f"{kind}: {raw}") from None


def collect(paths: list[str | Path], max_file_bytes: int = MAX_FILE_BYTES,
            min_chars: int = MIN_CORPUS_CHARS) -> Corpus:
    """Check every text file under `paths` (reading each once); raise CorpusError when nothing
    usable remains."""
    corpus = Corpus()
    candidates: list[Path] = []
    seen_dirs: set[tuple[int, int]] = set()
    if not paths:
        raise CorpusError("no files or folders given")
    for raw in paths:
        path = Path(raw).expanduser()
        _check_symlink(path, raw)
        if not path.exists():
            raise CorpusError(f"no such file or folder: {raw}")
        if path.is_dir():
            under = _walk(path, corpus, IgnoreRules(), seen_dirs)
            left_out = corpus.skipped + corpus.excluded
            if not under and not any(p != path and path in p.parents for p, _ in left_out):
                raise CorpusError(f"empty folder: {raw}")
            candidates.extend(under)
        elif is_secret_name(path.name):
            corpus.excluded.append((path, SECRET_NAME))
        else:
            candidates.append(path)
    counter = _CharCounter()
    seen_files: set[Path] = set()
    for path in candidates:
        real = path.resolve()
        if real in seen_files:
            continue
        seen_files.add(real)
        data, why = _read(path, max_file_bytes)
        if data is None:
            corpus.skipped.append((path, why))
            continue
        size, digest = len(data), _digest(data)
        text, why = _decode(data)
        del data
        if text is None:
            corpus.skipped.append((path, why))
        elif not text.strip():
            corpus.skipped.append((path, "empty"))
        else:
            clean, spans = scrub(text)
            del text
            if not clean.strip():
                corpus.excluded.append((path, ONLY_SECRETS))
                continue
            corpus.files.append(SourceFile(path, size, digest, len(clean), tuple(spans)))
            counter.add(clean)
    corpus.char_counts = counter.as_dict()
    if not corpus.files:
        what = "; ".join(f"{verb}: {', '.join(sorted({why for _, why in entries}))}"
                         for verb, entries in (("excluded", corpus.excluded), ("skipped", corpus.skipped)) if entries)
        raise CorpusError(f"no text files found in {', '.join(map(str, paths))} ({what or 'nothing found'})")
    if corpus.chars < min_chars:
        raise CorpusError(
            f"corpus too small to train on: {corpus.chars:,} characters (need at least {min_chars:,})"
        )
    return corpus


@dataclass(frozen=True)
class Split:
    """Which text validates: whole held-out files, or (none held) the tail of the joined text."""

    held: tuple[int, ...]  # indices into corpus.files, in corpus order
    cut: int  # with no held-out file: the characters of the joined text that train

    def held_paths(self, corpus: Corpus) -> list[Path]:
        return [corpus.files[i].path for i in self.held]


def split(corpus: Corpus, val_fraction: float = 0.1, seed: int = 0) -> Split:
    """Choose the validation text.

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
            n = corpus.files[i].chars
            if held_chars + n <= 1.5 * target:
                held.append(i)
                held_chars += n
            if held_chars >= 0.5 * target:
                break
        if held and held_chars >= 0.5 * target and len(held) < len(corpus.files):
            return Split(tuple(sorted(held)), 0)
    joined = total + len(JOIN) * (len(corpus.files) - 1)
    return Split((), int(joined * (1 - val_fraction)))


class _IdWriter:
    """Files' ids written one after another into one preallocated array, JOIN between them."""

    def __init__(self, size: int, vocab: Vocab) -> None:
        self.vocab = vocab
        self.ids = np.empty(size, dtype=vocab.ids_dtype)
        self.join = vocab.encode_array(JOIN)
        self.used = 0
        self.parts = 0

    def add(self, text: str) -> None:
        for piece in ((JOIN, text) if self.parts else (text,)):
            end = self.used + len(piece)
            if end > len(self.ids):  # the file grew on disk since collect: make room (rare)
                grown = np.empty(max(end, len(self.ids) + len(self.ids) // 4), dtype=self.ids.dtype)
                grown[:self.used] = self.ids[:self.used]
                self.ids = grown
            self.vocab.encode_array(piece, out=self.ids[self.used:end])
            self.used = end
        self.parts += 1

    def result(self) -> np.ndarray:
        return self.ids[:self.used]


def _joined_size(files: list[SourceFile]) -> int:
    return sum(f.chars for f in files) + len(JOIN) * max(0, len(files) - 1)


def encode(corpus: Corpus, vocab: Vocab, plan: Split) -> tuple[np.ndarray, np.ndarray]:
    """The training and validation text as vocabulary ids (`vocab.ids_dtype`), each the files
    in corpus order joined by JOIN, exactly as `vocab.encode` would give them; read file by file
    into preallocated arrays, so the text is never held whole as a string."""
    held = set(plan.held)
    if not held:
        writer = _IdWriter(_joined_size(corpus.files), vocab)
        for _, text in corpus.iter_texts():
            writer.add(text)
        ids = writer.result()
        cut = min(plan.cut, len(ids))
        return ids[:cut], ids[cut:]
    held_paths = {corpus.files[i].path for i in held}
    train = _IdWriter(_joined_size([f for i, f in enumerate(corpus.files) if i not in held]), vocab)
    val = _IdWriter(_joined_size([corpus.files[i] for i in sorted(held)]), vocab)
    for f, text in corpus.iter_texts():
        (val if f.path in held_paths else train).add(text)
    return train.result(), val.result()
