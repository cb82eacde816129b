"""One exception tree: every error the harvester raises on purpose is a HarvesterError, and the CLI
turns any of them into one Dutch line and its exit status in one place."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import sqlite3

from click.testing import CliRunner

import harvester
from harvester.cli import main
from harvester.errors import HarvesterError
from harvester.store import Store


def test_every_exception_class_of_the_harvester_is_a_harvester_error():
    strays = []
    for module in pkgutil.walk_packages(harvester.__path__, "harvester."):
        for name, value in vars(importlib.import_module(module.name)).items():
            if (inspect.isclass(value) and issubclass(value, BaseException) and value.__module__ == module.name
                    and not name.startswith("_") and not issubclass(value, HarvesterError)):
                strays.append(f"{module.name}.{name}")
    assert strays == []


def test_a_themes_error_ends_the_command_with_its_kind_and_status_2(tmp_path):
    themes = tmp_path / "themes.toml"
    themes.write_text("[[theme]]\nid = 'Geen geldige id'\n", encoding="utf-8")
    config = tmp_path / "harvester.toml"
    config.write_text(f"[database]\npath = '{tmp_path / 'h.db'}'\n[nlp]\nthemes = '{themes}'\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["--config", str(config), "export", "--out", str(tmp_path / "uit.csv")])
    assert result.exit_code == 2, result.output
    (line,) = result.output.strip().splitlines()
    assert line.startswith("harvester export: themafout: ") and str(themes) in line


def test_a_database_error_that_is_a_bug_keeps_its_traceback(write_config, tmp_path):
    """A table the code expects is missing (a bug, or a hand-edited file): no "databasefout" line that
    reads like a busy disk, but the exception itself, so its traceback reaches whoever reports it."""
    config = write_config()
    with Store(tmp_path / "harvester.db") as store:
        store.db.execute("DROP TABLE job_outcomes")
    result = CliRunner().invoke(main, ["--config", str(config), "status"])
    assert isinstance(result.exception, sqlite3.OperationalError), result.output
    assert "no such table: job_outcomes" in str(result.exception)
    assert "databasefout" not in result.output
