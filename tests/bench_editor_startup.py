"""Editor start-up as a person sees it, through tmux: launch -> painted, launch -> a typed key on
screen, launch -> first ghost text, and resident memory once idle with the model loaded.

    python tests/bench_editor_startup.py --model NAME [--runs 5] [--prompt "The man who"]
                                        [--min-confidence 0.001]

Needs tmux. Uses private XDG folders under a temp dir, except XDG_DATA_HOME (where the model
lives), which is passed through. Prints one line per run and the medians.
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

SESSION = "tuiwriter-bench"
GHOST = re.compile(r"\x1b\[3[;m]")  # italic: how the ghost text is drawn (app.tcss)


def capture(color: bool = False) -> str:
    args = ["tmux", "capture-pane", "-t", SESSION, "-p"] + (["-e"] if color else [])
    return subprocess.run(args, capture_output=True, text=True).stdout


def wait_for(check, timeout: float = 60.0, step: float = 0.005) -> float:
    start = time.monotonic()
    while not check():
        if time.monotonic() - start > timeout:
            raise TimeoutError
        time.sleep(step)
    return time.monotonic()


def rss_kib(pid: int) -> int:
    """RSS of the tuiwriter process (the pane runs it via exec)."""
    return int(subprocess.run(["ps", "-o", "rss=", "-p", str(pid)], capture_output=True,
                              text=True).stdout.strip() or 0)


def one_run(model: str, prompt: str, folder: Path, min_confidence: float | None) -> dict[str, float]:
    doc = folder / "notes.md"
    doc.unlink(missing_ok=True)
    if min_confidence is not None:  # an undertrained model may be too unsure to suggest at all
        (folder / "config" / "tuiwriter").mkdir(parents=True, exist_ok=True)
        (folder / "config" / "tuiwriter" / "config.toml").write_text(f"min_confidence = {min_confidence}\n")
    env = {**os.environ, "XDG_CONFIG_HOME": str(folder / "config"), "XDG_STATE_HOME": str(folder / "state")}
    cmd = f"exec tuiwriter {shlex.quote(str(doc))} --model {shlex.quote(model)}"
    t0 = time.monotonic()
    subprocess.run(["tmux", "new-session", "-d", "-s", SESSION, "-x", "100", "-y", "30", cmd], env=env,
                   check=True)
    try:
        pid = int(subprocess.run(["tmux", "display", "-p", "-t", SESSION, "#{pane_pid}"],
                                 capture_output=True, text=True).stdout)
        painted = wait_for(lambda: "notes.md" in capture())
        subprocess.run(["tmux", "send-keys", "-t", SESSION, "-l", prompt])
        typed = wait_for(lambda: prompt in capture())
        ghost = wait_for(lambda: GHOST.search(capture(color=True).split("\n", 1)[0]) is not None)
        time.sleep(3.0)  # idle
        rss = rss_kib(pid)
    finally:
        subprocess.run(["tmux", "kill-session", "-t", SESSION], capture_output=True)
        time.sleep(0.5)  # let the tmux server exit before the next run starts one
    return {"painted_s": painted - t0, "typed_s": typed - t0, "ghost_s": ghost - t0,
            "rss_mib": rss / 1024}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", required=True)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--prompt", default="The man who")
    parser.add_argument("--min-confidence", type=float, default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        rows = []
        for i in range(args.runs):
            row = one_run(args.model, args.prompt, Path(tmp), args.min_confidence)
            rows.append(row)
            print(f"run {i + 1}: " + "  ".join(f"{k} {v:.2f}" for k, v in row.items()), flush=True)
    print("median: " + "  ".join(f"{k} {statistics.median(r[k] for r in rows):.2f}" for k in rows[0]))
    print(f"load average: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
