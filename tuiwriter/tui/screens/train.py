"""The "Train on files…" screen (Ctrl+T): choose files, preview the corpus, start, watch, cancel.

The run belongs to the app's `TrainingJob`, not to this screen: closing the screen never stops
it, and reopening it shows the run in progress. The screen polls `job.snapshot()` four times a
second; the app hears about the run through the messages `post_to_app` posts (tui.messages).
"""

from __future__ import annotations

import os
from pathlib import Path

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import (
    Button,
    DirectoryTree,
    Footer,
    Input,
    Label,
    OptionList,
    ProgressBar,
    RadioButton,
    RadioSet,
    Select,
    Sparkline,
    Static,
)
from textual.worker import get_current_worker

from tuiwriter.lm import names
from tuiwriter.text.corpus import Corpus, CorpusError, collect
from tuiwriter.training.job import (
    JobError,
    JobSnapshot,
    TrainingJob,
    TrainRequest,
    format_duration,
)
from tuiwriter.tui.messages import ModelChosen
from tuiwriter.tui.path_suggester import PathSuggester

# A new model trained in the background gets one thread for minutes: `small` reads ~9x more text
# per second than `base` there (3,800 vs 430 chars/s measured on one thread, under load).
NEW_MODEL_SIZE = "small"
DEFAULT_MINUTES = 5.0
PREVIEW_LINES = 6


def _short(path: Path, roots: list[Path]) -> str:
    for root in roots:
        try:
            return str(path.relative_to(root.parent))
        except ValueError:
            continue
    return str(path)


def _first(names: list[str]) -> str:
    more = f" … and {len(names) - PREVIEW_LINES} more" if len(names) > PREVIEW_LINES else ""
    return ", ".join(names[:PREVIEW_LINES]) + more


def _by_reason(entries: list[tuple[Path, str]], roots: list[Path], folders: bool = False) -> str:
    """`a.png, b.png (binary); private/ (.tuiwriterignore)`: the first few paths of each reason."""
    by_reason: dict[str, list[str]] = {}
    for path, why in entries:
        slash = "/" if folders and path.is_dir() else ""
        by_reason.setdefault(why, []).append(_short(path, roots) + slash)
    return "; ".join(f"{_first(names)} ({why})" for why, names in by_reason.items())


def describe_corpus(data: Corpus, roots: list[Path]) -> Text:
    """What training will read: totals, then the first files kept, excluded (by which rule),
    skipped (why) and scrubbed of secret-looking spans (which kinds)."""
    text = Text(data.summary(), style="bold")
    text.append("\nkept: " + _first([_short(f.path, roots) for f in data.files]))
    if data.excluded:
        text.append("\nexcluded: " + _by_reason(data.excluded, roots, folders=True), style="dim")
    if data.skipped:
        text.append("\nskipped: " + _by_reason(data.skipped, roots), style="dim")
    if masked := data.masked:
        removed = [f"{_short(f.path, roots)} ({', '.join(dict.fromkeys(s.kind for s in f.secrets))})" for f in masked]
        text.append("\nsecrets removed from: " + _first(removed), style="dim")
    return text


def describe_run(snap: JobSnapshot) -> str:
    """The status line above the progress bar."""
    what = f"fine-tuning {snap.base}" if snap.base else "new model"
    if snap.state == "preparing":
        return f"{snap.name} ({what}): reading files…"
    if snap.state in ("training", "stopping"):
        parts = [f"{snap.name} ({what}, {snap.params / 1e6:.2f}M parameters)",
                 f"{snap.fraction:.0%}", f"{format_duration(snap.eta_s)} left",
                 f"{snap.chars_seen / 1e6:.2f}M chars seen"]
        if snap.elapsed_s >= 1:
            parts.append(f"{snap.chars_per_s:,.0f} chars/s")
        if snap.train_bpc is not None:
            parts.append(f"train {snap.train_bpc:.2f} bpc")
        if snap.best_val_bpc is not None:
            parts.append(f"best val {snap.best_val_bpc:.2f} bpc")
        line = " · ".join(parts)
        if snap.state == "stopping":
            line += "\nstopping: validating once more and keeping the best model…"
        return line
    bpc = f"val {snap.best_val_bpc:.2f} bpc, " if snap.best_val_bpc is not None else ""
    seen = f"{snap.chars_seen / 1e6:.2f}M chars in {format_duration(snap.elapsed_s)}"
    if snap.state == "finished" and snap.path:
        return f"Finished {snap.name}: {bpc}{seen}. Saved to {snap.path}"
    if snap.state == "cancelled" and snap.path:
        return f"Cancelled {snap.name}: kept the best model so far ({bpc}{seen}). Saved to {snap.path}"
    if snap.state in ("failed", "cancelled"):
        return f"{snap.name}: {snap.message or 'stopped before a model was saved'}"
    return ""


class TrainScreen(Screen):
    """Choose what to train on, then watch the run; Escape closes and the run goes on."""

    CSS_PATH = "train.tcss"

    AUTO_FOCUS = "#path"
    BINDINGS = [
        Binding("escape", "close", "Close (training goes on)"),
        Binding("plus", "add_path", "Add path", tooltip="Add the path above (or the one picked in the tree)"),
        Binding("ctrl+r", "start", "Start"),
        Binding("f8", "cancel_run", "Cancel run"),
        Binding("delete", "remove_path", "Remove path", show=False),
    ]

    def __init__(self, job: TrainingJob, active_model: str | None = None, root: Path | None = None,
                 paths: list[Path] | None = None, minutes: float = DEFAULT_MINUTES) -> None:
        super().__init__()
        self.job = job
        self.active_model = active_model
        self.root = Path(root or Path.cwd())
        self.paths: list[Path] = []
        self._initial_paths = list(paths or [])
        self._minutes = minutes
        self._corpus: Corpus | None = None  # the preview's corpus, for the paths it was read from
        self._corpus_paths: list[Path] = []
        self._suggested_name = ""
        self._shown: JobSnapshot | None = None
        self._kept_previous = False

    def compose(self) -> ComposeResult:
        has_base = bool(self.active_model)
        with Vertical(id="setup"):
            yield Static("Train on your files", classes="title")
            with Horizontal(id="pick"):
                yield DirectoryTree(self.root, id="tree")
                with Vertical(id="chosen"):
                    with Horizontal(id="path-row"):
                        yield Input(placeholder="a file or folder (Right completes, Enter adds)",
                                    suggester=PathSuggester(), id="path")
                        yield Button("Add", id="add")
                    yield OptionList(id="picked")
                    yield Static("Add files or folders to see what training will read.", id="preview")
            with Horizontal(id="options"):
                with RadioSet(id="mode"):
                    yield RadioButton(f"Fine-tune {self.active_model} (recommended)" if has_base
                                      else "Fine-tune (no model in use)", value=has_base, id="mode-finetune",
                                      disabled=not has_base)
                    yield RadioButton("New model", value=not has_base, id="mode-new")
                with Vertical(classes="field", id="size-field"):
                    yield Label("size (new model)")
                    yield Select([(s, s) for s in names.SIZES], value=NEW_MODEL_SIZE, allow_blank=False,
                                 id="size", disabled=has_base)
                with Vertical(classes="field", id="level-field"):
                    yield Label("predicts")
                    yield Select([("characters", "char"), ("words", "word")], value="char", allow_blank=False,
                                 id="level", disabled=has_base)
                with Vertical(classes="field", id="name-field"):
                    yield Label("save as")
                    yield Input(placeholder="model name", id="name")
                with Vertical(classes="field", id="minutes-field"):
                    yield Label("minutes")
                    yield Input(f"{self._minutes:g}", type="number", id="minutes")
                with Vertical(classes="field", id="start-field"):
                    yield Label(" ")
                    yield Button("Start", id="start", variant="primary")
            yield Static("", id="error")
        with Vertical(id="progress", classes="idle"):
            yield Static("", id="status")
            yield ProgressBar(total=1.0, show_eta=False, id="bar")
            with Horizontal(classes="spark-row"):
                yield Label("train bpc", classes="spark-label")
                yield Sparkline([], id="train-spark")
            with Horizontal(classes="spark-row"):
                yield Label("val bpc", classes="spark-label")
                yield Sparkline([], id="val-spark")
            with Horizontal(id="progress-buttons"):
                yield Button("Cancel (keeps the best so far)", id="cancel", variant="error")
                yield Button("Keep previous model", id="keep-old")
        yield Footer()

    def on_mount(self) -> None:
        for path in self._initial_paths:
            self.add_path(path)
        if self.active_model:
            self._check_base(self.active_model)
        self.refresh_progress()
        self.set_interval(0.25, self.refresh_progress)

    # -- choosing files --------------------------------------------------------------------

    def add_path(self, raw: str | Path) -> bool:
        """Add a file or folder to the corpus; False (and a message) if it is not there."""
        text = str(raw).strip()
        if not text:
            return False
        path = Path(os.path.expanduser(text)).absolute()
        if not path.exists():
            self._error(f"no such file or folder: {text}")
            return False
        if path not in self.paths:
            self.paths.append(path)
            self.query_one("#picked", OptionList).add_option(str(path))
            self._paths_changed()
        self._error("")
        return True

    def action_remove_path(self) -> None:
        picked = self.query_one("#picked", OptionList)
        index = picked.highlighted
        if picked.has_focus and index is not None and 0 <= index < len(self.paths):
            del self.paths[index]
            picked.remove_option_at_index(index)
            self._paths_changed()

    def _paths_changed(self) -> None:
        name = self.query_one("#name", Input)
        if self.paths and name.value in ("", self._suggested_name):
            self._suggested_name = names.from_path(self.paths[0], names.taken())
            name.value = self._suggested_name
        self._corpus = None
        self.query_one("#preview", Static).update("Reading…" if self.paths else "")
        self._preview(list(self.paths))

    @work(thread=True, exclusive=True, group="preview")
    def _preview(self, paths: list[Path]) -> None:
        """Read the corpus off the UI thread: a large folder takes a while."""
        worker = get_current_worker()
        if not paths:
            return
        try:
            data: Corpus | None = collect(paths)
            shown: Text = describe_corpus(data, paths)
        except CorpusError as exc:
            data, shown = None, Text(f"Nothing to train on: {exc}", style="bold")
        if not worker.is_cancelled:
            self.app.call_from_thread(self._show_preview, paths, data, shown)

    def _show_preview(self, paths: list[Path], data: Corpus | None, shown: Text) -> None:
        if paths != self.paths or not self.is_attached:
            return
        self._corpus, self._corpus_paths = data, paths
        self.query_one("#preview", Static).update(shown)

    @work(thread=True, exclusive=True, group="base")
    def _check_base(self, spec: str) -> None:
        """Offer fine-tuning only when the active model's file is there (store imports torch)."""
        from tuiwriter.lm import store

        try:
            present = store.resolve(spec).exists()
        except Exception:  # noqa: BLE001 - any failure means: nothing to fine-tune
            present = False
        if not present:
            self.app.call_from_thread(self._no_base, spec)

    def _no_base(self, spec: str) -> None:
        if not self.is_attached:
            return
        finetune = self.query_one("#mode-finetune", RadioButton)
        finetune.label = f"Fine-tune (model {spec!r} not found)"
        finetune.disabled = True
        self.query_one("#mode-new", RadioButton).value = True

    @on(Input.Submitted, "#path")
    @on(Button.Pressed, "#add")
    def action_add_path(self) -> None:
        field = self.query_one("#path", Input)
        if self.add_path(field.value):
            field.value = ""

    @on(DirectoryTree.FileSelected)
    @on(DirectoryTree.DirectorySelected)
    def _tree_selected(self, event: DirectoryTree.FileSelected | DirectoryTree.DirectorySelected) -> None:
        self.query_one("#path", Input).value = str(event.path)

    @on(RadioSet.Changed, "#mode")
    def _mode_changed(self) -> None:
        self.query_one("#size", Select).disabled = self._fine_tune()
        self.query_one("#level", Select).disabled = self._fine_tune()  # a fine-tune keeps its level

    def _fine_tune(self) -> bool:
        finetune = self.query_one("#mode-finetune", RadioButton)
        return bool(finetune.value and not finetune.disabled and self.active_model)

    # -- running -----------------------------------------------------------------------------

    @on(Button.Pressed, "#start")
    @on(Input.Submitted, "#name, #minutes")
    def action_start(self) -> None:
        pending = self.query_one("#path", Input)
        if pending.value.strip() and self.add_path(pending.value):
            pending.value = ""
        try:
            minutes = float(self.query_one("#minutes", Input).value)
        except ValueError:
            self._error("the time budget must be a number of minutes")
            return
        size = self.query_one("#size", Select).value
        level = self.query_one("#level", Select).value
        request = TrainRequest(
            paths=list(self.paths), name=self.query_one("#name", Input).value.strip(), minutes=minutes,
            base=self.active_model if self._fine_tune() else None,
            size=str(size) if isinstance(size, str) else NEW_MODEL_SIZE,
            level=str(level) if isinstance(level, str) else None,
            active_model=self.active_model,
            corpus=self._corpus if self._corpus_paths == self.paths else None,
        )
        try:
            self.job.start(request)
        except JobError as exc:
            self._error(str(exc))
            return
        self._error("")
        self._kept_previous = False
        self.refresh_progress()

    @on(Button.Pressed, "#cancel")
    def action_cancel_run(self) -> None:
        self.job.cancel()
        self.refresh_progress()

    @on(Button.Pressed, "#keep-old")
    def _keep_previous(self) -> None:
        snap = self.job.snapshot()
        if snap.active_model:
            self.app.post_message(ModelChosen(snap.active_model))
            self._kept_previous = True
            self.notify(f"Keeping {snap.active_model}; {snap.name} stays in your models.")
            self.refresh_progress(force=True)

    def action_close(self) -> None:
        self.dismiss()

    def refresh_progress(self, force: bool = False) -> None:
        """Show the job's latest snapshot (polled: the job may run while this screen is closed)."""
        snap = self.job.snapshot()
        if snap is self._shown and not force:
            return
        finished_now = self._shown is not None and self._shown.running and not snap.running
        self._shown = snap
        self.query_one("#progress").set_class(snap.state == "idle", "idle")
        self.query_one("#status", Static).update(Text(describe_run(snap)))
        self.query_one("#bar", ProgressBar).update(progress=snap.fraction)
        self.query_one("#train-spark", Sparkline).data = list(snap.train_history)
        # One validation point would draw as a full bar: a curve needs two.
        self.query_one("#val-spark", Sparkline).data = list(snap.val_history) if len(snap.val_history) > 1 else []
        self.query_one("#start", Button).disabled = snap.running
        self.query_one("#cancel", Button).disabled = snap.state not in ("preparing", "training")
        keep = self.query_one("#keep-old", Button)
        keep.display = (snap.state in ("finished", "cancelled") and snap.path is not None
                        and bool(snap.active_model) and not self._kept_previous)
        if snap.active_model:
            keep.label = f"Keep {snap.active_model} instead"
        if finished_now and self.paths:  # the name just used is taken now: offer a fresh one
            name = self.query_one("#name", Input)
            if name.value in ("", self._suggested_name, snap.name):
                self._suggested_name = names.from_path(self.paths[0], names.taken())
                name.value = self._suggested_name

    def _error(self, message: str) -> None:
        self.query_one("#error", Static).update(Text(message))
        if message:
            self.notify(message, severity="error")
