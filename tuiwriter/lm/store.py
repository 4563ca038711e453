"""The models a person has: trained ones in the user data dir, and the shipped default.

`--model` takes a name from the data dir, `default` (shipped in the package), or a path to a
checkpoint file; `resolve` turns any of those into a file path.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from tuiwriter.lm import checkpoint
from tuiwriter.lm.names import CHECKPOINT_FILE, DEFAULT, NAME_RE, name_problem
from tuiwriter.paths import models_dir


def shipped_default() -> Path:
    """The default model: `models/` at the repo root, installed as the `tuiwriter.models` package."""
    try:
        return Path(str(resources.files("tuiwriter.models").joinpath("default.safetensors")))
    except ModuleNotFoundError:  # running from a source tree that was not installed
        return Path(__file__).resolve().parents[2] / "models" / "default.safetensors"


def check_name(name: str) -> str:
    problem = name_problem(name)
    if problem:
        raise checkpoint.CheckpointError(problem)
    return name


def model_dir(name: str) -> Path:
    return models_dir() / check_name(name)


def resolve(spec: str) -> Path:
    """The checkpoint file for a model name, `default`, or a path."""
    if spec == DEFAULT:
        return shipped_default()
    if NAME_RE.match(spec) and (models_dir() / spec / CHECKPOINT_FILE).exists():
        return models_dir() / spec / CHECKPOINT_FILE
    path = Path(spec).expanduser()
    if path.is_dir() and (path / CHECKPOINT_FILE).exists():
        return path / CHECKPOINT_FILE
    if path.exists() or "/" in spec or spec.endswith(".safetensors"):
        return path
    raise checkpoint.CheckpointError(
        f"no model named {spec!r} (see `tuiwriter models`, or train one with `tuiwriter train`)")


def canonical(spec: str) -> str:
    """The spec to remember in config.toml: names as they are, a path made absolute so it
    still works when the editor starts in another folder."""
    path = resolve(spec)
    if spec == DEFAULT or path == models_dir() / spec / CHECKPOINT_FILE:
        return spec
    return str(path.resolve())


def load(spec: str) -> checkpoint.Checkpoint:
    return checkpoint.load(resolve(spec))


@dataclass
class ModelInfo:
    name: str
    path: Path
    params: int | None
    val_bpc: float | None
    trained_on: str
    when: str
    error: str | None = None
    level: str = "char"  # what the model predicts: "char" or "word" (val bits/char either way)

    def columns(self) -> tuple[str, str, str, str, str, str]:
        """name, level, parameters, val bits/char, what it was trained on, when: as the CLI and
        the models dialog show them."""
        if self.error:
            return (self.name, "-", "-", "-", f"unusable: {self.error}", "")
        params = f"{self.params / 1e6:.2f}M" if self.params else "-"
        bpc = f"{self.val_bpc:.3f}" if self.val_bpc is not None else "-"
        return (self.name, self.level, params, bpc, self.trained_on, self.when[:16].replace("T", " "))


def _info(name: str, path: Path) -> ModelInfo:
    try:
        ck = checkpoint.load(path)
    except checkpoint.CheckpointError as exc:
        return ModelInfo(name, path, None, None, "", "", error=str(exc))
    t = ck.training
    files = t.get("corpus_files") or []
    trained_on = t.get("corpus_label") or (
        f"{len(files)} file(s), {t.get('corpus_bytes', 0) / 1e6:.1f} MB" if files else "?")
    if t.get("from"):
        trained_on += f" (from {t['from']})"
    params = sum(v.numel() for v in ck.weights.values())
    return ModelInfo(name, path, params, t.get("val_bpc"), trained_on, str(t.get("finished_at", "")), level=ck.level)


def list_models() -> list[ModelInfo]:
    """The shipped default first, then trained models by name."""
    found: list[ModelInfo] = []
    if shipped_default().exists():
        found.append(_info(DEFAULT, shipped_default()))
    for sub in sorted(models_dir().iterdir()):
        if (sub / CHECKPOINT_FILE).exists():
            found.append(_info(sub.name, sub / CHECKPOINT_FILE))
    return found


def delete(name: str) -> None:
    """Remove a trained model; the shipped default cannot be deleted."""
    path = model_dir(name)
    if not path.exists():
        raise checkpoint.CheckpointError(f"no model named {name!r}")
    shutil.rmtree(path)
