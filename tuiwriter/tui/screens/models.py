"""The models dialog: every model with its size, val bits/char and what it read; switch or delete.

Switching posts `ModelChosen(name)` to the app (which swaps the engine and saves the setting)
and closes the dialog with the name as its result. Deleting asks first (`confirm_delete`), and
refuses the model in use, the shipped `default` and a model being trained.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, DataTable, Static

from tuiwriter.lm import names
from tuiwriter.tui.messages import ModelChosen
from tuiwriter.tui.screens.dialogs import confirm_delete

if TYPE_CHECKING:
    from tuiwriter.lm.store import ModelInfo



class ModelsScreen(ModalScreen[str | None]):
    """List the models; Enter switches, Delete removes (after a question), Escape closes."""

    BINDINGS = [
        Binding("enter", "use", "Use model"),
        Binding("delete,d", "delete", "Delete model"),
        Binding("escape", "close", "Close"),
    ]

    def __init__(self, active: str | None = None, training: str | None = None) -> None:
        super().__init__()
        self.active = active
        self.training = training  # the name a run is writing to, if any: not deletable
        self.models: dict[str, ModelInfo] = {}

    def compose(self) -> ComposeResult:
        with Vertical(id="models-dialog", classes="dialog"):
            yield Static("Models", classes="title")
            yield DataTable(id="models", cursor_type="row", zebra_stripes=True)
            yield Static("Reading models…", id="hint", classes="hint")
            with Horizontal(classes="buttons"):
                yield Button("Use", id="use", variant="primary")
                yield Button("Delete…", id="delete", variant="error")
                yield Button("Close", id="close")

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns("", "name", "level", "params", "val bpc", "trained on", "when")
        table.focus()
        self.reload()

    @work(thread=True, exclusive=True, group="models")
    def reload(self) -> None:
        """Read every checkpoint's header and weights count off the UI thread."""
        from tuiwriter.lm import store

        try:
            rows = store.list_models()
        except OSError as exc:
            self.app.call_from_thread(self._hint, f"cannot list models: {exc.strerror}")
            return
        self.app.call_from_thread(self._show, rows)

    def _show(self, rows: list[ModelInfo]) -> None:
        if not self.is_attached:  # closed before the list was read
            return
        table = self.query_one(DataTable)
        table.clear()
        self.models = {info.name: info for info in rows}
        for info in rows:
            table.add_row("●" if info.name == self.active else "", *info.columns(), key=info.name)
            if info.name == self.active:
                table.move_cursor(row=table.row_count - 1)
        if rows:
            self._hint("Enter uses the highlighted model; Delete removes it.")
        else:
            self._hint("No models yet: Ctrl+T trains one on your files.")

    def _hint(self, text: str) -> None:
        if self.is_attached:
            self.query_one("#hint", Static).update(Text(text))

    def highlighted(self) -> str | None:
        table = self.query_one(DataTable)
        if table.row_count == 0:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        return key if isinstance(key, str) else None

    @on(Button.Pressed, "#use")
    @on(DataTable.RowSelected)
    def action_use(self) -> None:
        name = self.highlighted()
        info = self.models.get(name or "")
        if name is None or info is None:
            return
        if info.error:
            self.notify(f"{name} cannot be used: {info.error}", severity="error")
            return
        self.app.post_message(ModelChosen(name))
        self.dismiss(name)

    @on(Button.Pressed, "#delete")
    def action_delete(self) -> None:
        name = self.highlighted()
        if name is None:
            return
        why = self._undeletable(name)
        if why:
            self.notify(why, severity="warning")
            return

        def answered(answer: str | None) -> None:
            if answer == "delete":
                self._delete(name)

        self.app.push_screen(confirm_delete(name), answered)

    def _undeletable(self, name: str) -> str:
        if name == names.DEFAULT:
            return "the shipped default model cannot be deleted"
        if name == self.active:
            return f"{name} is in use: switch to another model first"
        if name == self.training:
            return f"{name} is being trained: cancel the run first"
        return ""

    def _delete(self, name: str) -> None:
        from tuiwriter.lm import store
        from tuiwriter.lm.checkpoint import CheckpointError

        try:
            store.delete(name)
        except (CheckpointError, OSError) as exc:
            self.notify(f"could not delete {name}: {exc}", severity="error")
            return
        self.notify(f"deleted {name}")
        self.reload()

    @on(Button.Pressed, "#close")
    def action_close(self) -> None:
        self.dismiss(None)
