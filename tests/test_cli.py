"""The front door: `python -m harvester` is the `harvester` command, and the commands that only
look at the database, or only change or remove what it holds, create none where there is none (as
`status` does: tests/test_status_jobs.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from harvester import __version__
from harvester.cli import main


def harvester_module(*args: str, cwd, path: str | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HARVESTER_")}
    if path is not None:
        env["PATH"] = path
    return subprocess.run([sys.executable, "-m", "harvester", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=60)


def test_python_m_harvester_runs_the_harvester_command_under_its_name(tmp_path):
    version = harvester_module("--version", cwd=tmp_path)
    assert (version.returncode, version.stdout.strip()) == (0, f"harvester, versie {__version__}")
    help_text = harvester_module("--help", cwd=tmp_path)
    assert help_text.returncode == 0 and help_text.stdout.startswith("Gebruik: harvester [OPTIES] COMMANDO")
    assert "status" in help_text.stdout and "collect" in help_text.stdout
    (tmp_path / "bad.toml").write_text("[harvest]\ntagz = ['x']\n")
    bad = harvester_module("--config", "bad.toml", "status", cwd=tmp_path)
    assert bad.returncode == 2
    # the group's error handling and exit status, as the installed script has them
    assert len(bad.stderr.splitlines()) == 1
    assert bad.stderr.startswith("harvester status: configuratiefout: bad.toml: harvest.tagz: onbekende sleutel")



def test_under_python_m_the_hints_name_python_m_harvester_as_this_shell_can_run_it(tmp_path):
    python = Path(sys.executable)
    hint = "Nog geen database data/harvester.db: maak die met `{} -m harvester init`"
    on_path = harvester_module("posts", cwd=tmp_path, path=str(python.parent))
    assert on_path.returncode == 2 and on_path.stderr.startswith(hint.format(python.name)), on_path.stderr
    elsewhere = harvester_module("posts", cwd=tmp_path, path=str(tmp_path / "elders"))
    assert elsewhere.stderr.startswith(hint.format(python.absolute())), elsewhere.stderr
    assert list(tmp_path.iterdir()) == []


# what these commands read or change is in the database: without one they have nothing to work on
WITHOUT_A_DATABASE = [
    ["posts"], ["posts", "--json"], ["users", "list"], ["users", "list", "--json"],
    ["models"], ["models", "list"], ["initiatives"], ["initiatives", "--candidates", "--json"],
    ["export", "--out", "ideeen.csv"], ["charter", "--out", "charter.md"], ["network", "--out", "netwerk.gexf"],
    ["purge", "--dry-run"], ["purge"], ["forget", "--dry-run", "anne@mastodon.nl"], ["classify"],
    ["users", "passwd", "anne", "--password-stdin"], ["users", "disable", "anne"], ["users", "enable", "anne"],
]


@pytest.mark.parametrize("command", WITHOUT_A_DATABASE, ids=" ".join)
def test_a_command_that_only_looks_says_there_is_no_database_and_creates_none(tmp_path, monkeypatch, command):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("HARVESTER_CONFIG", raising=False)
    monkeypatch.delenv("HARVESTER_DB", raising=False)
    monkeypatch.setenv("HARVESTER_SECRET", "een-geheime-sleutel-voor-de-test")
    result = CliRunner().invoke(main, command, input="een sterk wachtwoord van de beheerder\n")
    assert result.exit_code == 2, result.output
    assert result.output == "Nog geen database data/harvester.db: maak die met `harvester init` (of `make run` in de checkout).\n"
    assert list(tmp_path.iterdir()) == []


def test_with_a_config_the_hint_names_it_and_once_made_the_database_is_read(tmp_path, write_config):
    config = write_config()
    runner = CliRunner()
    for command in (["posts"], ["users", "list"], ["recheck"]):   # recheck wants a config file first
        result = runner.invoke(main, ["--config", str(config), *command])
        assert result.exit_code == 2, result.output
        assert f"maak die met `harvester --config {config} init`" in result.output
    assert not (tmp_path / "harvester.db").exists()
    assert runner.invoke(main, ["--config", str(config), "init"]).exit_code == 0
    assert runner.invoke(main, ["--config", str(config), "posts", "--json"]).output == "[]\n"
    assert runner.invoke(main, ["--config", str(config), "posts"]).output == (
        f"Nog geen posts: ze komen binnen met `harvester --config {config} collect` of de achtergrondtaak "
        f"(`harvester --config {config} up`), van de bronnen met enabled = true.\n")
    assert "Nog geen accounts" in runner.invoke(main, ["--config", str(config), "users", "list"]).output
