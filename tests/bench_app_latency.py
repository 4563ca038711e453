"""Keystroke-to-ghost-text latency in the running editor, with and without a training run.

    python tests/bench_app_latency.py --model default --text FILE [--chars 300]
                                      [--train FOLDER] [--threads 1] [--gap-ms 120]

Drives the real app headless with Textual's Pilot. It types the text one key at a time at a
person's pace and, for every key that asks for a new suggestion (a key the ghost did not
predict), times from the edit reaching the editor to the first suggested character (or the
"no suggestion" answer) arriving back on the UI thread: what the person sees as "the ghost text
keeps up". Keys that match the ghost cost nothing and are not timed. With --train, the app's own
background job fine-tunes the model on FOLDER meanwhile, with the thread count a person gets
from config.toml (`train_threads`, 1 by default). Prints p50/p99 and the count.

Not a test: timings on a shared CI machine are noise. Private XDG folders under a temp dir.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
from pathlib import Path


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


async def measure(model: str, text: str, train: Path | None, threads: int, gap_s: float,
                  train_minutes: float) -> list[float]:
    from textual import events
    from textual.keys import _character_to_key

    from tuiwriter.settings import Settings
    from tuiwriter.text.documents import open_document
    from tuiwriter.training.job import TrainRequest
    from tuiwriter.tui.app import TuiwriterApp
    from tuiwriter.tui.widgets.editor import GhostEditor

    asked: dict[int, float] = {}  # generation -> when the edit that asked for it landed
    answered: dict[int, float] = {}  # generation -> when its first chunk reached the UI thread
    edit, chunk = GhostEditor.edit, GhostEditor.on_ghost_editor_chunk

    def timed_edit(self, e):
        result = edit(self, e)
        asked.setdefault(self._generation, time.perf_counter())
        return result

    def timed_chunk(self, message):
        if message.generation == self._generation:
            answered.setdefault(message.generation, time.perf_counter())
        return chunk(self, message)

    GhostEditor.edit, GhostEditor.on_ghost_editor_chunk = timed_edit, timed_chunk
    app = TuiwriterApp(open_document(None), Settings(train_threads=threads), None, model=model)
    async with app.run_test(size=(100, 30)) as pilot:
        deadline = time.monotonic() + 60
        while app.engine is None:
            if time.monotonic() > deadline:
                raise SystemExit("the model did not load")
            await pilot.pause(0.05)
        if train is not None:
            app.training.start(TrainRequest([train], name="bench-latency", minutes=train_minutes,
                                            base=model, active_model=model))
            while app.training.snapshot().state != "training":
                if app.training.snapshot().state == "failed":
                    raise SystemExit(f"training failed: {app.training.snapshot().message}")
                await pilot.pause(0.05)
        typing_started = time.monotonic()
        for ch in text:
            # As a terminal delivers a key. Not `pilot.press`: it waits until the whole process is
            # idle, which a training thread in the same process never is, so keys would come ~2 s apart.
            event = events.Key("enter", "\r") if ch == "\n" else events.Key(
                ch if ch.isalnum() else _character_to_key(ch), ch)
            event.set_sender(app)
            app._driver.send_message(event)
            generation = app.editor._generation
            limit = time.monotonic() + 2.0
            while generation in asked and generation not in answered and time.monotonic() < limit:
                await asyncio.sleep(0.001)
            await asyncio.sleep(gap_s)
        snap = app.training.snapshot()
        if train is not None:
            print(f"typed {len(text)} keys in {time.monotonic() - typing_started:.1f} s; "
                  f"training during the run: {snap.state}, {snap.chars_seen:,} chars seen, "
                  f"{snap.chars_per_s:,.0f} chars/s, {app.training.threads} thread(s)")
            app.training.cancel()
            app.training.wait(60)
            await pilot.pause(0.5)  # let the app handle the run's last messages before it closes
    return [(answered[g] - t) * 1e3 for g, t in asked.items() if g in answered]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default="default")
    parser.add_argument("--text", required=True, help="a file whose start is typed")
    parser.add_argument("--chars", type=int, default=300)
    parser.add_argument("--train", type=Path, help="fine-tune on this folder meanwhile")
    parser.add_argument("--threads", type=int, default=1, help="training threads (config.toml's default)")
    parser.add_argument("--minutes", type=float, default=10.0, help="the training run's budget")
    parser.add_argument("--gap-ms", type=float, default=120.0, help="pause between keys (a typist's pace)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for var in ("XDG_CONFIG_HOME", "XDG_STATE_HOME") + (("XDG_DATA_HOME",) if args.train else ()):
            os.environ[var] = str(Path(tmp) / var.lower())
        text = Path(args.text).read_text(encoding="utf-8")[: args.chars]
        times = asyncio.run(measure(args.model, text, args.train, args.threads, args.gap_ms / 1e3,
                                    args.minutes))
    label = f"while training ({args.threads} thread(s))" if args.train else "no training"
    print(f"keystroke -> first ghost character, {label}: p50 {percentile(times, 50):.1f} ms, "
          f"p99 {percentile(times, 99):.1f} ms, max {max(times):.1f} ms over {len(times)} keys")


if __name__ == "__main__":
    main()
