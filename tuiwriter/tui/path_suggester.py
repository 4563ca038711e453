"""Completing a path from what is on disk, for every path field of the app (open, save as,
train on files)."""

from __future__ import annotations

import os
from pathlib import Path

from textual.suggester import Suggester


class PathSuggester(Suggester):
    """Suggests the first entry of the folder typed so far that starts with the last part
    (a folder with its "/"); hidden entries only once that part starts with ".". Right arrow
    takes the suggestion."""

    def __init__(self) -> None:
        super().__init__(use_cache=False, case_sensitive=True)

    async def get_suggestion(self, value: str) -> str | None:
        if not value:
            return None
        head, slash, prefix = value.rpartition("/")
        folder = Path(os.path.expanduser(head + "/")) if slash else Path(".")
        try:
            names = sorted(e.name + ("/" if e.is_dir() else "") for e in os.scandir(folder)
                           if e.name.startswith(prefix) and (prefix.startswith(".") or not e.name.startswith(".")))
        except OSError:
            return None
        names = [n for n in names if n != prefix]
        return value[: len(value) - len(prefix)] + names[0] if names else None
