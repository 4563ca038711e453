"""The editor's small screens: help (F1), the one question dialog (`Choice`) behind quitting with
unsaved changes, crash recovery, a file changed on disk or open in another tuiwriter, and deleting
a model, and the path prompt (open / save as).
Each returns its answer through `dismiss`, so the caller decides what to do and the screens
stay free of file and model logic.
"""

from __future__ import annotations

import os
from pathlib import Path

from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

from tuiwriter.tui.path_suggester import PathSuggester

HELP_INTRO = (
    "Dim text after the cursor is the model's guess at what comes next: Tab takes it,\n"
    "typing the same characters uses it up. The model runs on this machine; nothing leaves it."
)


class HelpScreen(ModalScreen[None]):
    """F1: every key with what it does, as currently mapped (config.toml can remap them)."""

    BINDINGS = [Binding("escape,f1,q", "close", "Close", show=True)]

    def __init__(self, rows: list[tuple[str, str]], config_path: str) -> None:
        super().__init__()
        self.rows = rows
        self.config_path = config_path

    def compose(self) -> ComposeResult:
        width = max((len(k) for k, _ in self.rows), default=4) + 2
        table = Text()
        for key, what in self.rows:
            table.append(f"{key:<{width}}", style="bold")
            table.append(f"{what}\n")
        table.rstrip()
        with VerticalScroll(id="help", classes="dialog"):
            yield Static("tuiwriter: keys", classes="title")
            yield Static(HELP_INTRO, classes="intro")
            yield Static(table, classes="keys")
            yield Static(f"Remap keys in the [keys] table of {self.config_path}. Esc closes.",
                         classes="hint", markup=False)

    def action_close(self) -> None:
        self.dismiss(None)


class Choice(ModalScreen[str]):
    """A question answered by one of a few buttons, each with its own key; Esc picks the last.

    No button has focus: these dialogs can appear while the person is typing, and a stray
    Space or Enter must not answer for them.
    """

    AUTO_FOCUS = None

    def __init__(self, title: str, body: str, choices: list[tuple[str, str, str]],
                 preview: str | None = None) -> None:
        """`choices`: (answer, key, label) in button order; the last is the cautious one."""
        super().__init__()
        self.title_text = title
        self.body = body
        self.choices = choices
        self.preview = preview
        escape = choices[-1][0]
        self._keys = {key: answer for answer, key, _ in choices}
        self._keys["escape"] = escape

    def compose(self) -> ComposeResult:
        last = len(self.choices) - 1
        with Vertical(classes="dialog"):
            yield Label(self.title_text, classes="title")
            yield Static(self.body, markup=False)
            if self.preview is not None:
                yield Static(self.preview, classes="preview", markup=False)
            with Horizontal(classes="buttons"):
                for i, (answer, key, label) in enumerate(self.choices):
                    variant = "default" if i == last else "primary" if i == 0 else "error"
                    yield Button(f"{label} ({'Esc' if i == last else key})", id=answer, variant=variant)

    def on_key(self, event: events.Key) -> None:
        answer = self._keys.get(event.key)
        if answer is not None:
            event.stop()
            self.dismiss(answer)

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id or self.choices[-1][0])


def unsaved_changes(question: str, reasons: list[str]) -> Choice:
    """Quitting or opening another file with unsaved changes: "save", "discard" or "cancel"."""
    return Choice(question, "\n".join(reasons),
                  [("save", "s", "Save"), ("discard", "d", "Don't save"), ("cancel", "c", "Cancel")])


def confirm_delete(name: str) -> Choice:
    """Deleting a trained model: "delete" or "keep"."""
    return Choice("Delete model?", f"Delete the model {name!r}? This cannot be undone.",
                  [("delete", "y", "Delete"), ("keep", "n", "Keep")])


def recovery_prompt(label: str, when: str, preview: str, kept: bool = False) -> Choice:
    """Text from a session that ended without saving, or put aside when the file was reloaded
    from disk (`kept`): "recover", "discard" or "later"."""
    why = (f"Your unsaved text was kept when {label} was reloaded from disk." if kept
           else f"tuiwriter ended without saving {label}.")
    return Choice("Recover unsaved changes?", f"{why}\nLast copy: {when}.",
                  [("recover", "r", "Recover"), ("discard", "d", "Discard"), ("later", "l", "Later")],
                  preview=preview)


def changed_on_disk(name: str) -> Choice:
    """Saving over a file another program changed: "overwrite", "save_as", "reload" or "cancel"."""
    return Choice(f"{name} changed on disk",
                  f"Another program changed {name} after you opened it (or last saved it). Nothing is "
                  "written until you choose: overwrite it with your text, save your text under another "
                  "name, or reload the file (your unsaved text is kept as a recovery copy).",
                  [("overwrite", "o", "Overwrite"), ("save_as", "a", "Save as…"), ("reload", "r", "Reload"),
                   ("cancel", "c", "Cancel")])


def reload_offer(name: str) -> Choice:
    """The file changed on disk and the buffer has no unsaved changes: "reload" or "keep"."""
    return Choice(f"{name} changed on disk",
                  f"Another program changed {name}. You have no unsaved changes: reload it to see theirs?",
                  [("reload", "r", "Reload"), ("keep", "k", "Not now")])


def edited_elsewhere(name: str, pids: list[int], since: str, can_quit: bool) -> Choice:
    """Another running tuiwriter has unsaved changes to the file: "edit", ("quit",) or "read_only"."""
    who = "another tuiwriter" if len(pids) == 1 else f"{len(pids)} other tuiwriters"
    body = (f"{name} is open in {who} (process {', '.join(map(str, pids))}) with unsaved changes, "
            f"last copied at {since}. If both of you edit it, the second save will ask before "
            "overwriting the first; read-only is the safe choice until the other one saves.")
    choices = [("edit", "e", "Edit anyway")]
    if can_quit:
        choices.append(("quit", "q", "Quit"))
    choices.append(("read_only", "r", "Read-only"))
    return Choice(f"{name} is being edited elsewhere", body, choices)


class PathPrompt(ModalScreen[Path | None]):
    """Ask for a file path: Ctrl+O (open) and the first save of an untitled buffer (save as)."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", show=False)]

    def __init__(self, title: str, initial: str = "") -> None:
        super().__init__()
        self.title_text = title
        self.initial = initial

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(self.title_text, classes="title")
            yield Input(self.initial, placeholder="path/to/file.md", suggester=PathSuggester(),
                        id="path")
            yield Static(f"in {os.getcwd()} · Enter confirms · → completes · Esc cancels",
                         classes="hint", markup=False)

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        value = event.value.strip()
        self.dismiss(Path(value).expanduser() if value else None)

    def action_cancel(self) -> None:
        self.dismiss(None)


