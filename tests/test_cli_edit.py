"""`tuiwriter [FILE] [--model M]`: bad input is one line before any screen; the editor paints
before torch is imported."""

from __future__ import annotations

import json
import subprocess
import sys
import time

from editor_helpers import PtyApp

from tuiwriter.text.documents import MAX_BYTES


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tuiwriter", *args], capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, timeout=60)


def assert_one_line_error(result: subprocess.CompletedProcess[str], fragment: str) -> None:
    assert result.returncode != 0
    assert result.stdout == ""  # no screen was drawn
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("tuiwriter: error:") and fragment in lines[0]


def test_binary_file_is_refused_before_the_ui(tmp_path):
    blob = tmp_path / "image.png"
    blob.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00")
    assert_one_line_error(run_cli(str(blob)), "binary")


def test_oversized_file_is_refused_before_the_ui(tmp_path):
    big = tmp_path / "huge.log"
    with open(big, "wb") as fh:
        fh.truncate(MAX_BYTES + 1)
    assert_one_line_error(run_cli(str(big)), "opens files up to")


def test_bad_option_and_folder_are_one_line_errors(tmp_path):
    assert_one_line_error(run_cli("--bogus"), "unrecognized arguments")
    assert_one_line_error(run_cli(str(tmp_path)), "is a folder")


def test_without_a_terminal_it_says_so(tmp_path):
    assert_one_line_error(run_cli(str(tmp_path / "notes.md")), "needs a terminal")


def test_editor_is_painted_before_torch_is_imported(tmp_path):
    trace = tmp_path / "trace.jsonl"
    with PtyApp([str(tmp_path / "notes.md")], env={"TUIWRITER_TRACE": str(trace)}):
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and "painted" not in (trace.read_text() if trace.exists() else ""):
            time.sleep(0.05)
    events = {e["event"]: e for e in map(json.loads, trace.read_text().splitlines())}
    assert events["painted"]["torch_loaded"] is False
