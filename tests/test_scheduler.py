"""`harvester run` as a real process, against real HTTP servers, with second-scale intervals."""

from __future__ import annotations

import re
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import NamedTuple

import httpx
import pytest

from harvester.store import Store
from harvester.timeutil import parse_iso, utcnow

from .localserver import Reply, Request
from .mastodon_fake import FakeInstance, make_status
from .nlpdata import write_project_files

HARVESTER = [sys.executable, "-c", "from harvester.cli import main; main()"]
# fast enough for a test, slow enough for two cores: a cycle every 1.2 s
INTERVAL = 0.02


def rss(items: list[int]) -> str:
    """A feed in the shape Mastodon serves for a tag (GET /tags/innoverheid.rss)."""
    entries = "".join(
        f"""
        <item>
          <guid isPermaLink="true">https://mastodon.example/@anna/{1000 + i}</guid>
          <link>https://mastodon.example/@anna/{1000 + i}</link>
          <pubDate>Mon, 23 Nov 2026 {10 + i % 10:02d}:00:00 +0000</pubDate>
          <description>&lt;p&gt;Idee {i}: laat gemeenten samen één loket bouwen
            &lt;a href="https://mastodon.example/tags/innoverheid" class="mention hashtag" rel="tag"&gt;#&lt;span&gt;innoverheid&lt;/span&gt;&lt;/a&gt;&lt;/p&gt;</description>
          <category>innoverheid</category>
        </item>"""
        for i in items
    )
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0">
  <channel>
    <title>#innoverheid</title>
    <description>Openbare berichten met #innoverheid</description>
    <link>https://mastodon.example/tags/innoverheid</link>{entries}
  </channel>
</rss>"""


def growing_feed():
    """A handler whose feed gains one entry per request (the newest five are listed)."""
    count = [0]

    def handler(request: Request) -> Reply:
        count[0] += 1
        items = list(range(max(0, count[0] - 5), count[0]))
        return Reply(200, rss(items), {"Content-Type": "application/rss+xml; charset=utf-8"})

    return handler


def feed_source(name: str, url: str, interval: float = INTERVAL) -> str:
    return f"""
[[sources]]
name = "{name}"
type = "feed"
url = "{url}"
interval_minutes = {interval}
"""


@pytest.fixture
def write_config(write_config, model_dir, tmp_path):
    """The conftest config plus the test model and second-scale scheduling."""
    themes, training = write_project_files(tmp_path)

    def write(body: str = "", **kw) -> Path:
        return write_config(f"""
[nlp]
model = "{model_dir}"
themes = "{themes}"
training = "{training}"

[schedule]
jitter_seconds = 0
""" + body, **kw)

    return write




def start(config: Path, *args: str) -> subprocess.Popen:
    return subprocess.Popen([*HARVESTER, "--config", str(config), "run", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def harvester(config: Path, *args: str, timeout: float = 30) -> subprocess.CompletedProcess:
    return subprocess.run([*HARVESTER, "--config", str(config), *args],
                          capture_output=True, text=True, timeout=timeout)


def query(db: Path, sql: str, params: tuple = ()) -> list[tuple]:
    conn = sqlite3.connect(db, timeout=10)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def runs(db: Path, source: str, status: str | None = None) -> int:
    sql = "SELECT count(*) FROM runs JOIN sources s ON s.id = runs.source_id WHERE s.name = ?"
    return query(db, sql + (" AND runs.status = ?" if status else ""), (source, status) if status else (source,))[0][0]


def classified(db: Path) -> int:
    return query(db, "SELECT count(*) FROM classifications")[0][0]


def wait_for(condition, timeout: float = 45.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if condition():
                return
        except (sqlite3.OperationalError, httpx.TransportError):  # not created or not listening yet
            pass
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


class Stopped(NamedTuple):
    code: int
    seconds: float     # from the signal to the exit
    out: str
    err: str


def stop(process: subprocess.Popen, sig: int = signal.SIGTERM) -> Stopped:
    sent = time.monotonic()
    process.send_signal(sig)
    out, err = process.communicate(timeout=15)
    return Stopped(process.returncode, time.monotonic() - sent, out, err)


def dead_pid() -> int:
    """The pid of a process that has exited (and been reaped)."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "harvester.db"


def test_cycles_complete_and_a_failing_source_backs_off_while_others_go_on(server, write_config, db):
    server.route("/good.rss", growing_feed())
    server.route("/bad.rss", Reply(500, "kapot"))
    config = write_config(feed_source("goed", server.url("/good.rss"))
                          + feed_source("kapot", server.url("/bad.rss")))
    process = start(config)
    try:
        # a bound, not a pause: start-up and the model load take seconds on a busy machine
        wait_for(lambda: runs(db, "goed", "ok") >= 5 and classified(db) >= 5, timeout=60,
                 what="five good cycles, classified")
    finally:
        code, seconds, _, err = stop(process)
    assert code == 0, err
    good, bad = runs(db, "goed", "ok"), runs(db, "kapot", "failed")
    # every good cycle stored the post its feed gained, and it was classified right after
    posts = query(db, "SELECT count(*) FROM posts")[0][0]
    assert query(db, "SELECT sum(new) FROM runs")[0][0] == posts >= good
    assert classified(db) >= posts - 1
    assert query(db, "SELECT count(DISTINCT post_id) FROM post_themes")[0][0] == classified(db)
    # back-off: after n failures in a row the source waits interval * 2^n before its next run
    starts = [parse_iso(row[0]) for row in query(
        db, "SELECT started_at FROM runs JOIN sources s ON s.id = source_id WHERE s.name = 'kapot' ORDER BY runs.id")]
    gaps = [(later - earlier).total_seconds() for earlier, later in zip(starts, starts[1:])]
    assert all(gap >= INTERVAL * 60 * 2 ** n * 0.95 for n, gap in enumerate(gaps, start=1)), gaps
    assert 1 <= bad < good
    assert len(server.requests_to("/bad.rss")) <= 3 * bad   # 1 try + 2 retries per run, no more
    # one greppable line per job run, as the harvest loop formats it
    lines = [line for line in err.splitlines() if "source=goed " in line]
    assert len(lines) == runs(db, "goed")
    assert all("status=ok new=" in line or "onderbroken" in line for line in lines)
    assert any("source=kapot status=failed" in line and "error=" in line for line in err.splitlines())
    assert query(db, "SELECT count(*) FROM scheduler_lock")[0][0] == 0


def test_sigterm_during_a_slow_run_exits_0_within_10_s_and_leaves_a_consistent_database(server, write_config, db):
    server.route("/good.rss", growing_feed())
    slow = [0]

    def hanging(request: Request) -> Reply:
        slow[0] += 1
        return Reply(200, rss([1]), delay=30)   # longer than the stop bound

    server.route("/slow.rss", hanging)
    config = write_config(feed_source("goed", server.url("/good.rss")) + feed_source("traag", server.url("/slow.rss")))
    config.write_text(config.read_text().replace("timeout_seconds = 2", "timeout_seconds = 60"))
    process = start(config)
    try:
        wait_for(lambda: runs(db, "goed", "ok") >= 2 and slow[0] >= 1, what="a good cycle and a hanging request")
    finally:
        code, seconds, _, err = stop(process)
    assert code == 0, err
    assert seconds < 10
    assert query(db, "PRAGMA integrity_check") == [("ok",)]
    # every finished run's record matches what is stored; the hanging run is left open (its
    # process is gone), and the next start closes it as interrupted and finds the lock free
    assert runs(db, "goed", "running") == 0
    assert query(db, "SELECT sum(new) FROM runs")[0][0] == query(db, "SELECT count(*) FROM posts")[0][0] >= 2
    assert runs(db, "traag", "running") == 1
    server.route("/good.rss", Reply(304))
    server.route("/slow.rss", Reply(304))
    again = harvester(config, "run", "--once")
    assert again.returncode == 0, again.stderr
    assert query(db, "SELECT status, error FROM runs JOIN sources s ON s.id = source_id"
                     " WHERE s.name = 'traag' ORDER BY runs.id") == [
        ("failed", "onderbroken: het proces stopte tijdens deze run"), ("not_modified", None)]


def test_ctrl_c_stops_as_cleanly_as_sigterm(server, write_config, db):
    server.route("/good.rss", growing_feed())
    config = write_config(feed_source("goed", server.url("/good.rss")))
    process = start(config)
    wait_for(lambda: runs(db, "goed", "ok") >= 1, what="a good cycle")
    code, seconds, _, err = stop(process, signal.SIGINT)
    assert code == 0 and seconds < 10, err
    assert "Traceback" not in err
    assert runs(db, "goed", "running") == 0


def test_with_every_source_switched_off_the_job_warns_that_it_collects_nothing(write_config, db):
    """The state `harvester init` leaves: every source enabled = false. The job runs (classifying,
    purging), but an admin reading its log must see why no post ever comes in."""
    config = write_config(feed_source("uit", "http://127.0.0.1:9/feed.xml") + "enabled = false\n")
    process = start(config)
    wait_for(lambda: query(db, "SELECT count(*) FROM job_outcomes WHERE job = 'classify'")[0][0] == 1,
             what="the first classification pass")
    stopped = stop(process)
    assert stopped.code == 0, stopped.err
    assert "achtergrondtaak gestart: 0 bronnen, database " in stopped.err
    warning = re.compile(r" WARNING er wordt niets opgehaald: geen bron in .*harvester\.toml staat aan; "
                         r"zet bij minstens één bron enabled = true\n")
    assert warning.search(stopped.err), stopped.err
    once = harvester(config, "run", "--once", timeout=60)   # the same job from cron
    assert once.returncode == 0 and warning.search(once.stderr), once.stderr


def test_a_second_scheduler_on_the_same_database_is_refused(server, write_config, db):
    server.route("/good.rss", growing_feed())
    config = write_config(feed_source("goed", server.url("/good.rss"), interval=5))
    first = start(config)
    try:
        wait_for(lambda: query(db, "SELECT pid FROM scheduler_lock") == [(first.pid,)], what="the lock")
        second = harvester(config, "run", timeout=15)
        once = harvester(config, "run", "--once", timeout=15)
        assert first.poll() is None
    finally:
        code, _, _, err = stop(first)
    assert second.returncode == 1 and once.returncode == 1
    assert "er draait al een achtergrondtaak op deze database" in second.stderr
    assert f"proces {first.pid} op {socket.gethostname()}" in second.stderr
    assert "Traceback" not in second.stderr
    assert code == 0, err
    assert runs(db, "goed") == 1     # the refused ones collected nothing


def test_a_lock_left_by_a_dead_process_is_taken_over(server, write_config, db):
    server.route("/good.rss", Reply(200, rss([])))
    config = write_config(feed_source("goed", server.url("/good.rss")))
    Store(db).close()
    query_write(db, "INSERT INTO scheduler_lock (id, pid, host, heartbeat_at) VALUES (1, ?, ?, ?)",
                (dead_pid(), socket.gethostname(), utcnow()))
    result = harvester(config, "run", "--once")
    assert result.returncode == 0, result.stderr
    assert runs(db, "goed", "ok") == 1
    assert query(db, "SELECT count(*) FROM scheduler_lock")[0][0] == 0


def test_a_lock_with_a_stale_heartbeat_from_another_host_is_taken_over(server, write_config, db):
    server.route("/good.rss", Reply(200, rss([])))
    config = write_config(feed_source("goed", server.url("/good.rss")))
    Store(db).close()
    query_write(db, "INSERT INTO scheduler_lock (id, pid, host, heartbeat_at) VALUES (1, 1, 'elders', ?)",
                ("2026-01-01T00:00:00.000+00:00",))
    assert harvester(config, "run", "--once").returncode == 0
    # a fresh heartbeat from another host is respected (we cannot see whether its process lives)
    query_write(db, "INSERT INTO scheduler_lock (id, pid, host, heartbeat_at) VALUES (1, 1, 'elders', ?)", (utcnow(),))
    refused = harvester(config, "run", "--once")
    assert refused.returncode == 1 and "proces 1 op elders" in refused.stderr


def test_a_long_run_once_keeps_its_heartbeat_fresh_and_its_lock(server, write_config, db):
    """A cron run busy for longer than a heartbeat beats as `harvester run` does, so neither status
    nor the next cron run takes it for abandoned (here the heartbeat every 0.2 s instead of 30 s)."""
    answer = threading.Event()

    def slow(request: Request) -> Reply:
        answer.wait(30)
        return Reply(200, rss([1]), {"Content-Type": "application/rss+xml; charset=utf-8"})

    server.route("/slow.rss", slow)
    config = write_config(feed_source("traag", server.url("/slow.rss")), timeout_seconds=40)
    fast_beat = "import harvester.jobs.lock as lock; lock.HEARTBEAT_SECONDS = 0.2; from harvester.cli import main; main()"
    first = subprocess.Popen([sys.executable, "-c", fast_beat, "--config", str(config), "run", "--once"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_for(lambda: query(db, "SELECT pid FROM scheduler_lock") == [(first.pid,)], what="the lock")
        beats: set[str] = set()

        def beating() -> bool:
            beats.update(row[0] for row in query(db, "SELECT heartbeat_at FROM scheduler_lock"))
            return len(beats) >= 3

        wait_for(beating, timeout=20, what="the heartbeat to move while the source still answers")
        assert first.poll() is None
        second = harvester(config, "run", "--once")
        assert second.returncode == 1 and f"proces {first.pid}" in second.stderr
    finally:
        answer.set()
        out, err = first.communicate(timeout=30)
    assert first.returncode == 0, err
    assert "source=traag status=ok new=1" in err
    assert query(db, "SELECT count(*) FROM scheduler_lock") == [(0,)]


def test_once_exit_statuses(server, write_config, db, tmp_path):
    server.route("/good.rss", Reply(200, rss([1, 2])))
    server.route("/bad.rss", Reply(404, "weg"))
    good_only = write_config(feed_source("goed", server.url("/good.rss")))
    ok = harvester(good_only, "run", "--once")
    assert ok.returncode == 0, ok.stderr
    assert "source=goed status=ok new=2" in ok.stderr
    assert "job=classify status=ok classified=2" in ok.stderr and classified(db) == 2

    both = write_config(feed_source("goed", server.url("/good.rss"))
                        + feed_source("kapot", server.url("/bad.rss")))
    failed = harvester(both, "run", "--once")
    assert failed.returncode == 1
    assert "source=kapot status=failed" in failed.stderr
    assert runs(db, "goed", "ok") == 2   # what succeeded is stored

    bad_config = tmp_path / "kapot.toml"
    bad_config.write_text('[schedule]\nrecheck_hours = "dagelijks"\n', encoding="utf-8")
    usage = harvester(bad_config, "run", "--once")
    assert usage.returncode == 2 and "schedule.recheck_hours" in usage.stderr


def query_write(db: Path, sql: str, params: tuple) -> None:
    conn = sqlite3.connect(db, timeout=10)
    try:
        with conn:
            conn.execute(sql, params)
    finally:
        conn.close()


def test_up_serves_the_review_app_beside_the_scheduler_and_stops_on_sigterm(server, write_config, db):
    server.route("/good.rss", Reply(200, rss([1])))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = write_config(f"\n[web]\nport = {port}\n" + feed_source("goed", server.url("/good.rss")))
    process = subprocess.Popen([*HARVESTER, "--config", str(config), "up"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_for(lambda: runs(db, "goed", "ok") >= 1, what="a collection run")
        wait_for(lambda: httpx.get(f"http://127.0.0.1:{port}/", timeout=2).status_code < 400, what="the review app")
    finally:
        stopped = stop(process)
    assert stopped.code == 0 and stopped.seconds < 10, stopped.err
    assert "Traceback" not in stopped.err
    assert f"Beoordelingsapp: http://127.0.0.1:{port}/" in stopped.out
    assert "achtergrondtaak gestart: 1 bron, database " in stopped.err and "niets opgehaald" not in stopped.err
    assert f"harvester --config {config} users add NAAM --role beheerder" in stopped.out
    assert query(db, "SELECT count(*) FROM scheduler_lock")[0][0] == 0


def test_the_recheck_job_forgets_a_post_deleted_on_the_instance(server, write_config, db):
    fake = FakeInstance(server)
    fake.add(make_status("101", text="Samen met bewoners de begroting openbaar maken"),
             make_status("102", text="Durf te experimenteren in het stadhuis"))
    config = write_config("recheck_hours = 0.001\n" + f"""   # (still in [schedule]): every 3.6 s
[[sources]]
name = "mastodon-nl"
type = "mastodon"
instance = "{fake.url}"
interval_minutes = {INTERVAL}
""")
    process = start(config)
    try:
        wait_for(lambda: query(db, "SELECT count(*) FROM posts")[0][0] == 2, what="both statuses collected")
        fake.delete("102")
        wait_for(lambda: query(db, "SELECT count(*) FROM posts")[0][0] == 1, what="the recheck (every 3.6 s)")
    finally:
        stopped = stop(process)
    assert stopped.code == 0, stopped.err
    assert "job=recheck status=ok checked=2 deleted=1" in stopped.err
    assert query(db, "SELECT text FROM posts") == [("Samen met bewoners de begroting openbaar maken #innoverheid",)]


def test_a_model_that_cannot_load_fails_classification_not_collection(server, write_config, db, tmp_path):
    server.route("/good.rss", Reply(200, rss([1])))
    config = write_config(feed_source("goed", server.url("/good.rss")))
    config.write_text(config.read_text().replace("model = ", f'model = "{tmp_path / "geen-model"}"\n# was: model = '))
    result = harvester(config, "run", "--once")
    assert result.returncode == 1
    assert "source=goed status=ok new=1" in result.stderr
    assert "job=classify status=failed" in result.stderr and "modelfout" in result.stderr
    assert "Traceback" not in result.stderr
    assert query(db, "SELECT count(*) FROM posts")[0][0] == 1 and classified(db) == 0
