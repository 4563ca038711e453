"""The one settings object, read from and written to `config.toml` in the config dir.

Read once at start; a broken file gives defaults and a warning the app shows, never a crash.
Written atomically with tomli-w (a well-kept TOML writer: TOML string escaping by hand is
easy to get subtly wrong, and Python ships only a reader).
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field, fields
from fnmatch import fnmatchcase
from pathlib import Path, PurePath

import tomli_w

from tuiwriter.paths import atomic_write, config_path

DEVICE_NAMES = re.compile(r"auto|cpu|mps|cuda(:[0-9]+)?")
# what a training run computes in (training.devices.autocast_dtype says what auto picks)
PRECISIONS = ("auto", "float32", "bfloat16")

SUGGESTIONS_OFF = ("*.env", ".env.*", "*.pem", "*.key", "*.csv", "*.tsv")
"""Files that get no ghost text unless config.toml says otherwise: secrets by convention (a ghost
there would at best be noise, at worst a plausible key) and tables of data, where a prose model's
guesses only get in the way."""


@dataclass
class Settings:
    model: str = "default"
    temperature: float = 0.0
    max_suggestion_chars: int = 40
    min_confidence: float = 0.0  # 0 means the engine's own default threshold
    suggestions: bool = True
    # The suggestions on/off key (Ctrl+G) writes `suggestions` here so the choice outlives the
    # session; false: the key lasts the session and every start uses `suggestions` as written.
    remember_toggle: bool = True
    # File patterns with no suggestions, in the editor and the language server. A pattern without
    # "/" is matched against the file name, one with "/" against the whole path (`~` is the home
    # folder); `*` matches anything, case is ignored. [] turns none off.
    suggestions_off: list[str] = field(default_factory=lambda: list(SUGGESTIONS_OFF))
    autosave_seconds: float = 2.0
    train_threads: int = 1
    # Where runs started from the editor train: auto (CUDA, then MPS, then the CPU), cpu, cuda,
    # cuda:N or mps. `tuiwriter train --device` is the same choice on the command line.
    device: str = "auto"
    # The person's remapped keys only (action = "key"); the defaults are the app's bindings.
    keys: dict[str, str] = field(default_factory=dict)

    def off_pattern(self, path: str | PurePath | None) -> str | None:
        """The first `suggestions_off` pattern that matches `path`, or None (suggestions on; an
        untitled buffer has no name to match)."""
        return off_pattern(self.suggestions_off, path)

    def clamp(self) -> "Settings":
        self.temperature = round(min(2.0, max(0.0, float(self.temperature))), 2)
        self.max_suggestion_chars = int(min(200, max(1, int(self.max_suggestion_chars))))
        return self


def load(path: Path | None = None) -> tuple[Settings, str | None]:
    """Settings from config.toml, and a one-line warning when the file had to be ignored."""
    path = path or config_path()
    settings = Settings()
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return settings, None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        return settings, f"ignored {path}: {str(exc).splitlines()[0]}"
    problems: list[str] = []
    known = {f.name: f for f in fields(Settings)}
    for key, value in raw.items():
        if key not in known:
            problems.append(f"unknown setting {key!r}")
            continue
        default = getattr(settings, key)
        if key == "keys":
            if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
                problems.append("keys must be a table of action = \"key\"")
                continue
            settings.keys.update(value)  # the app checks the action names against its bindings
        elif isinstance(default, list):
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                problems.append(f"{key} must be a list of strings")
                continue
            setattr(settings, key, list(value))
        elif isinstance(default, bool) != isinstance(value, bool) or not isinstance(
            value, (type(default), int) if isinstance(default, float) else type(default)
        ):
            problems.append(f"{key} should be {type(default).__name__}")
        elif key == "device" and device_problem(value):
            problems.append(device_problem(value))
        else:
            setattr(settings, key, value)
    settings.clamp()
    warning = f"{path}: {'; '.join(problems)}" if problems else None
    return settings, warning


def off_pattern(patterns: list[str] | tuple[str, ...], path: str | PurePath | None) -> str | None:
    """The first of `patterns` that matches `path` (see `Settings.suggestions_off`), or None."""
    if path is None:
        return None
    full = str(path).replace("\\", "/").lower()
    name = full.rstrip("/").rsplit("/", 1)[-1]
    for pattern in patterns:
        wanted = pattern.strip().lower()
        if wanted.startswith("~"):
            wanted = str(Path.home()).replace("\\", "/").lower() + wanted[1:]
        if wanted and fnmatchcase(full if "/" in wanted else name, wanted):
            return pattern
    return None


def device_problem(name: str) -> str | None:
    """Why `name` is not a device name, or None. Whether that device is on this machine is
    known only when a run starts (training.devices.resolve)."""
    if DEVICE_NAMES.fullmatch(name):
        return None
    return f"unknown device {name!r} (use auto, cpu, cuda, cuda:N or mps)"


class SettingsError(OSError):
    """config.toml cannot be updated; the message is one line."""


def remember(changes: dict[str, object], path: Path | None = None) -> None:
    """Write `changes` into config.toml and keep every other setting the person wrote there.

    A file that does not parse is never replaced (that would swap the person's key map and
    settings for defaults): SettingsError says so instead. Comments do not survive a write.
    """
    path = path or config_path()
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raw = {}
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise SettingsError(f"{path} has an error ({str(exc).splitlines()[0]}): "
                            "fix it and try again; it was left as it is") from None
    raw.update(changes)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, tomli_w.dumps(raw))
