"""The tuiwriter App: the editor pane, the status bar, the footer, and what ties them to files,
settings, crash recovery and the model.

Start-up order matters: the screen is painted and typeable first; only after the first refresh
does a thread worker import torch and load the model, and suggestions start when it is ready.
Training runs in the background (`TrainingJob`); its screen and the models dialog talk to the
app through messages (`TrainingStarted/Progress/Finished/Failed`, `ModelChosen`).

Other programs write the file too. Ctrl+S never overwrites a file that changed on disk since it
was opened or saved without asking (overwrite, save as, or reload keeping the unsaved text as a
recovery copy); while idle the app stats the file every DISK_CHECK_S and offers to reload a
changed file when nothing is unsaved. A file another running tuiwriter holds unsaved changes to
is announced at open, with a read-only choice (the other editor's recovery copy says so).
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterable

from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Footer, TextArea

from tuiwriter.settings import Settings
from tuiwriter.text import documents, recovery
from tuiwriter.training.job import TrainingJob
from tuiwriter.tui.messages import (
    ModelChosen,
    TrainingFailed,
    TrainingFinished,
    TrainingProgress,
    TrainingStarted,
    post_to_app,
)
from tuiwriter.tui.screens.dialogs import (
    HelpScreen,
    PathPrompt,
    changed_on_disk,
    edited_elsewhere,
    recovery_prompt,
    reload_offer,
    unsaved_changes,
)
from tuiwriter.tui.screens.models import ModelsScreen
from tuiwriter.tui.screens.train import TrainScreen
from tuiwriter.tui.widgets.big_document import IndexedDocument, IndexedSyntaxDocument
from tuiwriter.tui.widgets.editor import GhostEditor
from tuiwriter.tui.widgets.status_bar import StatusBar

if TYPE_CHECKING:
    from tuiwriter.predict.engine import Engine

NO_MODEL_HINT = "train one with `tuiwriter train PATH --model NAME` or Ctrl+T"
TEMPERATURE_STEP = 0.1
TEMPERATURE_KEYS = Binding.Group("Temp ", compact=True)  # one footer entry for the pair (the space: a
# grouped label has no right margin of its own)
LANGUAGES = {".md": "markdown", ".markdown": "markdown", ".py": "python", ".toml": "toml",
             ".json": "json", ".yaml": "yaml", ".yml": "yaml", ".html": "html", ".css": "css",
             ".js": "javascript", ".rs": "rust", ".go": "go", ".sh": "bash", ".sql": "sql",
             ".java": "java", ".xml": "xml"}
DISK_CHECK_S = 2.0
"""How often the file is looked at (one stat; a hash only when its time moved but not its size)."""
IDLE_S = 1.0
"""The disk check waits until the person has not typed for this long."""
COPY_SHARE = 0.1
"""Recovery copies take at most this share of the time: a buffer whose copy takes longer than
autosave_seconds * COPY_SHARE is copied less often (tens of MB; see README)."""


def _trace(event: str, **extra: object) -> None:
    """Start-up figures for measurement: one JSON line per event when TUIWRITER_TRACE is set."""
    target = os.environ.get("TUIWRITER_TRACE")
    if target:
        with open(target, "a", encoding="utf-8") as fh:
            fh.write(json.dumps({"event": event, "t": time.time(), **extra}) + "\n")


class TuiwriterApp(App[None]):
    """A calm editor with the model's continuation as ghost text."""

    CSS_PATH = "app.tcss"
    TITLE = "tuiwriter"
    BINDINGS = [
        Binding("alt+up", "temperature_up", "Hotter", id="temperature_up", group=TEMPERATURE_KEYS,
                tooltip="Temperature up by 0.1: more surprising suggestions"),
        Binding("alt+down", "temperature_down", "Colder", id="temperature_down", group=TEMPERATURE_KEYS,
                tooltip="Temperature down by 0.1 (0 = the most likely characters)"),
        Binding("ctrl+s", "save", "Save", id="save", tooltip="Save the file"),
        Binding("ctrl+o", "open", "Open", id="open", tooltip="Open another file"),
        Binding("ctrl+t", "train", "Train", id="train",
                tooltip="Train a model on your files, in the background"),
        Binding("ctrl+g", "toggle_suggestions", "Suggestions", id="toggle_suggestions", show=False,
                tooltip="Turn suggestions on or off (remembered across sessions)"),
        Binding("f1", "help", "Help", id="help", show=False,  # in the palette; the footer has no room at 100 columns
                tooltip="Every key and what it does"),
    ]

    def __init__(self, document: documents.Document, settings: Settings,
                 settings_warning: str | None = None, model: str | None = None,
                 load_model: bool = True) -> None:
        super().__init__()
        self.document = document
        self.settings = settings
        self.settings_warning = settings_warning
        self.model_spec = model or settings.model
        self.load_model_at_start = load_model
        self.engine: Engine | None = None
        self.dirty = False
        self._saved_text = document.text
        self.recorder = recovery.Recorder(document.path)
        self._autosaving = False
        self._autosave_failed = False  # said once; said again only after a copy worked
        self._next_copy = 0.0  # monotonic time before which no recovery copy starts
        self._disk_checking = False
        self._disk_noted: object = None  # the disk change last told about (told once)
        self._last_change = 0.0  # monotonic time of the last edit
        self._load_seq = 0
        # Training in the background (none of this imports torch until a run starts).
        self.training = TrainingJob(threads=settings.train_threads, on_event=post_to_app(self))
        self.previous_model: str | None = None  # offered back after a run switches models
        self._on_here: Path | None = None  # a file the person switched on despite suggestions_off
        self.painted_at: float | None = None
        self.model_ready_at: float | None = None

    # ----- layout and start-up ------------------------------------------------------------
    @property
    def editor(self) -> GhostEditor:
        return self.query_one("#editor", GhostEditor)

    @property
    def status(self) -> StatusBar:
        return self.query_one(StatusBar)

    def compose(self) -> ComposeResult:
        yield GhostEditor(self.document.text, id="editor")
        yield StatusBar()
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self._apply_keymap()
        editor = self.editor
        self._set_language(self.document.path)
        self._apply_file_rules(self.document.path)
        editor.temperature = self.settings.temperature
        editor.max_chars = self.settings.max_suggestion_chars
        editor.enabled = self.settings.suggestions
        editor.loading_model = self.load_model_at_start
        editor.move_cursor(editor.document.end)  # a notes file is usually continued at its end
        editor.focus()
        status = self.status
        status.file_name = self.document.name
        status.model = self.model_spec
        status.temperature = self.settings.temperature
        status.state = editor.idle_state()
        if self.settings_warning:
            self.notify(f"{self.settings_warning}; using defaults for those settings",
                        title="config.toml", severity="warning", timeout=10)
        # The editor's timers, not the app's: they stop with it, so a tick while the app closes
        # (its widgets gone, its own timers not yet) finds no editor missing.
        interval = max(0.25, self.settings.autosave_seconds / 2)
        editor.set_interval(interval, self._autosave_tick)
        editor.set_interval(DISK_CHECK_S, self._check_disk)
        self.call_after_refresh(self._painted)

    def _painted(self) -> None:
        self.painted_at = time.monotonic()
        _trace("painted", torch_loaded="torch" in sys.modules)
        self._warn_if_edited_elsewhere(then=self._offer_recovery, can_quit=True)
        if self.load_model_at_start:
            self.load_model(self.model_spec)

    def _set_language(self, path: Path | None) -> None:
        """Syntax highlighting where Textual has the grammar installed; plain text otherwise."""
        language = LANGUAGES.get(path.suffix.lower()) if path else None
        editor = self.editor
        language = language if language in editor.available_languages else None
        if editor.language != language:
            selection = editor.selection
            editor.language = language  # reloads the document, which puts the cursor at (0, 0)
            editor.selection = selection  # a first save as notes.md keeps the cursor where it was

    def _apply_file_rules(self, path: Path | None) -> None:
        """No suggestions in a file config.toml's suggestions_off names (unless the person
        switched this file on with the toggle key this session)."""
        pattern = self.settings.off_pattern(path)
        off = pattern if pattern and path != self._on_here else None
        if off != self.editor.off_here:
            self.editor.set_off_here(off)
            self.status.state = self.editor.idle_state()

    # ----- the model ----------------------------------------------------------------------
    def load_model(self, spec: str, remember: bool = False) -> None:
        """Load `spec` in the background; suggestions switch to it when it is ready.

        A daemon thread rather than a Textual worker: workers run in asyncio's executor, which
        is joined at exit, so Ctrl+Q during the first torch import would wait seconds for it.
        """
        self.status.model = spec
        if self.engine is None:
            self.editor.loading_model = True
            self.status.state = self.editor.idle_state()  # "loading", unless suggestions are off
        self._load_seq += 1
        threading.Thread(target=self._load_engine, args=(spec, remember, self._load_seq),
                         name="tuiwriter-load-model", daemon=True).start()

    def _load_engine(self, spec: str, remember: bool, seq: int) -> None:
        """Loader thread: the first import of torch happens here, after the first paint."""
        try:
            from tuiwriter.predict.engine import Engine
            from tuiwriter.predict.policy import SuggestConfig

            engine = Engine.load(spec, SuggestConfig.from_settings(self.settings))
        except Exception as exc:  # noqa: BLE001 - any failure is a message, never a crash
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            self._from_loader(seq, self._model_failed, spec, reason)
            return
        self._from_loader(seq, self._model_loaded, engine, spec, remember)

    def _from_loader(self, seq: int, callback: Callable[..., None], *args: object) -> None:
        """Hand a load result to the UI thread, unless a later load superseded it or the app
        has already quit."""
        if seq != self._load_seq or not self.is_running:
            return
        try:
            self.call_from_thread(callback, *args)
        except RuntimeError:  # the app stopped meanwhile
            pass

    def _model_loaded(self, engine: Engine, spec: str, remember: bool) -> None:
        self.swap_engine(engine)
        self.model_spec = spec
        if self.model_ready_at is None:
            self.model_ready_at = time.monotonic()
            _trace("model_ready", model=engine.name)
        if remember and spec != self.settings.model:
            from tuiwriter import settings as settings_module

            self.settings.model = spec
            try:
                settings_module.remember({"model": spec})
            except OSError as exc:
                self.notify(f"could not remember the model: {exc}", severity="warning")
            self.notify(f"suggestions now come from {engine.name or spec}")

    def _model_failed(self, spec: str, reason: str) -> None:
        if self.engine is not None:
            self.notify(f"kept {self.engine.name}: cannot load {spec!r}: {reason}", severity="error")
            self.status.model = self.engine.name
            return
        self.editor.loading_model = False
        self.editor.refresh_suggestion()
        self.status.model = "none"
        self.status.state = "no model"
        if spec == "default":
            message = f"No model yet: {NO_MODEL_HINT}. The editor works without one."
        else:
            message = f"Cannot load model {spec!r}: {reason}. {NO_MODEL_HINT.capitalize()}."
        self.notify(message, title="suggestions", severity="warning", timeout=12)

    def swap_engine(self, engine: Engine) -> None:
        """Use `engine` from the next suggestion on (UI thread). The request in flight is
        cancelled and its characters dropped, so no suggestion ever mixes two models."""
        self.engine = engine
        self.editor.set_engine(engine)
        self.status.model = engine.name or self.model_spec

    # ----- training in the background -------------------------------------------------------
    def on_training_started(self, message: TrainingStarted) -> None:
        self.status.training = message.snapshot.compact()

    def on_training_progress(self, message: TrainingProgress) -> None:
        self.status.training = message.snapshot.compact()

    def on_training_finished(self, message: TrainingFinished) -> None:
        """Switch suggestions to the new model (loaded off the UI thread) and offer the old one back."""
        self.status.training = ""
        self.previous_model = message.previous
        self.load_model(message.name, remember=True)
        quality = f" (val {message.val_bpc:.2f} bits/char)" if message.val_bpc is not None else ""
        early = ", stopped early: the best so far" if message.cancelled else ""
        back = (f" To go back to {message.previous}: Ctrl+P, \"Keep the previous model\"."
                if message.previous and message.previous != message.name else "")
        self.notify(f"Model {message.name} is ready{quality}{early}.{back}", title="training", timeout=12)

    def on_training_failed(self, message: TrainingFailed) -> None:
        self.status.training = ""
        current = self.engine.name if self.engine else "none"
        self.notify(f"{message.message} (still using model {current})", title="training",
                    severity="error", timeout=12)

    def on_model_chosen(self, message: ModelChosen) -> None:
        if message.name != self.model_spec:
            self.load_model(message.name, remember=True)

    def action_keep_previous_model(self) -> None:
        """Go back to the model that was in use before the last training run switched it."""
        if not self.previous_model:
            self.notify("No earlier model to go back to.", severity="warning")
            return
        previous, self.previous_model = self.previous_model, None
        self.load_model(previous, remember=True)

    # ----- status -------------------------------------------------------------------------
    def on_ghost_editor_state_changed(self, message: GhostEditor.StateChanged) -> None:
        self.status.state = message.state

    def on_ghost_editor_cycle_changed(self, message: GhostEditor.CycleChanged) -> None:
        self.status.cycle = (message.k, message.n) if message.n > 1 else None

    def on_text_area_changed(self, message: TextArea.Changed) -> None:
        """Mark the buffer unsaved. Compares with the saved text only while it is clean, and only
        when the length is the same (knowing the length costs nothing; joining 10 MB does)."""
        self._last_change = time.monotonic()
        if self.dirty:
            return
        editor = self.editor
        if editor.document.length != len(self._saved_text) or editor.text != self._saved_text:
            self.dirty = True
            self.status.dirty = True

    # ----- keys ---------------------------------------------------------------------------
    def _set_temperature(self, value: float) -> None:
        value = round(min(2.0, max(0.0, value)), 1)
        self.settings.temperature = value
        self.editor.set_temperature(value)
        self.status.temperature = value

    def action_temperature_up(self) -> None:
        """Alt+Up: sample hotter (more surprising suggestions)."""
        self._set_temperature(self.settings.temperature + TEMPERATURE_STEP)

    def action_temperature_down(self) -> None:
        """Alt+Down: sample colder (0 = the most likely characters)."""
        self._set_temperature(self.settings.temperature - TEMPERATURE_STEP)

    def action_toggle_suggestions(self) -> None:
        """Ctrl+G: flip what the person sees. Everywhere (remembered in config.toml unless
        remember_toggle = false), or, in a file suggestions_off names, this file for the session."""
        editor, path = self.editor, self.document.path
        pattern = self.settings.off_pattern(path)
        if editor.suggesting and pattern:  # a file switched on this session: off again
            self._on_here = None
            self._apply_file_rules(path)
            self.notify(f"suggestions off for {self.document.name} again ({pattern})", timeout=3)
            return
        if editor.suggesting or not editor.enabled:
            self._set_suggestions(not editor.enabled)
        if editor.enabled and editor.off_here:
            self._on_here = path
            self._apply_file_rules(path)
            self.notify(f"suggestions on for {self.document.name} for this session (config.toml's "
                        f"suggestions_off has {pattern})", timeout=5)
            return
        self.notify(f"suggestions {'on' if editor.enabled else 'off'}", timeout=2)

    def _set_suggestions(self, enabled: bool) -> None:
        """Suggestions on or off everywhere; kept in config.toml when remember_toggle is set."""
        self.editor.set_enabled(enabled)
        self.status.state = self.editor.idle_state()
        self.settings.suggestions = enabled
        if not self.settings.remember_toggle:
            return
        from tuiwriter import settings as settings_module

        try:
            settings_module.remember({"suggestions": enabled})
        except OSError as exc:
            self.notify(f"could not remember it: {exc}", severity="warning")

    def action_help(self) -> None:
        from tuiwriter.paths import config_path

        self.push_screen(HelpScreen(self.key_rows(), str(config_path())))

    @classmethod
    def key_actions(cls) -> list[str]:
        """Every remappable action, in the order the SPEC and F1 list them: the editor's, then the app's."""
        return [b.id for b in [*GhostEditor.BINDINGS, *cls.BINDINGS] if isinstance(b, Binding) and b.id]

    def _apply_keymap(self) -> None:
        """config.toml's [keys] holds the person's overrides only; the defaults are the bindings."""
        actions = self.key_actions()
        unknown = sorted(set(self.settings.keys) - set(actions))
        if unknown:
            self.notify(f"unknown key action(s) in [keys]: {', '.join(unknown)} (known: {', '.join(actions)})",
                        title="config.toml", severity="warning", timeout=10)
        remapped = {k: v for k, v in self.settings.keys.items() if k in actions}
        if remapped:
            self.set_keymap(remapped)

    def key_rows(self) -> list[tuple[str, str]]:
        """(key, what it does) for every tuiwriter action as currently mapped, SPEC order."""
        found: dict[str, tuple[str, str]] = {}
        for node in (self, self.editor):
            for bindings in node._bindings.key_to_bindings.values():
                for binding in bindings:
                    if binding.id and binding.id not in found:
                        found[binding.id] = (self.get_key_display(binding),
                                             binding.tooltip or binding.description)
        keymap = self._keymap
        rows = []
        for action in self.key_actions():
            if action in found:
                key, what = found[action]
                if action in keymap:
                    key = self.get_key_display(Binding(keymap[action].split(",")[0], action))
                rows.append((key, what))
        rows.append((self.get_key_display(Binding(self.COMMAND_PALETTE_BINDING, "")), "Command palette"))
        for bindings in self._bindings.key_to_bindings.values():
            rows.extend((self.get_key_display(b), "Quit") for b in bindings if b.action == "quit")
        return rows

    def action_train(self) -> None:
        """Ctrl+T: train on files in the background (the run outlives the screen)."""
        self.push_screen(TrainScreen(self.training, active_model=self.model_spec))

    def action_switch_model(self) -> None:
        """List the models; choosing one posts `ModelChosen`, handled above."""
        running = self.training.snapshot().name if self.training.running else None
        self.push_screen(ModelsScreen(active=self.model_spec, training=running))

    # ----- files --------------------------------------------------------------------------
    def action_save(self) -> None:
        """Ctrl+S: write the file atomically (asks for a name the first time if untitled)."""
        self.save()

    def save(self, then: Callable[[], None] | None = None) -> None:
        if self.document.path is None:
            self.action_save_as(then)
            return
        self._write(self.document.path, then)

    def action_save_as(self, then: Callable[[], None] | None = None) -> None:
        initial = str(self.document.path) if self.document.path else ""

        def chosen(path: Path | None) -> None:
            if path is not None:
                self._write(path, then)

        self.push_screen(PathPrompt("Save as", initial), chosen)

    def _write(self, path: Path, then: Callable[[], None] | None, overwrite: bool = False) -> None:
        text = self.editor.text
        try:
            written = documents.save_document(self.document, text, path, overwrite=overwrite)
        except documents.ChangedOnDisk:
            self._ask_before_overwriting(path, then)
            return
        except documents.DocumentError as exc:
            self.notify(str(exc), title="not saved", severity="error", timeout=10)
            return
        if self.recorder.path != written:
            self.recorder.retarget(written)
        self.recorder.discard()
        self._saved_text = text
        self.dirty = False
        self.status.dirty = False
        self.status.file_name = self.document.name
        self._set_language(written)
        self._apply_file_rules(written)
        self._disk_noted = None
        self.notify(f"saved {written}", timeout=2)
        if then is not None:
            then()

    def _ask_before_overwriting(self, path: Path, then: Callable[[], None] | None) -> None:
        """Another program changed the file: nothing is written until the person chooses."""
        _trace("changed_on_disk")

        def answered(answer: str | None) -> None:
            _trace("changed_on_disk_answer", answer=answer)
            if answer == "overwrite":
                self._write(path, then, overwrite=True)
            elif answer == "save_as":
                self.action_save_as(then)
            elif answer == "reload":
                self.reload()

        self.push_screen(changed_on_disk(path.name), answered)

    def reload(self) -> None:
        """Read the file again from disk. Unsaved text is first put aside as a recovery copy
        (offered the next time the file is opened); if that copy fails nothing is reloaded."""
        path = self.document.path
        if path is None:
            return
        if not path.exists():
            self.notify(f"{self.document.name} is not on disk any more: nothing to reload (Ctrl+S writes it "
                        "again)", severity="warning", timeout=8)
            return
        editor = self.editor
        kept = None
        if self.dirty:
            try:
                kept = recovery.keep(path, editor.document.lines)
            except OSError as exc:
                self.notify(f"not reloaded: could not keep a copy of your unsaved text ({exc})",
                            severity="error", timeout=10)
                return
        doc = self._read_document(path, "cannot reload")
        if doc is None:
            return
        self.recorder.discard()
        self._show_document(doc, editor.cursor_location)
        extra = (f" Your unsaved text is kept: tuiwriter offers it the next time you open {doc.name} "
                 "(or Ctrl+P, \"Recover unsaved text\")." if kept else "")
        self.notify(f"reloaded {doc.name} from disk.{extra}", timeout=12 if kept else 3)

    # ----- the file on disk while editing ----------------------------------------------------
    def _check_disk(self) -> None:
        """Timer: has another program changed, replaced or deleted the file? (in a worker: a
        changed time with the same size means hashing the file)"""
        doc = self.document
        if (doc.path is None or self._disk_checking or len(self.screen_stack) > 1
                or time.monotonic() - self._last_change < IDLE_S):
            return
        self._disk_checking = True

        def run() -> None:
            try:
                check = documents.disk_change(doc)
            finally:
                self._disk_checking = False
            if check.change != "same" or check.state != doc.disk:
                self.call_from_thread(self._disk_checked, doc, check)

        self.run_worker(run, name="disk check", group="disk", thread=True, exit_on_error=False)

    def _disk_checked(self, doc: documents.Document, check: documents.DiskCheck) -> None:
        if doc is not self.document:
            return  # another file was opened meanwhile
        if check.change == "same":
            if check.state is not None:
                doc.disk = check.state  # touched, not changed
            self._disk_noted = None
            return
        if check.seen == self._disk_noted:
            return  # told already
        self._disk_noted = check.seen
        name = doc.name
        if check.change == "deleted":
            self.notify(f"{name} was deleted on disk: Ctrl+S writes it again.", title="file deleted",
                        severity="warning", timeout=10)
        elif self.dirty:
            self.notify(f"{name} changed on disk: Ctrl+S will ask before overwriting it.",
                        title="file changed", severity="warning", timeout=10)
        else:
            def answered(answer: str | None) -> None:
                if answer == "reload" and not self.dirty:
                    self.reload()

            self.push_screen(reload_offer(name), answered)

    def _warn_if_edited_elsewhere(self, then: Callable[[], None], can_quit: bool = False) -> None:
        """Another running tuiwriter has unsaved changes to this file (its recovery copy is live):
        say so before anything else, and offer read-only."""
        others = recovery.editing_elsewhere(self.document.path)
        if not others:
            then()
            return
        _trace("edited_elsewhere", pids=[o.pid for o in others])

        def answered(answer: str | None) -> None:
            if answer == "quit":
                self.exit()
                return
            self.set_read_only(answer == "read_only")
            then()

        self.push_screen(edited_elsewhere(self.document.name, [o.pid for o in others], others[0].when,
                                          can_quit), answered)

    def set_read_only(self, read_only: bool) -> None:
        self.editor.read_only = read_only
        self.status.read_only = read_only

    def action_allow_editing(self) -> None:
        """Leave read-only mode (chosen when another tuiwriter was editing the file)."""
        self.set_read_only(False)
        self.notify(f"{self.document.name} is editable", timeout=3)

    def action_open(self) -> None:
        """Ctrl+O: open another file (asks about unsaved changes first)."""
        self._unless_unsaved("Open another file?", lambda: self.push_screen(
            PathPrompt("Open file"), self._open_path))

    def _open_path(self, path: Path | None) -> None:
        if path is None:
            return
        doc = self._read_document(path, "cannot open")
        if doc is None:
            return
        self.recorder.discard()
        self.recorder = recovery.Recorder(doc.path)
        self._show_document(doc)
        self.set_read_only(False)
        self._warn_if_edited_elsewhere(then=self._offer_recovery)

    def _read_document(self, path: Path, title: str) -> documents.Document | None:
        try:
            return documents.open_document(path)
        except documents.DocumentError as exc:
            self.notify(str(exc), title=title, severity="error", timeout=10)
            return None

    def _show_document(self, doc: documents.Document, cursor: tuple[int, int] | None = None) -> None:
        """Edit `doc` from now on, with nothing unsaved; the cursor at `cursor` (as near as the
        text allows) or at the end."""
        self.document = doc
        self._saved_text = doc.text
        editor = self.editor
        self._set_language(doc.path)
        self._apply_file_rules(doc.path)
        editor.load_text(doc.text)
        if cursor is None:
            editor.move_cursor(editor.document.end)
        else:
            row = min(cursor[0], editor.document.line_count - 1)
            editor.move_cursor((row, min(cursor[1], len(editor.document[row]))), center=True)
        self.dirty = False
        self.status.dirty = False
        self.status.file_name = doc.name
        self._disk_noted = None

    def _unless_unsaved(self, question: str, proceed: Callable[[], None],
                        reasons: list[str] | None = None) -> None:
        """Run `proceed` now, or after the person saves or discards their unsaved changes."""
        if reasons is None:
            reasons = self.unsaved_concerns()
        if not reasons:
            proceed()
            return

        def answered(answer: str | None) -> None:
            if answer == "save":
                self.save(then=proceed)
            elif answer == "discard":
                self.recorder.discard()
                proceed()

        self.push_screen(unsaved_changes(question, reasons), answered)

    def unsaved_concerns(self) -> list[str]:
        return [f"{self.document.name} has unsaved changes."] if self.dirty else []

    def quit_concerns(self) -> list[str]:
        """Why quitting now would lose something (one line each); empty when it is safe."""
        reasons = self.unsaved_concerns()
        if self.training.running:
            reasons.append(f"Training {self.training.snapshot().name} is running: quitting stops it "
                           "(the best model so far is kept).")
        return reasons

    async def action_quit(self) -> None:
        """Ctrl+Q: quit, asking first when there are unsaved changes."""
        self._unless_unsaved("Quit tuiwriter?", self._quit_now, self.quit_concerns())

    def _quit_now(self) -> None:
        if not self.dirty:
            self.recorder.discard()
        if self.training.running:
            self.training.cancel()
            self.training.wait(timeout=60)  # its last validation decides which model is kept
        self.exit()

    # ----- crash recovery -----------------------------------------------------------------
    def _autosave_tick(self) -> None:
        """Copy an unsaved buffer to the state dir when its text changed since the last copy.
        Nothing of the text is touched on the UI thread: a worker copies the rows (consistently,
        while typing goes on), encodes them in pieces and writes them (fsync may be slow)."""
        if not self.dirty or self._autosaving or time.monotonic() < self._next_copy:
            return
        document = self.editor.document
        if document.version == self.recorder.written:
            return
        self._autosaving = True
        self.run_worker(partial(self._autosave, self.recorder, document), name="autosave",
                        group="autosave", description="recovery copy", thread=True, exit_on_error=False)

    def _autosave(self, recorder: recovery.Recorder, document: IndexedDocument | IndexedSyntaxDocument) -> None:
        started = time.monotonic()
        try:
            version, lines = document.rows_now()
            recorder.write(lines, version=version)
            self._autosave_failed = False
        except OSError as exc:
            self.call_from_thread(self._copy_failed, exc)
        finally:
            took = time.monotonic() - started
            self._next_copy = time.monotonic() + max(0.0, took / COPY_SHARE - self.settings.autosave_seconds)
            self._autosaving = False

    def _copy_failed(self, exc: OSError) -> None:
        """Say once that recovery copies fail; again only after one has worked."""
        if not self._autosave_failed:
            self._autosave_failed = True
            self.notify(f"crash-recovery copy failed: {exc}", severity="warning")

    def _offer_recovery(self) -> None:
        snaps = recovery.for_document(self.document.path)
        others = [s for s in recovery.orphans() if s not in snaps]
        if others:
            names = ", ".join(sorted({s.label for s in others})[:3])
            self.notify(f"Unsaved text from an earlier session: {names}. Open it to recover.",
                        title="recovery", timeout=10)
        if not snaps:
            return
        newest = snaps[0]
        if newest.text == self.editor.text:
            recovery.forget(snaps)
            return
        preview = "\n".join(newest.text.rstrip("\n").splitlines()[-6:])

        def answered(answer: str | None) -> None:
            _trace("recovery", answer=answer)
            if answer == "recover":
                self._recover(newest.text)
                recovery.forget(snaps)
            elif answer == "discard":
                recovery.forget(snaps)

        self.push_screen(recovery_prompt(newest.label, newest.when, preview, newest.kept), answered)

    def _recover(self, text: str) -> None:
        editor = self.editor
        editor.load_text(text)
        editor.move_cursor(editor.document.end)
        try:
            self.recorder.write(text, version=editor.document.version)
            self._autosave_failed = False
        except OSError as exc:
            self._copy_failed(exc)
        self.dirty = text != self._saved_text
        self.status.dirty = self.dirty
        self.notify("recovered the unsaved text: Ctrl+S saves it", timeout=5)

    def _reload_from_palette(self) -> None:
        self.reload()

    # ----- command palette ----------------------------------------------------------------
    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)

        def editor_action(name: str) -> Callable[[], object]:
            return lambda: self.run_action(name, self.editor)

        yield SystemCommand("Accept suggestion", "Insert the whole ghost text", editor_action("accept"))
        yield SystemCommand("Accept word", "Insert the ghost text's next word", editor_action("accept_word"))
        yield SystemCommand("Accept character", "Insert the ghost text's next character",
                            editor_action("accept_char"))
        yield SystemCommand("Dismiss suggestion", "Hide the ghost text", editor_action("dismiss"))
        yield SystemCommand("Resample", "Draw another suggestion", editor_action("resample"))
        yield SystemCommand("Previous sample", "Go back to the previous suggestion",
                            editor_action("previous_sample"))
        yield SystemCommand("Temperature up", "Hotter: more surprising suggestions",
                            self.action_temperature_up)
        yield SystemCommand("Temperature down", "Colder: the most likely characters",
                            self.action_temperature_down)
        yield SystemCommand("Toggle suggestions", "Turn ghost text on or off (remembered)",
                            self.action_toggle_suggestions)
        yield SystemCommand("Switch model…", "Pick the model suggestions come from",
                            self.action_switch_model)
        yield SystemCommand("Train on files…", "Train or fine-tune a model on your files",
                            self.action_train)
        if self.previous_model:
            yield SystemCommand("Keep the previous model", f"Go back to {self.previous_model}",
                                self.action_keep_previous_model)
        yield SystemCommand("Save", "Write the file", self.action_save)
        yield SystemCommand("Save as…", "Write to another file", self.action_save_as)
        yield SystemCommand("Open file…", "Open another file", self.action_open)
        if self.document.path is not None:
            yield SystemCommand("Reload from disk", "Read the file again (unsaved text is kept as a "
                                "recovery copy)", self._reload_from_palette)
        yield SystemCommand("Recover unsaved text", "Offer unsaved text kept from a crash or a reload",
                            self._offer_recovery)
        if self.editor.read_only:
            yield SystemCommand("Allow editing", "Leave read-only mode", self.action_allow_editing)
        yield SystemCommand("Help", "Every key and what it does", self.action_help)
