"""The app around the editor: status bar, saving, quitting with unsaved changes, no model yet,
a broken config, help, the command palette, opening files and swapping the engine."""

from __future__ import annotations

from editor_helpers import make_app, model_ready, settled, type_text, wait_until
from textual.command import CommandList, CommandPalette
from textual.widgets import Input

from tuiwriter import settings as settings_module
from tuiwriter.predict.engine import Engine
from tuiwriter.settings import Settings
from tuiwriter.tui.screens.dialogs import Choice, HelpScreen
from tuiwriter.tui.widgets.status_bar import StatusBar


def status_text(app) -> str:
    return str(app.query_one(StatusBar).render())


async def enter_path(pilot, app, path) -> None:
    """Answer the path prompt (typing a long path key by key only makes the test slow)."""
    field = app.screen.query_one(Input)
    await type_text(pilot, str(path)[:1])
    field.value = str(path)
    await pilot.press("enter")


def from_config(text: str) -> Settings:
    """Write `text` as config.toml and read it back as the app would at start."""
    path = settings_module.config_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    current, warning = settings_module.load()
    assert warning is None
    return current


def notifications(app) -> str:
    return " | ".join(str(n.message) for n in app._notifications)


async def test_temperature_keys_change_the_status_bar(tiny_checkpoint):
    app = make_app(tiny_checkpoint)
    async with app.run_test(size=(100, 30)) as pilot:
        await model_ready(pilot, app)
        assert "T 0.0" in status_text(app)
        await pilot.press("alt+up", "alt+up")
        assert "T 0.2" in status_text(app)
        assert app.editor.temperature == 0.2
        await pilot.press("alt+down", "alt+down", "alt+down")
        assert "T 0.0" in status_text(app)  # never below 0


async def test_temperature_stops_at_two(tiny_checkpoint):
    app = make_app(tiny_checkpoint, settings=Settings(temperature=1.95))
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("alt+up", "alt+up")
        assert "T 2.0" in status_text(app)


async def test_status_bar_shows_file_dirty_mark_and_model(tiny_checkpoint, tmp_path):
    app = make_app(tiny_checkpoint, tmp_path / "notes.md")
    async with app.run_test(size=(100, 30)) as pilot:
        await model_ready(pilot, app)
        text = status_text(app)
        assert "notes.md" in text and "●" not in text and "model tiny" in text
        await type_text(pilot, "Hi")
        assert "notes.md ●" in status_text(app)


async def test_ctrl_s_writes_the_file_atomically(tiny_checkpoint, tmp_path):
    (tmp_path / "docs").mkdir()
    path = tmp_path / "docs" / "notes.md"
    app = make_app(tiny_checkpoint, path)
    async with app.run_test(size=(100, 30)) as pilot:
        await type_text(pilot, "Dear diary")
        assert not path.exists()  # created on first save
        await pilot.press("ctrl+s")
        assert path.read_text() == "Dear diary"
        assert "●" not in status_text(app)
        assert [p.name for p in path.parent.iterdir()] == ["notes.md"]  # no temp file left


async def test_untitled_buffer_asks_for_a_name_on_save(tiny_checkpoint, tmp_path):
    app = make_app(tiny_checkpoint)
    async with app.run_test(size=(100, 30)) as pilot:
        await type_text(pilot, "draft")
        await pilot.press("ctrl+s")
        await enter_path(pilot, app, tmp_path / "draft.md")
        assert (tmp_path / "draft.md").read_text() == "draft"
        assert "draft.md" in status_text(app)


async def test_saving_as_markdown_keeps_the_cursor_where_it_was(tiny_checkpoint, tmp_path):
    app = make_app(tiny_checkpoint)
    async with app.run_test(size=(100, 30)) as pilot:
        await type_text(pilot, "first line")
        await pilot.press("enter")
        await type_text(pilot, "second")
        await pilot.press("ctrl+s")
        await enter_path(pilot, app, tmp_path / "draft.md")  # highlighting switches on
        assert (tmp_path / "draft.md").read_text() == "first line\nsecond"
        assert app.editor.language in ("markdown", None)
        assert app.editor.cursor_location == (1, 6)
        await type_text(pilot, " line")
        assert app.editor.text == "first line\nsecond line"


async def test_quitting_with_unsaved_changes_asks_first(tiny_checkpoint, tmp_path):
    path = tmp_path / "notes.md"
    app = make_app(tiny_checkpoint, path)
    async with app.run_test(size=(100, 30)) as pilot:
        await type_text(pilot, "unsaved words")
        await pilot.press("ctrl+q")
        assert isinstance(app.screen, Choice)
        await pilot.press("escape")  # cancel: back to the text
        assert not isinstance(app.screen, Choice)
        assert app.editor.text == "unsaved words"
        await pilot.press("ctrl+q")
        await pilot.press("s")  # save and quit
        await pilot.pause()
    assert path.read_text() == "unsaved words"
    assert app.return_code == 0


async def test_quitting_without_changes_does_not_ask(tiny_checkpoint):
    app = make_app(tiny_checkpoint)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("ctrl+q")
        await pilot.pause()
        assert not isinstance(app.screen, Choice)
    assert app.return_code == 0


async def test_without_any_model_the_editor_works_and_says_how_to_train(tmp_path, monkeypatch):
    monkeypatch.setattr("tuiwriter.lm.store.shipped_default", lambda: tmp_path / "no-default.safetensors")
    app = make_app(None, tmp_path / "notes.md")  # an install without the shipped model
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_until(pilot, lambda: "tuiwriter train PATH --model NAME" in notifications(app),
                         "the advice to train a model")
        assert "no model" in status_text(app)
        await type_text(pilot, "still typing")
        assert app.editor.text == "still typing"
        assert app.editor.ghost == ""


async def test_a_broken_config_gives_a_notification_and_defaults(tiny_checkpoint):
    path = settings_module.config_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("temperature = [oops\n")
    current, warning = settings_module.load()
    assert warning and current == Settings()
    app = make_app(tiny_checkpoint, settings=current, warning=warning)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_until(pilot, lambda: "config.toml" in notifications(app), "the config warning")
        assert "T 0.0" in status_text(app)


async def test_config_keys_are_overrides_and_an_unknown_action_is_named(tiny_checkpoint):
    """config.toml's [keys] holds only what the person changed; a key table written by an older
    tuiwriter (every action listed) still loads, and a misspelt action is named, not fatal."""
    path = settings_module.config_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text('[keys]\naccept = "tab"\nresample = "ctrl+r"\nresampel = "ctrl+e"\n')
    current, warning = settings_module.load()
    assert warning is None and current.keys == {"accept": "tab", "resample": "ctrl+r", "resampel": "ctrl+e"}
    assert Settings().keys == {}
    app = make_app(tiny_checkpoint, settings=current)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_until(pilot, lambda: "resampel" in notifications(app), "the unknown action's warning")
        await model_ready(pilot, app)
        await type_text(pilot, "The ca")
        await settled(pilot, app)
        sample = app.editor.sample
        await pilot.press("ctrl+r")
        assert app.editor.sample == sample + 1


async def test_f1_shows_every_key_and_escape_closes(tiny_checkpoint):
    app = make_app(tiny_checkpoint)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("f1")
        assert isinstance(app.screen, HelpScreen)
        keys = dict(app.screen.rows)
        for key in ("tab", "^n", "^s", "^o", "^t", "alt+↑", "alt+→", "^g", "^b", "^p"):
            assert key in keys
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)


async def test_command_palette_runs_editor_commands(tiny_checkpoint):
    app = make_app(tiny_checkpoint)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("ctrl+p")
        assert isinstance(app.screen, CommandPalette)
        await type_text(pilot, "Temperature up")
        await wait_until(pilot, lambda: app.screen.query_one(CommandList).option_count, "matches")
        await pilot.press("enter")
        await wait_until(pilot, lambda: app.settings.temperature == 0.1, "the command to run")
        assert "T 0.1" in status_text(app)


async def test_toggle_suggestions_turns_the_ghost_off(tiny_checkpoint):
    app = make_app(tiny_checkpoint)
    async with app.run_test(size=(100, 30)) as pilot:
        await model_ready(pilot, app)
        await type_text(pilot, "The cat")
        assert await settled(pilot, app)
        await pilot.press("ctrl+g")
        assert app.editor.ghost == ""
        assert "suggestions off" in status_text(app)
        await type_text(pilot, " sat")
        assert await settled(pilot, app) == ""


async def test_ctrl_o_opens_another_file(tiny_checkpoint, tmp_path):
    other = tmp_path / "other.md"
    other.write_text("Line one\r\nLine two\r\n")
    app = make_app(tiny_checkpoint, tmp_path / "notes.md")
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("ctrl+o")
        await enter_path(pilot, app, other)
        assert app.editor.text == "Line one\nLine two\n"
        assert "other.md" in status_text(app)
        await type_text(pilot, "Three")
        await pilot.press("ctrl+s")
    assert other.read_bytes() == b"Line one\r\nLine two\r\nThree"  # CRLF kept


async def test_opening_a_binary_file_is_refused_with_a_message(tiny_checkpoint, tmp_path):
    blob = tmp_path / "blob.bin"
    blob.write_bytes(b"\x00\x01\x02")
    app = make_app(tiny_checkpoint, tmp_path / "notes.md")
    async with app.run_test(size=(100, 30)) as pilot:
        await type_text(pilot, "kept")
        await pilot.press("ctrl+s", "ctrl+o")
        await enter_path(pilot, app, blob)
        await wait_until(pilot, lambda: "binary" in notifications(app), "the refusal")
        assert app.editor.text == "kept"


async def test_swap_engine_clears_the_old_models_ghost(tiny_checkpoint):
    app = make_app(tiny_checkpoint)
    async with app.run_test(size=(100, 30)) as pilot:
        await model_ready(pilot, app)
        await type_text(pilot, "The dog")
        first = await settled(pilot, app)
        replacement = Engine.load(str(tiny_checkpoint))
        replacement.name = "other"
        app.swap_engine(replacement)
        assert app.editor.ghost == ""
        assert "model other" in status_text(app)
        assert await settled(pilot, app) == first  # same weights, so the same suggestion
        assert app.editor.engine is replacement


async def test_switch_model_from_the_palette_and_remember_it(tiny_checkpoint):
    from editor_helpers import install_model

    app = make_app(tiny_checkpoint)
    install_model(tiny_checkpoint, "second")
    async with app.run_test(size=(100, 30)) as pilot:
        await model_ready(pilot, app)
        await pilot.press("ctrl+p")
        await type_text(pilot, "Switch model")
        await wait_until(pilot, lambda: app.screen.query_one(CommandList).option_count, "matches")
        await pilot.press("enter")
        await wait_until(pilot, lambda: app.screen.query("#models"), "the model list")
        models = app.screen.query_one("#models")
        await wait_until(pilot, lambda: models.row_count >= 2, "the rows")
        models.move_cursor(row=models.get_row_index("second"))
        await pilot.press("enter")
        await wait_until(pilot, lambda: app.engine.name == "second", "the switch")
        assert "model second" in status_text(app)
    assert settings_module.load()[0].model == "second"


def app_on_empty_file(checkpoint, path):
    path.write_text("")
    return make_app(checkpoint, path)


async def ghost_after_typing(pilot, app, text: str = "The dog ran to the") -> str:
    await model_ready(pilot, app)
    await type_text(pilot, text)
    return await settled(pilot, app)


async def test_a_file_config_turns_off_gets_no_ghost_and_a_markdown_file_does(tiny_checkpoint, tmp_path):
    app = app_on_empty_file(tiny_checkpoint, tmp_path / "prod.env")
    async with app.run_test(size=(100, 30)) as pilot:
        assert await ghost_after_typing(pilot, app) == ""
        assert "suggestions off for this file" in status_text(app)
        await pilot.press("ctrl+s")
        await pilot.press("ctrl+o")
        await enter_path(pilot, app, tmp_path / "notes.md")
        await wait_until(pilot, lambda: app.document.name == "notes.md", "the other file")
        await type_text(pilot, "The dog ran to the")
        assert await settled(pilot, app)
        assert "suggestions on" in status_text(app)


async def test_off_patterns_come_from_config_and_apply_to_save_as(tiny_checkpoint, tmp_path):
    current = from_config('suggestions_off = ["*.txt"]\n')
    app = make_app(tiny_checkpoint, tmp_path / "draft.env", settings=current)  # not in this list
    async with app.run_test(size=(100, 30)) as pilot:
        assert await ghost_after_typing(pilot, app)
        app.action_save_as()
        await wait_until(pilot, lambda: app.screen.query(Input), "the path prompt")
        await enter_path(pilot, app, tmp_path / "draft.txt")
        await wait_until(pilot, lambda: app.document.name == "draft.txt", "the save")
        assert app.editor.ghost == "" and "suggestions off for this file" in status_text(app)


async def test_toggle_is_remembered_across_restarts(tiny_checkpoint):
    app = make_app(tiny_checkpoint)
    async with app.run_test(size=(100, 30)) as pilot:
        await model_ready(pilot, app)
        await pilot.press("ctrl+g")
        assert "suggestions off" in status_text(app)
    assert "suggestions = false" in settings_module.config_path().read_text()
    current, _ = settings_module.load()
    again = make_app(tiny_checkpoint, settings=current)
    async with again.run_test(size=(100, 30)) as pilot:
        await model_ready(pilot, again)
        assert "suggestions off" in status_text(again)
        await type_text(pilot, "The dog ran to the")
        assert await settled(pilot, again) == ""
        await pilot.press("ctrl+g")
        assert await settled(pilot, again)
    assert settings_module.load()[0].suggestions is True


async def test_toggle_lasts_the_session_only_when_remember_toggle_is_false(tiny_checkpoint):
    current = from_config("remember_toggle = false\n")
    assert current.remember_toggle is False
    app = make_app(tiny_checkpoint, settings=current)
    async with app.run_test(size=(100, 30)) as pilot:
        await model_ready(pilot, app)
        await pilot.press("ctrl+g")
        assert "suggestions off" in status_text(app)
    assert settings_module.config_path().read_text() == "remember_toggle = false\n"
    assert settings_module.load()[0].suggestions is True


async def test_toggle_in_a_file_config_turns_off_switches_that_file_for_the_session(tiny_checkpoint, tmp_path):
    app = app_on_empty_file(tiny_checkpoint, tmp_path / "data.csv")
    async with app.run_test(size=(100, 30)) as pilot:
        assert await ghost_after_typing(pilot, app) == ""
        await pilot.press("ctrl+g")
        assert await settled(pilot, app)
        assert "*.csv" in notifications(app)
        await pilot.press("ctrl+g")
        assert await settled(pilot, app) == ""
        assert "suggestions off for this file" in status_text(app)
    assert not settings_module.config_path().exists()  # the everywhere switch was not touched


async def test_a_keys_override_remaps_accept_one_character(tiny_checkpoint):
    app = make_app(tiny_checkpoint, settings=from_config('[keys]\naccept_char = "ctrl+l"\n'))
    async with app.run_test(size=(100, 30)) as pilot:
        await model_ready(pilot, app)
        await type_text(pilot, "The dog ran to the")
        await settled(pilot, app)
        app.editor.refresh_suggestion()
        ghost = await settled(pilot, app)
        assert ghost
        await pilot.press("ctrl+l")
        assert app.editor.text == "The dog ran to the" + ghost[0]
        assert "accept_char" not in notifications(app)  # a known action
        await pilot.press("f1")
        assert ("^l", "Accept one character of the suggestion") in app.screen.rows


async def test_accept_character_is_in_the_command_palette(tiny_checkpoint):
    app = make_app(tiny_checkpoint)
    async with app.run_test(size=(100, 30)) as pilot:
        ghost = await ghost_after_typing(pilot, app, "The quick brown")
        assert ghost
        await pilot.press("ctrl+p")
        await type_text(pilot, "Accept character")
        await wait_until(pilot, lambda: app.screen.query_one(CommandList).option_count, "matches")
        await pilot.press("enter")
        await wait_until(pilot, lambda: app.editor.text != "The quick brown", "the command to run")
        assert app.editor.text == "The quick brown" + ghost[0]
