"""Every command sets logging up for what it is (harvester/cli/logs.py), as the admin runs it: in a
subprocess, where no test's log capture hides what Python would print on its own."""

from __future__ import annotations

import os
import queue
import re
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

from .test_install import free_port

THEMES = Path(__file__).resolve().parent.parent / "config" / "themes.toml"
# the run format: a timestamp, the level, the message
LOGGED = r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d{4} %s "


def environment(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HARVESTER_")}
    return env | extra


def test_serve_logs_the_apps_warnings_in_the_run_format(tmp_path):
    """A broken themes file: the app starts with a warning for the admin, in the line format of
    `harvester run`, not as a bare message."""
    themes = tmp_path / "themes.toml"
    shutil.copy(THEMES, themes)
    themes.write_text(themes.read_text(encoding="utf-8").replace('id = "cultuur"', 'id = "cultuur', 1), encoding="utf-8")
    config = tmp_path / "harvester.toml"
    config.write_text(f'[database]\npath = "{tmp_path / "harvester.db"}"\n[nlp]\nthemes = "{themes}"\n', encoding="utf-8")
    server = subprocess.Popen(
        [sys.executable, "-m", "harvester", "--config", str(config), "serve", "--host", "127.0.0.1",
         "--port", str(free_port())],
        cwd=tmp_path, env=environment(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in server.stderr], daemon=True).start()
    seen: list[str] = []
    try:
        deadline = time.monotonic() + 30
        while not any("niet geladen" in line for line in seen):
            assert time.monotonic() < deadline and server.poll() is None, "".join(seen)
            try:
                seen.append(lines.get(timeout=0.5))
            except queue.Empty:
                pass
    finally:
        server.terminate()
        server.wait(timeout=10)
    warning = next(line for line in seen if "niet geladen" in line)
    assert re.match(LOGGED % "WARNING" + r"thema's niet geladen: .*themes\.toml: geen geldige TOML", warning), warning


def test_a_collector_bug_in_a_hand_collect_shows_its_traceback_once_and_the_dutch_summary(write_config, tmp_path):
    """The feed collector raises what no collector should (a bug, put in at start-up): its traceback
    reaches stderr once, as a logged error, and the command still says in Dutch how the run went."""
    (tmp_path / "bug").mkdir()
    (tmp_path / "bug" / "sitecustomize.py").write_text(
        "from harvester.jobs import harvest\n\n\n"
        "def broken(source, state, fetcher, config):\n"
        "    raise RuntimeError('kapot')\n"
        "    yield\n\n\n"
        "harvest.COLLECTORS['feed'] = broken\n", encoding="utf-8")
    path = write_config('\n[[sources]]\nname = "blog"\ntype = "feed"\nurl = "http://127.0.0.1:9/feed"\n')
    done = subprocess.run([sys.executable, "-m", "harvester", "--config", str(path), "collect"], cwd=tmp_path,
                          env=environment(PYTHONPATH=str(tmp_path / "bug")), capture_output=True, text=True, timeout=120)
    assert done.returncode == 1, done.stderr
    assert done.stderr.count("Traceback") == 1 and "RuntimeError: kapot" in done.stderr, done.stderr
    assert re.search(LOGGED % "ERROR" + "collector for blog failed\nTraceback", done.stderr, re.M), done.stderr
    assert "  fout: interne fout: RuntimeError: kapot\n" in done.stdout and "1 mislukt." in done.stdout
