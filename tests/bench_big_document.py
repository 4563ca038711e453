"""How the editing pane copes with a big document: Textual's TextArea against ours.

    python -m tests.bench_big_document [--widget ghost|textarea] [--mb 10 16] [--source notes|books]
                                         [--language markdown] [--highlight-max N] [--no-wrap] [--keys 20]
                                         [--profile FILE] [--model M]

Makes each document in a temp folder from the shared corpora (`notes`: the dev notes file
repeated; `books`: the training books one after another, a paragraph per line), then, in a
headless 100x30 app holding one widget (`ghost`: the editor's GhostEditor, no model; `textarea`:
Textual's own TextArea, what the editor was before), times what a person does: open (load and
first paint), a key typed at the end and at the top (each until the screen is redrawn), undo,
page down, Ctrl+End, and a save of the whole text (join, encode, atomic write). Prints one line
per step: the CPU time the app's thread spent on it (what the person waits for; Pilot's own
pauses between keys, about 100 ms a key even in an empty document, are not counted), median and
max where repeated.

With `--model M` it runs the whole app instead (`tuiwriter FILE --model M`, private XDG folders):
after the model is loaded and has read the document, it types at the end and at the top and
reports, per key, the app thread's CPU time and the wall time until the ghost text is complete.

Not a test: timings on a shared machine are noisy; run it when the machine is quiet (`uptime`).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

CORPORA = Path("/work/shared/corpora")


def make_document(source: str, mb: float, folder: Path) -> Path:
    """`mb` million characters of `source` (repeated as often as needed), as a file."""
    if source == "notes":
        unit = (CORPORA / "dev" / "notes_jbranchaud_til.md").read_text(encoding="utf-8")
    else:
        unit = "".join(p.read_text(encoding="utf-8") for p in sorted((CORPORA / "train").glob("*.txt")))
    size = int(mb * 1_000_000)
    text = (unit * (size // len(unit) + 1))[:size]
    path = folder / f"{source}{mb:g}.{'md' if source == 'notes' else 'txt'}"
    path.write_text(text, encoding="utf-8")
    return path


def ms(seconds: float) -> str:
    return f"{seconds * 1e3:.1f} ms"


async def type_key(pilot, i: int, profile: cProfile.Profile | None, redraw: bool) -> float:
    """Press the i-th key of a sentence-like sequence; the app thread's CPU seconds for it (and,
    with `redraw`, for the screen update that follows)."""
    key = "space" if i % 6 == 5 else "abcdefghij"[i % 10]
    if profile:
        profile.enable()
    with Clock() as clock:
        await pilot.press(key)
        if redraw:
            await pilot.pause()
    if profile:
        profile.disable()
    return clock.seconds


class Clock:
    """CPU time of this thread (the app's: Pilot runs it in the same event loop)."""

    def __enter__(self) -> "Clock":
        self.start = time.thread_time()
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.thread_time() - self.start


async def measure(path: Path, widget_kind: str, language: str | None, wrap: bool, keys: int,
                  profile: cProfile.Profile | None) -> None:
    from textual.app import App, ComposeResult
    from textual.widgets import TextArea

    from tuiwriter.text.documents import open_document, save_document
    from tuiwriter.tui.widgets.editor import GhostEditor

    document = open_document(path, max_bytes=1 << 40)
    text = document.text

    class Bench(App[None]):
        def compose(self) -> ComposeResult:
            if widget_kind == "ghost":
                yield GhostEditor(id="pane", soft_wrap=wrap)
            else:
                yield TextArea(id="pane", soft_wrap=wrap)

    app = Bench()
    label = f"{path.name} ({len(text) / 1e6:.1f} M chars) {widget_kind} language={language} wrap={wrap}"
    print(label, flush=True)
    async with app.run_test(size=(100, 30)) as pilot:
        pane = app.query_one("#pane", TextArea)
        if isinstance(pane, GhostEditor):
            pane.engine = None
        with Clock() as clock:
            pane.load_text(text)
            if language:
                pane.language = language
            await pilot.pause()
        print(f"  open (load + first paint): {ms(clock.seconds)}"
              f"{'  [highlighted]' if pane.is_syntax_aware else ''}", flush=True)

        async def timed_keys(where: str) -> None:
            pane.move_cursor(pane.document.end if where == "end" else (0, 0))
            await pilot.pause()
            times = [await type_key(pilot, i, profile, redraw=True) for i in range(keys)]
            print(f"  key at the {where}: median {ms(statistics.median(times))}, max {ms(max(times))} "
                  f"({keys} keys)", flush=True)

        await timed_keys("end")
        await timed_keys("top")
        with Clock() as clock:
            await pilot.press("ctrl+z")
            await pilot.pause()
        print(f"  undo: {ms(clock.seconds)}", flush=True)
        pane.move_cursor((0, 0))
        await pilot.pause()
        times = []
        for _ in range(5):
            with Clock() as clock:
                await pilot.press("pagedown")
                await pilot.pause()
            times.append(clock.seconds)
        print(f"  page down: median {ms(statistics.median(times))}, max {ms(max(times))}", flush=True)
        with Clock() as clock:
            pane.move_cursor(pane.document.end)  # Ctrl+End (TextArea has no key for it)
            await pilot.pause()
        print(f"  Ctrl+End: {ms(clock.seconds)}", flush=True)
        with tempfile.TemporaryDirectory() as folder:
            target = Path(folder) / path.name
            t = time.perf_counter()
            save_document(document, pane.text, target)
            print(f"  save (join, encode, hash, atomic write; wall clock): {ms(time.perf_counter() - t)}",
                  flush=True)


async def measure_app(path: Path, model: str, keys: int, profile: cProfile.Profile | None) -> None:
    from tuiwriter.settings import Settings
    from tuiwriter.text.documents import open_document
    from tuiwriter.tui.app import TuiwriterApp

    t = time.perf_counter()
    app = TuiwriterApp(open_document(path, max_bytes=1 << 40), Settings(), model=model)
    print(f"{path.name}: the app with model {model}", flush=True)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        print(f"  open (read, load, first paint; wall): {ms(time.perf_counter() - t)}", flush=True)
        while app.engine is None:
            await pilot.pause(0.05)
        print(f"  model loaded after {ms(time.perf_counter() - t)}", flush=True)
        editor = app.editor

        async def settle() -> float:
            started = time.perf_counter()
            await pilot.pause()
            while editor.busy:
                await pilot.pause(0.005)
            return time.perf_counter() - started

        editor.refresh_suggestion()
        print(f"  first suggestion at the end (the engine reads the document): {ms(await settle())}",
              flush=True)
        for where in ("end", "top"):
            editor.move_cursor(editor.document.end if where == "end" else (0, 0))
            waits = [await settle()]
            cpu = []
            for i in range(keys):
                cpu.append(await type_key(pilot, i, profile, redraw=False))
                waits.append(await settle())
            print(f"  at the {where}: jump to ghost {ms(waits[0])}; per key: app thread CPU median "
                  f"{ms(statistics.median(cpu))} max {ms(max(cpu))}; key to complete ghost median "
                  f"{ms(statistics.median(waits[1:]))} max {ms(max(waits[1:]))}", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--widget", choices=["ghost", "textarea"], default="ghost")
    parser.add_argument("--mb", type=float, nargs="+", default=[10.0, 16.0])
    parser.add_argument("--source", choices=["notes", "books"], default="notes")
    parser.add_argument("--language", default=None, help="e.g. markdown (default: plain text)")
    parser.add_argument("--no-wrap", action="store_true", help="soft wrap off")
    parser.add_argument("--highlight-max", type=int,
                        help="highlight documents up to this many characters (to measure past the editor's limit)")
    parser.add_argument("--keys", type=int, default=20, help="keys typed at the end and at the top")
    parser.add_argument("--profile", type=Path, help="write a cProfile of the typed keys here")
    parser.add_argument("--model", help="run the whole app with this model (e.g. default)")
    args = parser.parse_args(argv)
    if args.language in ("", "none"):
        args.language = None
    profile = cProfile.Profile() if args.profile else None
    if args.highlight_max is not None:
        from tuiwriter.tui.widgets import editor

        editor.HIGHLIGHT_MAX_CHARS = args.highlight_max
    with tempfile.TemporaryDirectory() as folder:
        for var in ("XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_STATE_HOME"):
            os.environ[var] = str(Path(folder) / var.lower())
        for mb in args.mb:
            path = make_document(args.source, mb, Path(folder))
            if args.model:
                asyncio.run(measure_app(path, args.model, args.keys, profile))
            else:
                asyncio.run(measure(path, args.widget, args.language, not args.no_wrap, args.keys, profile))
    if profile and args.profile:
        profile.dump_stats(str(args.profile))
        print(f"profile of the keys: {args.profile}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
