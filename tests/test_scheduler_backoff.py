"""Back-off of a failing source: derived from the runs table, shown by `harvester status`."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from datetime import UTC, datetime, timedelta

from click.testing import CliRunner

from harvester.cli import main
from harvester.config import ScheduleConfig, load_config
from harvester.models import RunCounts
from harvester.jobs.backoff import backoff_delay, backoff_until
from harvester.jobs.lock import this_process
from harvester.store import Store
from harvester.timeutil import dutch_time, to_utc_iso

SOURCE = """
[[sources]]
name = "kapot"
type = "feed"
url = "https://example.org/feed.xml"
interval_minutes = 30
"""


def test_the_wait_doubles_with_each_failure_up_to_the_cap():
    schedule = ScheduleConfig(max_backoff_hours=12)
    waits = [backoff_delay(30, n, schedule) for n in range(1, 7)]
    assert waits == [timedelta(hours=h) for h in (1, 2, 4, 8, 12, 12)]
    assert backoff_delay(0.05, 3, schedule) == timedelta(seconds=24)
    assert backoff_delay(60, 500, schedule) == timedelta(hours=12)   # no overflow after weeks of failures


def record(store: Store, source_id: int, status: str, started: datetime) -> None:
    run_id = store.runs.start(source_id, *this_process())
    store.runs.finish(run_id, status, RunCounts(), "serverfout HTTP 500" if status == "failed" else None)
    store.db.execute("UPDATE runs SET started_at = ? WHERE id = ?", [started.isoformat(timespec="milliseconds"), run_id])


def test_failures_in_a_row_delay_the_next_try_and_status_shows_when(write_config, tmp_path):
    config = load_config(write_config(SOURCE))
    source = config.source("kapot")
    now = datetime.now(UTC)
    with Store(config.db_path) as store:
        row = store.sources.sync(source.name, source.type, source.location)
        record(store, row.id, "ok", now - timedelta(hours=5))
        assert backoff_until(store, source, config.schedule, now) is None
        record(store, row.id, "failed", now - timedelta(hours=3))
        record(store, row.id, "failed", now - timedelta(minutes=10))
        # two failures in a row: 30 min * 2^2 = 2 h from the start of the last failed run
        expected = now - timedelta(minutes=10) + timedelta(hours=2)
        assert abs(backoff_until(store, source, config.schedule, now) - expected) < timedelta(seconds=1)
        assert backoff_until(store, source, config.schedule, expected + timedelta(seconds=1)) is None

    runner = CliRunner()
    text = runner.invoke(main, ["--config", str(config.path), "status"]).output
    assert "fouten op rij: 2" in text
    assert f"volgende poging: niet voor {dutch_time(to_utc_iso(expected))}" in text
    data = json.loads(runner.invoke(main, ["--config", str(config.path), "status", "--json"]).output)
    assert data["sources"][0]["next_attempt_at"] == to_utc_iso(expected)

    with Store(config.db_path) as store:
        record(store, row.id, "ok", now)     # one success ends the back-off
        assert backoff_until(store, source, config.schedule, now) is None
    assert "volgende poging" not in runner.invoke(main, ["--config", str(config.path), "status"]).output


def test_status_says_whether_and_where_the_background_job_runs(write_config):
    config = load_config(write_config(SOURCE))
    runner = CliRunner()
    assert runner.invoke(main, ["--config", str(config.path), "init"]).exit_code == 0
    assert "Achtergrondtaak: draait niet" in runner.invoke(main, ["--config", str(config.path), "status"]).output
    with Store(config.db_path) as store:
        store.scheduler_lock.acquire(4242, "server-1", lambda holder: False)
    text = runner.invoke(main, ["--config", str(config.path), "status"]).output
    assert "Achtergrondtaak: proces 4242 op server-1, laatste teken van leven 20" in text
    data = json.loads(runner.invoke(main, ["--config", str(config.path), "status", "--json"]).output)
    assert (data["scheduler"]["pid"], data["scheduler"]["host"], data["scheduler"]["running"]) == (4242, "server-1", True)


def test_status_says_a_background_job_that_died_no_longer_runs(write_config):
    """kill -9, the OOM killer or a reboot leave the lock row behind: its process is gone and its
    heartbeat old, so status must not show it as running (the next start takes the lock over)."""
    config = load_config(write_config(SOURCE))
    gone = subprocess.Popen([sys.executable, "-c", ""])
    gone.wait()
    with Store(config.db_path) as store:
        store.scheduler_lock.acquire(gone.pid, socket.gethostname(), lambda holder: False)
        store.db.execute("UPDATE scheduler_lock SET heartbeat_at = '2026-12-05T03:12:00.000+00:00'")
        store.db.conn.commit()
    runner = CliRunner()
    text = runner.invoke(main, ["--config", str(config.path), "status"]).output
    assert text.startswith("Achtergrondtaak: draait niet meer: geen teken van leven sinds 2026-12-05 04:12 "
                           f"(proces {gone.pid} op {socket.gethostname()})")
    data = json.loads(runner.invoke(main, ["--config", str(config.path), "status", "--json"]).output)
    assert (data["scheduler"]["pid"], data["scheduler"]["running"]) == (gone.pid, False)
    assert data["scheduler"]["heartbeat_at"] == "2026-12-05T03:12:00.000+00:00"   # shown in Dutch time, kept in UTC
