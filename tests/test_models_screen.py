"""The models dialog: lists models, switches the active one, deletes with a question."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from textual.app import App
from textual.widgets import DataTable

from tuiwriter.paths import models_dir
from tuiwriter.tui.messages import ModelChosen
from tuiwriter.tui.screens.dialogs import Choice
from tuiwriter.tui.screens.models import ModelsScreen

WAIT_S = 30


class Host(App):
    def __init__(self, active: str, training: str | None = None) -> None:
        super().__init__()
        self.active, self.training = active, training
        self.chosen: list[str] = []
        self.result: list[str | None] = []

    def on_mount(self) -> None:
        self.push_screen(ModelsScreen(active=self.active, training=self.training), self.result.append)

    def on_model_chosen(self, m: ModelChosen) -> None:
        self.chosen.append(m.name)


@pytest.fixture
def models(tiny_checkpoint, tmp_path, monkeypatch) -> Path:
    """Two trained models, a broken one, and a shipped default (a copy, so the test knows it)."""
    for name in ("alpha", "beta"):
        (models_dir() / name).mkdir()
        shutil.copy(tiny_checkpoint, models_dir() / name / "model.safetensors")
    (models_dir() / "broken").mkdir()
    (models_dir() / "broken" / "model.safetensors").write_bytes(b"garbage")
    shipped = tmp_path / "default.safetensors"
    shutil.copy(tiny_checkpoint, shipped)
    monkeypatch.setattr("tuiwriter.lm.store.shipped_default", lambda: shipped)
    return models_dir()


async def loaded(pilot) -> DataTable:
    table = pilot.app.screen.query_one(DataTable)
    for _ in range(int(WAIT_S / 0.05)):
        if table.row_count:
            return table
        await pilot.pause(0.05)
    raise AssertionError("the model list never loaded")


def row_of(table: DataTable, name: str) -> list[str]:
    return [str(c) for c in table.get_row(name)]


async def highlight(pilot, table: DataTable, name: str) -> None:
    table.move_cursor(row=table.get_row_index(name))
    await pilot.pause()


async def test_lists_every_model_with_size_bpc_and_source_and_marks_the_active_one(models):
    app = Host(active="beta")
    async with app.run_test(size=(140, 30)) as pilot:
        table = await loaded(pilot)
        assert table.row_count == 4  # default, alpha, beta, broken
        mark, name, level, params, bpc, trained_on, when = row_of(table, "beta")
        assert level == "char"
        assert (mark, name) == ("●", "beta")
        assert params.endswith("M") and float(bpc) > 0
        assert trained_on == "tiny test text" and when[:2] == "20"
        assert row_of(table, "alpha")[0] == ""
        assert row_of(table, "broken")[5].startswith("unusable:")
        assert table.get_row_index("beta") == table.cursor_row  # starts on the model in use


@pytest.mark.parametrize("name, chosen", [("alpha", ["alpha"]), ("default", ["default"]), ("broken", [])])
async def test_enter_switches_to_the_highlighted_model_unless_it_is_unusable(models, name, chosen):
    app = Host(active="beta")
    async with app.run_test(size=(140, 30)) as pilot:
        table = await loaded(pilot)
        await highlight(pilot, table, name)
        await pilot.press("enter")
        await pilot.pause()
        assert app.chosen == chosen
        assert isinstance(app.screen, ModelsScreen) == (not chosen)
        assert app.result == chosen


async def test_delete_asks_first_and_removes_the_model(models):
    app = Host(active="beta")
    async with app.run_test(size=(140, 30)) as pilot:
        table = await loaded(pilot)
        await highlight(pilot, table, "alpha")
        await pilot.press("d")
        await pilot.pause()
        assert isinstance(app.screen, Choice)
        await pilot.press("n")  # keep it
        await pilot.pause()
        assert (models / "alpha").exists()
        await pilot.press("d")
        await pilot.pause()
        await pilot.press("y")
        for _ in range(int(WAIT_S / 0.05)):
            if table.row_count == 3:
                break
            await pilot.pause(0.05)
        assert not (models / "alpha").exists()
        assert "alpha" not in [str(k.value) for k in table.rows]


@pytest.mark.parametrize("name", ["beta", "default", "alpha"])
async def test_the_model_in_use_the_default_and_a_training_one_are_not_deleted(models, name):
    app = Host(active="beta", training="alpha")
    async with app.run_test(size=(140, 30)) as pilot:
        table = await loaded(pilot)
        await highlight(pilot, table, name)
        await pilot.press("delete")
        await pilot.pause()
        assert not isinstance(app.screen, Choice)
        assert (models / "alpha").exists() and (models / "beta").exists()
        assert table.row_count == 4


async def test_escape_closes_without_choosing_even_before_the_list_is_read(models):
    app = Host(active="beta")
    async with app.run_test(size=(140, 30)) as pilot:
        await pilot.press("escape")
        await pilot.pause(0.3)  # a list read that lands after closing must not break anything
        assert app.result == [None] and app.chosen == []
        assert not isinstance(app.screen, ModelsScreen)
