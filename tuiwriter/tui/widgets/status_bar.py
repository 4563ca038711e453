"""The one-line status bar: file, dirty mark and read-only on the left; model, temperature, suggestion state
(with `sample k/n` while the person cycles resamples) and (while a run is active) training progress
on the right.

Every field is a reactive the app sets; the bar only draws them, so the training screen can write
`training` without knowing anything else about the app.
"""

from __future__ import annotations

from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

STATE_LABELS = {
    "on": "suggestions on",
    "off": "suggestions off",
    "off here": "suggestions off for this file",
    "thinking": "thinking…",
    "none": "no suggestion",
    "loading": "loading model…",
    "no model": "no model",
}


class StatusBar(Widget):
    """File name + dirty mark, model, temperature, suggestion state, training progress."""

    DEFAULT_CSS = """
    StatusBar {
        height: 1;
        background: $panel;
        color: $text;
        padding: 0 1;
    }
    """

    file_name: reactive[str] = reactive("untitled")
    dirty: reactive[bool] = reactive(False)
    read_only: reactive[bool] = reactive(False)
    model: reactive[str] = reactive("")
    temperature: reactive[float] = reactive(0.0)
    state: reactive[str] = reactive("loading")
    cycle: reactive[tuple[int, int] | None] = reactive(None)
    """(k, n) while cycling samples: the k-th of the n drawn so far at this position."""
    training: reactive[str] = reactive("")
    """Compact training progress ("training 42% · eta 1:10"), empty when no run is active."""

    def render(self) -> Text:
        left = Text(self.file_name, style="bold")
        if self.dirty:
            left.append(" ●", style="bold yellow")
        if self.read_only:
            left.append(" (read-only)", style="italic")
        parts = [
            f"model {self.model or '—'}",
            f"T {self.temperature:.1f}",
            STATE_LABELS.get(self.state, self.state),
        ]
        if self.cycle and self.state in ("on", "thinking", "none"):
            parts.append("sample {}/{}".format(*self.cycle))
        if self.training:
            parts.insert(0, self.training)
        right = Text(" · ".join(parts), style="dim" if self.state.startswith("off") else "")
        width = self.content_region.width or (left.cell_len + right.cell_len + 2)
        gap = max(2, width - left.cell_len - right.cell_len)
        line = left + Text(" " * gap) + right
        line.truncate(max(width, 1), overflow="ellipsis")
        return line
