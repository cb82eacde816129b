"""`harvester status` shows what the background jobs that are not per source last did, and a run its
process abandoned as interrupted: the places the admin is told to look when something went wrong."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading

from click.testing import CliRunner

from harvester.cli import main
from harvester.collectors.http import Fetcher
from harvester.config import load_config
from harvester.jobs.harvest import run_source
from harvester.jobs.jobs import Jobs
from harvester.store import Store

from .localserver import Reply
from .mastodon_fake import FakeInstance, make_status


def status(config_path, *args: str):
    result = CliRunner().invoke(main, ["--config", str(config_path), "status", *args])
    assert result.exit_code == 0, result.output
    return json.loads(result.output) if args == ("--json",) else result.output


def test_a_recheck_that_cannot_ask_an_instance_shows_in_status_until_one_goes_well(server, write_config):
    fake = FakeInstance(server)
    fake.add(make_status("101", username="anne", text="Idee van Anne"))
    path = write_config(f'[[sources]]\nname = "nl"\ntype = "mastodon"\ninstance = "{fake.url}"\n', retries=0)
    config = load_config(path)
    with Store(config.db_path) as store, Fetcher(config.harvest) as fetcher:
        assert run_source(store, config, config.sources[0], fetcher).counts.new == 1
    jobs = Jobs(config, threading.Event())
    # the instance is down for maintenance: whether anne deleted her post cannot be known
    server.route("/api/v1/statuses", Reply(503, "down"))
    assert not jobs.recheck()
    text = status(path)
    line = next(line for line in text.splitlines() if line.startswith("  hercontrole"))
    assert "(deels gelukt), laatst gelukt: -" in line
    assert f"    fout: nl: serverfout HTTP 503 bij {fake.url}/api/v1/statuses" in text
    assert "(ok)" not in text and "(gelukt)" in text   # the source's own run, in Dutch
    recheck = status(path, "--json")["jobs"]["recheck"]
    assert (recheck["status"], recheck["ok_at"]) == ("partial", None) and "HTTP 503" in recheck["error"]

    server.route("/api/v1/statuses", fake.statuses_batch)   # back up: the error is no longer the latest
    assert jobs.recheck()
    text = status(path)
    assert "HTTP 503" not in text
    recheck = status(path, "--json")["jobs"]["recheck"]
    assert (recheck["status"], recheck["error"], recheck["ok_at"]) == ("ok", None, recheck["at"])


def test_a_run_whose_process_is_gone_shows_as_interrupted(write_config, tmp_path):
    path = write_config('[[sources]]\nname = "blog"\ntype = "feed"\nurl = "http://127.0.0.1:9/feed"\n')
    config = load_config(path)
    with Store(config.db_path) as store:
        store.runs.start(store.sources.sync("blog", "feed", "http://127.0.0.1:9/feed").id)   # never finished

    def state() -> tuple[str, str]:
        line = next(line for line in status(path).splitlines() if "laatste run:" in line)
        return line, status(path, "--json")["sources"][0]["last_run_status"]

    line, code = state()   # stopped by SIGTERM: the lock was given up
    assert "(onderbroken: het proces stopte tijdens deze run)" in line and code == "interrupted"
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    with Store(config.db_path) as store:   # killed: the lock names a process that is no more
        store.scheduler_lock.acquire(int(gone.stdout), socket.gethostname(), lambda holder: True)
    line, code = state()
    assert "(onderbroken: het proces stopte tijdens deze run)" in line and code == "interrupted"
    with Store(config.db_path) as store:   # a scheduler that lives may still be running it
        store.scheduler_lock.acquire(os.getpid(), socket.gethostname(), lambda holder: True)
    line, code = state()
    assert "(loopt nog)" in line and code == "running"


def test_status_tells_a_source_gone_from_the_config_from_one_not_run_yet(write_config):
    """Renaming a source leaves its old rows: they are no failure to fix, and the new name shows at once."""
    source = """
        [[sources]]
        name = "{name}"
        type = "feed"
        url = "http://127.0.0.1:9/{name}.xml"
        interval_minutes = 60
        """
    config = write_config(source.format(name="oud"))
    assert CliRunner().invoke(main, ["--config", str(config), "collect"]).exit_code != 0   # nothing listens on port 9
    write_config(source.format(name="nieuw"))

    text = status(config)
    sources = text[text.index("\nnieuw [feed]"):]
    assert "nieuw [feed] http://127.0.0.1:9/nieuw.xml\n  laatste run: - (nog niet gedraaid)" in sources
    old = sources[sources.index("oud [feed]"):]
    assert "niet meer in de configuratie" in old
    assert "MISLUKT" not in old and "laatste fout" not in old and "volgende poging" not in old
    by_name = {s["name"]: s for s in status(config, "--json")["sources"]}
    assert (by_name["oud"]["configured"], by_name["nieuw"]["configured"]) == (False, True)
    assert by_name["nieuw"]["last_run_status"] is None and by_name["oud"]["last_run_status"] == "failed"


def test_status_where_there_is_no_database_says_so_and_creates_none(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["status"])
    assert result.exit_code == 2
    assert "Nog geen database data/harvester.db: maak die met `harvester init`" in result.output
    assert list(tmp_path.iterdir()) == []
