"""Where tuiwriter keeps things, and the one way it writes a file (atomically).

platformdirs with the app name `tuiwriter`; on Linux the XDG_* variables move these folders,
which is how the tests keep to temporary folders.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import platformdirs

APP = "tuiwriter"


def private_dir(path: Path) -> Path:
    """Create `path` (and parents) and make it readable by the user alone: models repeat notes."""
    path.mkdir(parents=True, exist_ok=True)
    os.chmod(path, 0o700)
    return path


def data_dir() -> Path:
    return private_dir(platformdirs.user_data_path(APP))


def models_dir() -> Path:
    return private_dir(data_dir() / "models")


def state_dir() -> Path:
    return private_dir(platformdirs.user_state_path(APP))


def config_path() -> Path:
    return platformdirs.user_config_path(APP) / "config.toml"


def atomic_write(path: Path, data: bytes | str | list, mode: int = 0o600) -> None:
    """Write through a temp file in the same folder, fsync, rename: a crash leaves old or new.
    `data` may be a list of byte buffers, written in turn (a big file without one more copy)."""
    path = Path(path)
    parts = data if isinstance(data, list) else [data.encode("utf-8") if isinstance(data, str) else data]
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            for part in parts:
                fh.write(part)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    try:
        dir_fd = os.open(path.parent, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    except OSError:
        pass
    finally:
        os.close(dir_fd)
