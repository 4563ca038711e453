"""The layout's rules hold: import contracts (import-linter), torch-free start-up modules, and a
package list that installs every subpackage and stylesheet."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import tuiwriter

ROOT = Path(tuiwriter.__file__).resolve().parent.parent
PACKAGE = ROOT / "tuiwriter"


def _modules(*packages: str) -> list[str]:
    found = []
    for package in packages:
        folder = PACKAGE.joinpath(*package.split(".")[1:])
        for path in sorted(folder.rglob("*.py")):
            if path.name == "__main__.py":
                continue
            parts = path.relative_to(ROOT).with_suffix("").parts
            found.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return found


def test_import_contracts_hold():
    lint = Path(sys.executable).parent / "lint-imports"
    out = subprocess.run([str(lint), "--no-cache", "--config", str(ROOT / "pyproject.toml")], cwd=ROOT,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-2000:]
    assert "0 broken" in out.stdout


def test_the_editor_and_the_commands_start_without_torch():
    """`tuiwriter FILE` paints before torch loads: nothing it imports at start-up may import it."""
    modules = _modules("tuiwriter.tui", "tuiwriter.cli", "tuiwriter.text") + [
        "tuiwriter.lm.names", "tuiwriter.training.job", "tuiwriter.settings", "tuiwriter.paths"]
    code = f"import importlib, sys\nfor m in {modules!r}: importlib.import_module(m)\nprint('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert out.stdout.strip() == "False", out.stderr


def test_every_package_and_stylesheet_is_installed():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed = set(config["packages"])
    on_disk = {".".join(p.parent.relative_to(ROOT).parts) for p in PACKAGE.rglob("__init__.py")}
    assert on_disk <= listed, f"not in pyproject's packages: {sorted(on_disk - listed)}"
    for sheet in PACKAGE.rglob("*.tcss"):
        package = ".".join(sheet.parent.relative_to(ROOT).parts)
        assert "*.tcss" in config["package-data"].get(package, []), f"{sheet} is not package data"
