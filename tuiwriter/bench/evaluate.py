"""`tuiwriter eval`: how good and how fast the suggestions are, per SPEC "Metrics".

A simulated writer types each file from start to end through the same `Engine` the editor uses,
with the editor's rules: a typed character that matches the shown ghost consumes it (the rest
stays shown, no new suggestion), any other character asks for a new one; Tab takes the whole
ghost when the text goes on with it, accept-word its next word, else one character is typed.

Choices where the SPEC is silent (also in the closing note of the engine issue):
- Text is read as UTF-8 with universal newlines and folded the way the vocabulary folds it
  (curly quotes and dashes to ASCII): the writer types what a terminal keyboard gives.
- `--max-chars N` caps the total over all files (the first N characters, in order).
- bpc: every character's -log2 p under the state the engine holds at that position.
- keystroke/full latency: suggestions asked for after a typed character (not after an accept);
  time to the first character (or to learning there is none) / to the whole suggestion. The
  editor's idle moment after each suggestion (`Engine.refine`, then `Engine.prepare`) is
  simulated too: where the refinement swaps the ghost, the writer sees the new one, and its
  time counts in `full` (the whole suggestion is ready when the swapped one is).
- jump: every 100 typed characters once 1,000 are written, a probe asks for the suggestion at a
  random earlier place (>= 256 characters back); the probe leaves the writer's view unchanged,
  so bpc and ksr do not depend on it.
- accept_rate: share of shown suggestions (non-empty, from the engine) of which the writer took
  all or a word; suggestion_chars_mean: their mean length.
"""

from __future__ import annotations

import math
import random
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from tuiwriter.predict.engine import Engine
from tuiwriter.predict.policy import consume, next_word

LOG2E = 1 / math.log(2)
JUMP_EVERY = 100
JUMP_AFTER = 1000
JUMP_MIN_DISTANCE = 256


@dataclass
class Tally:
    """Counts and timings summed over the files of one run."""

    chars: int = 0
    bits: float = 0.0
    keys: int = 0
    shown: int = 0
    accepted: int = 0
    suggestion_chars: int = 0
    keystroke_ms: list[float] = field(default_factory=list)
    full_ms: list[float] = field(default_factory=list)
    jump_ms: list[float] = field(default_factory=list)

    def summary(self, model: str) -> dict:
        """The SPEC's JSON object."""
        lat = {}
        for name, values in (("keystroke", self.keystroke_ms), ("full", self.full_ms), ("jump", self.jump_ms)):
            lat[f"{name}_p50"] = round(percentile(values, 50), 3)
            lat[f"{name}_p99"] = round(percentile(values, 99), 3)
        return {
            "model": model,
            "chars": self.chars,
            "bpc": round(self.bits / self.chars, 4) if self.chars else 0.0,
            "ksr": round(1 - self.keys / self.chars, 4) if self.chars else 0.0,
            "latency_ms": lat,
            "suggestion_chars_mean": round(self.suggestion_chars / self.shown, 3) if self.shown else 0.0,
            "accept_rate": round(self.accepted / self.shown, 4) if self.shown else 0.0,
        }


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (0 for no samples)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q / 100 * len(ordered)) - 1))]


def _timed(engine: Engine, doc: str, cursor: int, stop_after_first: bool = False) -> tuple[str, float, float]:
    """The suggestion, ms to its first character (or to knowing there is none), ms to all of it."""
    start = time.perf_counter()
    first = None
    out: list[str] = []
    stream = engine.suggest(doc, cursor)
    for ch in stream:
        if first is None:
            first = time.perf_counter()
            if stop_after_first:
                stream.close()
                break
        out.append(ch)
    end = time.perf_counter()
    return "".join(out), ((first or end) - start) * 1e3, (end - start) * 1e3


class GrowingText:
    """The simulated writer's document as the editor hands it to the engine (a `TextSnapshot`):
    text[:length] of a text that only grows, so what changed is known from the version, not by
    comparing the text, and no copy of a long document is made per key."""

    def __init__(self, text: str, length: int, lengths: list[int]) -> None:
        self.text, self.length, self.lengths = text, length, lengths
        self.version = len(lengths) - 1

    @classmethod
    def opened(cls, text: str, length: int) -> "GrowingText":
        return cls(text, length, [length])

    def grown(self, length: int) -> "GrowingText":
        self.lengths.append(length)
        return GrowingText(self.text, length, self.lengths)

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: slice) -> str:
        start, stop, _ = index.indices(self.length)
        return self.text[start:stop]

    def unchanged_before(self, version: int) -> int:
        return self.lengths[version] if 0 <= version < len(self.lengths) else 0


def simulate(engine: Engine, text: str, tally: Tally, on_advance: Callable[[int], None] | None = None,
             jump_seed: int = 0, start: int = 0, jump_every: int = JUMP_EVERY) -> None:
    """Type `text` as the SPEC's simulated writer, adding to `tally`; with `start`, the document
    already holds text[:start] (opened, and read by the engine while the editor was idle) and the
    writer types the rest at its end. A jump probe every `jump_every` typed characters."""
    rng = random.Random(jump_seed)
    n = len(text)
    pos = start
    doc = GrowingText.opened(text, start)
    if start:
        engine.prepare(doc)
    ghost: str | None = None  # what the editor shows; None: ask the engine
    typed = False  # whether the last action typed a character (for keystroke latency)
    taken = False  # whether the writer took any of the current suggestion
    next_jump = max(JUMP_AFTER, start + jump_every)
    while pos < n:
        if ghost is None:
            ghost, first_ms, full_ms = _timed(engine, doc, pos)
            # the editor's idle moment once the suggestion is shown: a beam may swap it, then
            # the engine reads ahead
            began = time.perf_counter()
            better = engine.refine(doc, pos, ghost)
            if better is not None:
                ghost = better
                full_ms += (time.perf_counter() - began) * 1e3
            engine.prepare(doc, pos)
            if typed:
                tally.keystroke_ms.append(first_ms)
                tally.full_ms.append(full_ms)
            if ghost:
                tally.shown += 1
                tally.suggestion_chars += len(ghost)
                taken = False
        if pos >= next_jump:
            target = rng.randrange(0, pos - JUMP_MIN_DISTANCE)
            tally.jump_ms.append(_timed(engine, doc, target, stop_after_first=True)[1])
            next_jump += jump_every
        step, ghost, typed, took = _writer_action(text, pos, ghost)
        if took and not taken:
            tally.accepted += 1
            taken = True
        tally.keys += 1
        doc = doc.grown(pos + step)
        for p in range(pos, pos + step):
            logp = engine.next_char_log_probs(doc, p)
            tally.bits -= float(logp[engine.vocab.id_of(text[p])]) * LOG2E
        pos += step
        if on_advance:
            on_advance(step)
    tally.chars += n - start


def _writer_action(text: str, pos: int, ghost: str) -> tuple[int, str | None, bool, bool]:
    """One key: (characters it adds, ghost shown after it, typed a character, took suggestion)."""
    if ghost and text.startswith(ghost, pos):
        return len(ghost), None, False, True
    word = next_word(ghost)
    if word and text.startswith(word, pos):
        return len(word), consume(ghost, word) or None, False, True
    return 1, consume(ghost, text[pos]) or None, True, False


def read_texts(files: list[str], fold: dict[str, str], max_chars: int | None) -> list[tuple[str, str]]:
    """(name, text) per file, folded, capped to `max_chars` in total; OSError on a bad file."""
    texts: list[tuple[str, str]] = []
    table = str.maketrans({k: v for k, v in fold.items() if len(k) == 1})
    budget = max_chars if max_chars is not None else math.inf
    for name in files:
        path = Path(name)
        try:
            raw = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise OSError(f"no such file: {name}") from None
        except IsADirectoryError:
            raise OSError(f"a folder, not a text file: {name}") from None
        except UnicodeDecodeError:
            raise OSError(f"not UTF-8 text: {name}") from None
        except OSError as exc:
            raise OSError(f"cannot read {name}: {exc.strerror}") from None
        text = raw.translate(table)
        if budget < len(text):
            text = text[: int(budget)]
        if text:
            texts.append((name, text))
            budget -= len(text)
        if budget <= 0:
            break
    if not texts:
        raise OSError("no text to evaluate in " + ", ".join(files))
    return texts


def evaluate(engine: Engine, texts: list[tuple[str, str]],
             on_advance: Callable[[int], None] | None = None) -> dict:
    tally = Tally()
    for _, text in texts:
        simulate(engine, text, tally, on_advance)
    return tally.summary(engine.name)


def format_report(result: dict) -> str:
    lat = result["latency_ms"]
    rows = [
        ("model", result["model"]),
        ("characters", f"{result['chars']:,}"),
        ("bits/char", f"{result['bpc']:.4f}"),
        ("keystrokes saved", f"{100 * result['ksr']:.2f} %"),
        ("suggestions", f"mean {result['suggestion_chars_mean']:.1f} chars, "
                        f"{100 * result['accept_rate']:.1f} % taken"),
    ]
    for name in ("keystroke", "full", "jump"):
        rows.append((f"latency {name}", f"p50 {lat[name + '_p50']:.2f} ms   p99 {lat[name + '_p99']:.2f} ms"))
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"{k.ljust(width)}  {v}" for k, v in rows)
