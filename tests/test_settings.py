"""config.toml as the person writes it: the files with suggestions off, and the toggle setting."""

from __future__ import annotations

from pathlib import Path

import pytest

from tuiwriter import settings as settings_module
from tuiwriter.settings import Settings


@pytest.mark.parametrize(("path", "pattern"), [
    ("/home/ann/app/.env", "*.env"),
    ("deploy/PROD.ENV", "*.env"),
    ("/srv/.env.local", ".env.*"),
    ("/data/sales.csv", "*.csv"),
    ("certs/server.pem", "*.pem"),
    ("/home/ann/notes/chapter.md", None),
    ("/home/ann/environment.md", None),
    (None, None),  # an untitled buffer has no name to match
])
def test_default_off_patterns(path, pattern):
    assert Settings().off_pattern(path) == pattern


def test_a_pattern_with_a_slash_matches_the_whole_path_and_tilde_is_home():
    current = Settings(suggestions_off=["~/journal/*", "*/private/*"])
    assert current.off_pattern(Path.home() / "journal" / "2026-12-06.md") == "~/journal/*"
    assert current.off_pattern("/work/private/plan.md") == "*/private/*"
    assert current.off_pattern("/work/privately.md") is None
    assert current.off_pattern("/work/x.env") is None  # the list replaces the defaults


def write_config(text: str) -> Path:
    path = settings_module.config_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_suggestions_off_and_remember_toggle_load_and_bad_values_are_named():
    write_config('remember_toggle = false\nsuggestions_off = ["*.log"]\n')
    current, warning = settings_module.load()
    assert warning is None and current.remember_toggle is False and current.suggestions_off == ["*.log"]
    write_config('suggestions_off = "*.log"\nremember_toggle = "yes"\n')
    current, warning = settings_module.load()
    assert "suggestions_off must be a list of strings" in warning and "remember_toggle should be bool" in warning
    assert current.suggestions_off == list(settings_module.SUGGESTIONS_OFF) and current.remember_toggle is True


def test_remembering_the_toggle_keeps_the_rest_of_the_file():
    path = write_config('suggestions_off = ["*.log"]\n\n[keys]\naccept_char = "ctrl+l"\n')
    settings_module.remember({"suggestions": False})
    current, warning = settings_module.load()
    assert warning is None and current.suggestions is False
    assert current.suggestions_off == ["*.log"] and current.keys == {"accept_char": "ctrl+l"}
    assert path.stat().st_size > 0
