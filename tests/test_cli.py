"""The front door: `python -m harvester` is the `harvester` command."""

from __future__ import annotations

import os
import subprocess
import sys

from harvester import __version__


def harvester_module(*args: str, cwd) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HARVESTER_")}
    return subprocess.run([sys.executable, "-m", "harvester", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=60)


def test_python_m_harvester_runs_the_harvester_command_under_its_name(tmp_path):
    version = harvester_module("--version", cwd=tmp_path)
    assert (version.returncode, version.stdout.strip()) == (0, f"harvester, version {__version__}")
    help_text = harvester_module("--help", cwd=tmp_path)
    assert help_text.returncode == 0 and help_text.stdout.startswith("Usage: harvester [OPTIONS] COMMAND")
    assert "status" in help_text.stdout and "collect" in help_text.stdout
    (tmp_path / "bad.toml").write_text("[harvest]\ntagz = ['x']\n")
    bad = harvester_module("--config", "bad.toml", "status", cwd=tmp_path)
    assert bad.returncode == 2
    # the group's error handling and exit status, as the installed script has them
    assert len(bad.stderr.splitlines()) == 1
    assert bad.stderr.startswith("harvester status: configuratiefout: bad.toml: harvest.tagz: onbekende sleutel")
