"""The text the engine has read, kept so that typing never copies the whole document.

A Python string is immutable: appending a character to a 10 MB document copies 10 MB, and so does
cutting it short after an edit. `DocText` keeps a large immutable `base` (a snapshot taken now and
then), how much of it is still the document (`valid`), and the short `tail` typed since. Appending
and truncating touch only the tail; the base is rebuilt (one copy) when the tail grows past
`TAIL_MAX`, which amortises to nothing per keystroke.

The engine also accepts a *snapshot* from the editor instead of a string (`TextSnapshot`): the
editor keeps a log of where the document changed, so the engine learns which prefix of its text is
still valid without comparing megabytes, and it reads only the characters it needs.
"""

from __future__ import annotations

from typing import Protocol, overload

from tuiwriter.text.prefix import common_prefix_len

TAIL_MAX = 1 << 16  # characters typed before the base is rebuilt


class TextSnapshot(Protocol):
    """The document at one moment, as the editor hands it to the engine."""

    version: int  # grows with every change of the document

    def __len__(self) -> int: ...

    def __getitem__(self, index: slice) -> str: ...

    def unchanged_before(self, version: int) -> int:
        """An offset before which the text is the same as it was at `version` (0 when unknown)."""


class DocText:
    """A growing, shrinking prefix of the document: slicing and len() as for a str."""

    def __init__(self, text: str = "") -> None:
        self.base = text
        self.valid = len(text)
        self.tail = ""

    def __len__(self) -> int:
        return self.valid + len(self.tail)

    def __str__(self) -> str:
        return self.base[: self.valid] + self.tail

    @overload
    def __getitem__(self, index: int) -> str: ...

    @overload
    def __getitem__(self, index: slice) -> str: ...

    def __getitem__(self, index: int | slice) -> str:
        if isinstance(index, int):
            if index < 0:
                index += len(self)
            if not 0 <= index < len(self):
                raise IndexError("DocText index out of range")
            return self.base[index] if index < self.valid else self.tail[index - self.valid]
        start, stop, step = index.indices(len(self))
        if step != 1:
            raise ValueError("DocText slices have no step")
        valid = self.valid
        if stop <= valid:
            return self.base[start:stop]
        if start >= valid:
            return self.tail[start - valid: stop - valid]
        return self.base[start:valid] + self.tail[: stop - valid]

    def truncate(self, n: int) -> None:
        """Forget everything from position n on."""
        if n >= len(self):
            return
        if n <= self.valid:
            self.valid, self.tail = n, ""
        else:
            self.tail = self.tail[: n - self.valid]

    def append(self, text: str) -> None:
        self.tail += text
        if len(self.tail) > TAIL_MAX:
            self.compact()

    def compact(self) -> str:
        """Make the base the whole text (one copy) and return it."""
        if self.tail or self.valid != len(self.base):
            self.base = self.base[: self.valid] + self.tail
            self.valid, self.tail = len(self.base), ""
        return self.base

    def common_prefix_len(self, text: str) -> int:
        """How many leading characters `text` shares with this one, at C speed."""
        valid = self.valid
        base = self.base
        if valid == len(base):
            same_base = text.startswith(base)
        else:
            same_base = len(text) >= valid and text.startswith(base[:valid])
        if not same_base:
            return common_prefix_len(base[:valid], text[:valid])
        return valid + common_prefix_len(self.tail, text[valid: valid + len(self.tail)])
