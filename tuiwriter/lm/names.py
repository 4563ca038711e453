"""Model names and sizes: what a person types after `--model` and `--size`.

No torch here, so the editor, its screens and the background job can use them before torch is
imported (the model store, which reads checkpoints, does import it).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from tuiwriter.paths import models_dir

DEFAULT = "default"  # the shipped model's name
CHECKPOINT_FILE = "model.safetensors"  # a trained model's file in its folder
RESUME_FILE = "resume.safetensors"  # optimizer state of an interrupted run
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
MAX_NAME = 64

# Sizes chosen by measuring training throughput and completion latency on a 2-core CPU
# (figures in README.md), smallest first. `tiny` exists for tests.
SIZES: dict[str, dict[str, int]] = {
    "tiny": dict(embed=16, hidden=48, layers=1),
    "small": dict(embed=32, hidden=256, layers=2),
    "medium": dict(embed=48, hidden=384, layers=2),
    "base": dict(embed=64, hidden=512, layers=2),
    "large": dict(embed=64, hidden=768, layers=2),
}


def name_problem(name: str) -> str | None:
    """Why `name` cannot name a trained model (one line), or None when it can."""
    if name == DEFAULT:
        return "'default' is the shipped model's name: pick another --model name"
    if not NAME_RE.match(name):
        return f"bad model name {name!r}: use letters, digits, '.', '_' or '-' (at most {MAX_NAME})"
    return None


def from_path(path: str | Path, taken: set[str] | frozenset[str] = frozenset()) -> str:
    """A model name from a file or folder name ("notes.md" -> "notes"), made unique against
    `taken` (and the shipped model's name) with -2, -3, …"""
    stem = Path(os.path.abspath(os.path.expanduser(str(path)))).name
    if "." in stem.lstrip("."):
        stem = Path(stem).stem
    base = re.sub(r"[^A-Za-z0-9._-]", "-", stem).strip("-._") or "notes"
    name, n = base[:MAX_NAME], 2
    while name in taken or name == DEFAULT:
        suffix = f"-{n}"
        name, n = base[: MAX_NAME - len(suffix)] + suffix, n + 1
    return name


def saved(name: str) -> bool:
    """A trained model is saved under `name` (a folder without a checkpoint is a run that never
    saved, and does not hold the name)."""
    return NAME_RE.match(name) is not None and (models_dir() / name / CHECKPOINT_FILE).exists()


def taken() -> set[str]:
    """The names in use: every saved model's, and the shipped one's."""
    return {p.name for p in models_dir().iterdir() if saved(p.name)} | {DEFAULT}
