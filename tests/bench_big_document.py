"""How the editing pane copes with a big document: Textual's TextArea against ours.

    python -m tests.bench_big_document [--widget ghost|textarea] [--mb 10 16] [--source notes|books]
                                         [--language markdown] [--no-wrap] [--keys 20] [--profile FILE]

Makes each document in a temp folder from the shared corpora (`notes`: the dev notes file
repeated; `books`: the training books one after another, a paragraph per line), then, in a
headless 100x30 app holding one widget (`ghost`: the editor's GhostEditor, no model; `textarea`:
Textual's own TextArea, what the editor was before), times what a person does: open (load and
first paint), a key typed at the end and at the top (each until the screen is redrawn), undo,
page down, Ctrl+End, and a save of the whole text (join, encode, atomic write). Prints one line
per step: the CPU time the app's thread spent on it (what the person waits for; Pilot's own
pauses between keys, about 100 ms a key even in an empty document, are not counted), median and
max where repeated.

Not a test: timings on a shared machine are noisy; run it when the machine is quiet (`uptime`).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
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
            times = []
            for i in range(keys):
                key = "space" if i % 6 == 5 else "abcdefghij"[i % 10]
                if profile:
                    profile.enable()
                with Clock() as clock:
                    await pilot.press(key)
                    await pilot.pause()
                if profile:
                    profile.disable()
                times.append(clock.seconds)
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--widget", choices=["ghost", "textarea"], default="ghost")
    parser.add_argument("--mb", type=float, nargs="+", default=[10.0, 16.0])
    parser.add_argument("--source", choices=["notes", "books"], default="notes")
    parser.add_argument("--language", default=None, help="e.g. markdown (default: plain text)")
    parser.add_argument("--no-wrap", action="store_true", help="soft wrap off")
    parser.add_argument("--keys", type=int, default=20, help="keys typed at the end and at the top")
    parser.add_argument("--profile", type=Path, help="write a cProfile of the typed keys here")
    args = parser.parse_args(argv)
    profile = cProfile.Profile() if args.profile else None
    with tempfile.TemporaryDirectory() as folder:
        for mb in args.mb:
            path = make_document(args.source, mb, Path(folder))
            asyncio.run(measure(path, args.widget, args.language, not args.no_wrap, args.keys, profile))
    if profile and args.profile:
        profile.dump_stats(str(args.profile))
        print(f"profile of the keys: {args.profile}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
