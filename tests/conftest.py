"""Shared fixtures: a real SQLite file, a real HTTP server on 127.0.0.1, a config file to match."""

from __future__ import annotations

import os
import shutil
import textwrap
from pathlib import Path

import pytest

from harvester.store import Store

from .localserver import LocalServer

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
DATA = Path(__file__).resolve().parent / "data"

# `make test-fast` leaves these out (pytest -m "not slow"): the scheduler in a subprocess, model
# training, building and installing the wheel, and (by their own markers) the browser and
# LibreOffice tests; `make test` runs them all
SLOW_MODULES = {
    "test_scheduler", "test_scheduler_purge",
    "test_nlp", "test_nlp_cli", "test_learning", "test_learning_job", "test_learning_web",
    "test_install",
}
SLOW_MARKERS = {"browser", "libreoffice"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        module = item.module.__name__.rpartition(".")[2] if item.module else ""
        if module in SLOW_MODULES or SLOW_MARKERS & {m.name for m in item.iter_markers()}:
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small classifier of the NLP tests' themes (tests/nlpdata.py), trained once for the whole run
    and saved; every test that needs a trained model loads this one (none of them changes it)."""
    from .nlpdata import save_model   # spaCy loads only when a test asks for a model

    return save_model(tmp_path_factory.mktemp("model"), epochs=30)


@pytest.fixture
def store(tmp_path: Path):
    with Store(tmp_path / "harvester.db") as s:
        yield s


@pytest.fixture
def server():
    s = LocalServer().start()
    yield s
    s.stop()


@pytest.fixture
def write_config(tmp_path: Path):
    """Write a config file in tmp_path: the [harvest]/[database] head plus the given TOML."""

    def write(body: str = "", *, harvest: str = "", timeout_seconds: float = 2, retries: int = 2) -> Path:
        path = tmp_path / "harvester.toml"
        path.write_text(
            textwrap.dedent(
                f"""
                [harvest]
                tags = ["innoverheid", "lanceerplatform"]
                user_agent_contact = "https://example.org/contact"
                timeout_seconds = {timeout_seconds}
                retries = {retries}
                retry_backoff_seconds = 0.05
                max_wait_seconds = 5
                {textwrap.dedent(harvest)}

                [database]
                path = "{tmp_path / 'harvester.db'}"
                """
            )
            + textwrap.dedent(body),
            encoding="utf-8",
        )
        return path

    return write


def require_program(name: str) -> str:
    """Path of a system program; skip the test without it, except in CI where it must be there."""
    path = shutil.which(name)
    if path is None:
        _missing(f"{name} is required in CI (.ci/run installs it)",
                 f"{name} is not installed (apt-get install it to run this test)")
    return path


# LibreOffice's modules, by the library in its program folder that Debian ships in the module's own
# package: soffice with Calc alone cannot open a text document
SOFFICE_MODULES = {"calc": ("libsclo.so", "libreoffice-calc-nogui"), "writer": ("libswlo.so", "libreoffice-writer-nogui")}


def require_soffice(module: str) -> str:
    """Path of soffice that has `module` ("calc", "writer"); skip without it, except in CI."""
    soffice = require_program("soffice")
    library, package = SOFFICE_MODULES[module]
    program = Path(soffice).resolve().parent
    if (program / "soffice.bin").exists() and not (program / library).exists():   # a layout we know
        _missing(f"LibreOffice {module} is required in CI (.ci/run installs {package})",
                 f"LibreOffice {module} is not installed (apt-get install {package} to run this test)")
    return soffice


def _missing(in_ci: str, elsewhere: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(in_ci)
    pytest.skip(elsewhere)


@pytest.fixture(autouse=True)
def _no_env_leaks(monkeypatch):
    """Tests choose their database and config explicitly."""
    monkeypatch.delenv("HARVESTER_DB", raising=False)
    monkeypatch.delenv("HARVESTER_CONFIG", raising=False)
