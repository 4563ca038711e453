"""`.gitignore` and `.tuiwriterignore` files: what a person asked tools not to read.

Both use gitignore syntax (negation with `!`, `dir/` for folders only, `/anchored` patterns,
`**`), and each applies to its own folder and everything below it, as git applies them: the
deepest file with a matching pattern decides, and within a file the last matching pattern
wins. In one folder `.tuiwriterignore` is read after `.gitignore`, so it can exclude more or
take back (`!notes.md`) what `.gitignore` excluded for git's sake. As in git, a file inside an
excluded folder cannot be taken back: the walk never enters that folder.

The patterns are compiled by `pathspec`, which implements git's matching rules; they are subtle
enough (trailing slashes, `**` at either end, escaped `!` and `#`) not to write again.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pathspec import GitIgnoreSpec

IGNORE_FILES = (".gitignore", ".tuiwriterignore")  # in the order they are applied


class IgnoreFileError(Exception):
    """An ignore file that exists but cannot be read (the message is one line): training stops
    rather than read what the file might have excluded."""


def _compile(lines: list[str]) -> GitIgnoreSpec:
    """The patterns of one ignore file; a line git would not understand is skipped, as git does."""
    try:
        return GitIgnoreSpec.from_lines(lines)
    except ValueError:  # pathspec's error for an invalid pattern, such as a lone `!`
        valid = []
        for line in lines:
            try:
                GitIgnoreSpec.from_lines([line])
            except ValueError:
                continue
            valid.append(line)
        return GitIgnoreSpec.from_lines(valid)


@dataclass(frozen=True)
class _Level:
    folder: Path
    specs: tuple[tuple[str, GitIgnoreSpec], ...]  # (ignore file's name, its patterns), in IGNORE_FILES order


@dataclass(frozen=True)
class IgnoreRules:
    """The ignore files in force in one folder of a walk: its own and those of the folders above
    it, up to the folder the walk started from."""

    levels: tuple[_Level, ...] = ()

    def enter(self, folder: Path) -> "IgnoreRules":
        """The rules inside `folder`: these plus the folder's own ignore files, if it has any."""
        specs = []
        for name in IGNORE_FILES:
            path = folder / name
            if not path.is_file():
                continue
            try:
                lines = path.read_bytes().decode("utf-8", errors="replace").splitlines()
            except OSError as exc:  # unread, it might hide what the person meant to keep private
                raise IgnoreFileError(f"cannot read {path}: {exc.strerror or exc}") from None
            specs.append((name, _compile(lines)))
        return IgnoreRules(self.levels + (_Level(folder, tuple(specs)),)) if specs else self

    def excluded_by(self, path: Path, is_dir: bool) -> str | None:
        """The name of the ignore file that excludes `path` (a file or folder under the walk's
        start), or None when no rule excludes it or the deciding rule is a `!` negation."""
        for level in reversed(self.levels):
            try:
                relative = path.relative_to(level.folder).as_posix()
            except ValueError:
                continue
            if is_dir:
                relative += "/"
            for name, spec in reversed(level.specs):
                decision = spec.check_file(relative).include
                if decision is not None:
                    return name if decision else None
        return None
