"""`harvester status` shows what the background jobs that are not per source last did, and a run its
process abandoned as interrupted: the places the admin is told to look when something went wrong."""

from __future__ import annotations

import json
import logging
import os
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from click.testing import CliRunner

from harvester.cli import main
from harvester.collectors.http import Fetcher
from harvester.config import load_config
from harvester.jobs.harvest import run_source
from harvester.jobs.jobs import Jobs
from harvester.jobs.lock import STALE_AFTER_SECONDS, UNSEEN_RUN_SECONDS, boot_time, run_abandoned
from harvester import store as store_module
from harvester.store import Store
from harvester.store.lock import LockHolder
from harvester.timeutil import dutch_time, to_utc_iso, utcnow

from .localserver import Reply
from .mastodon_fake import FakeInstance, make_status
from .test_cli import harvester_module
from .test_collect_cli import FEEDS, RSS, feed_source, harvester_process, wait_for

BUSY = "databasefout: de database is bezet: een ander proces hield haar langer vast dan de harvester wacht"


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


def recheck_by_hand(config_path):
    return CliRunner().invoke(main, ["--config", str(config_path), "recheck"])


def test_a_recheck_by_hand_records_its_outcome_as_the_job_does(server, write_config):
    """An admin who runs `harvester recheck` himself (cron, or after the job failed) finds its outcome
    in status: the job's last failure is no longer the last word, and a pass of his own that could
    not ask an instance says so there too."""
    fake = FakeInstance(server)
    fake.add(make_status("101", username="anne", text="Idee van Anne"), make_status("102", username="bert"))
    path = write_config(f'[[sources]]\nname = "nl"\ntype = "mastodon"\ninstance = "{fake.url}"\n', retries=0)
    config = load_config(path)
    with Store(config.db_path) as store, Fetcher(config.harvest) as fetcher:
        assert run_source(store, config, config.sources[0], fetcher).counts.new == 2
    server.route("/api/v1/statuses", Reply(503, "down"))
    assert not Jobs(config, threading.Event()).recheck()
    assert status(path, "--json")["jobs"]["recheck"]["status"] == "partial"

    server.route("/api/v1/statuses", fake.statuses_batch)
    fake.delete("102")
    done = recheck_by_hand(path)
    assert done.exit_code == 0, done.output
    assert "verwijderd bij de bron: 1" in done.output
    jobs = status(path, "--json")["jobs"]
    recheck = jobs["recheck"]
    assert (recheck["status"], recheck["error"], recheck["ok_at"]) == ("ok", None, recheck["at"])
    assert jobs["compact"]["status"] == "ok"   # the deleted post's text is gone from the file too
    assert "HTTP 503" not in status(path)

    server.route("/api/v1/statuses", Reply(503, "down"))
    failed = recheck_by_hand(path)
    down = f"nl: serverfout HTTP 503 bij {fake.url}/api/v1/statuses"
    assert failed.exit_code == 1 and f"probleem: {down}" in failed.stderr
    text = status(path)
    line = next(line for line in text.splitlines() if line.startswith("  hercontrole"))
    assert line.endswith(f"(deels gelukt), laatst gelukt: {dutch_time(recheck['at'])}")
    assert f"    fout: {down}" in text


def a_post_deleted_at_the_source(server, write_config, monkeypatch) -> tuple[FakeInstance, Path, sqlite3.Connection]:
    """Two posts collected from an instance, one deleted there since; and another writer, to hold the
    database as a recheck by hand goes on (busy waits cut to 300 ms)."""
    monkeypatch.setattr(store_module, "BUSY_TIMEOUT_MS", 300)
    fake = FakeInstance(server)
    fake.add(make_status("101", username="anne"), make_status("102", username="bert"))
    path = write_config(f'[[sources]]\nname = "nl"\ntype = "mastodon"\ninstance = "{fake.url}"\n', retries=0)
    config = load_config(path)
    with Store(config.db_path) as store, Fetcher(config.harvest) as fetcher:
        run_source(store, config, config.sources[0], fetcher)
    fake.delete("102")
    return fake, path, sqlite3.connect(config.db_path, timeout=0, check_same_thread=False)


def recheck_by_hand_beside(path: Path, writer: sqlite3.Connection, on_log: Callable[[str], None]):
    """`recheck_by_hand` with `on_log` called on each of the harvester's log lines, for the test to move
    the other writer as the pass goes on; that writer is closed after."""

    class Watch(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            on_log(record.getMessage())

    handler = Watch()
    logging.getLogger("harvester").addHandler(handler)
    try:
        return recheck_by_hand(path)
    finally:
        logging.getLogger("harvester").removeHandler(handler)
        writer.close()


def test_a_recheck_by_hand_the_database_refused_is_recorded_as_failed_in_dutch(server, write_config, monkeypatch):
    """Another writer holds the database past the wait as the recheck is to forget a deleted post: the
    command ends with the reason in Dutch (exit 1), and status shows that reason as the recheck's
    failure, recorded on a connection of its own once the database lets it, as the job's would be."""
    fake, path, writer = a_post_deleted_at_the_source(server, write_config, monkeypatch)

    def take_the_database(request) -> Reply:
        writer.execute("BEGIN IMMEDIATE")
        return fake.statuses_batch(request)

    def let_go_after_the_failure(line: str) -> None:
        if "status=failed" in line:
            writer.rollback()

    server.route("/api/v1/statuses", take_the_database)
    result = recheck_by_hand_beside(path, writer, let_go_after_the_failure)
    assert result.exit_code == 1 and f"harvester recheck: {BUSY}" in result.stderr, result.output
    recheck = status(path, "--json")["jobs"]["recheck"]
    assert (recheck["status"], recheck["error"], recheck["failures"]) == ("failed", BUSY, 1)
    assert f"    fout: {BUSY}" in status(path)


def test_a_recheck_by_hand_says_why_the_file_was_not_compacted(server, write_config, monkeypatch, caplog):
    """The recheck forgot a deleted post, but another writer holds the database as the file is to be
    compacted: the command says so with the reason, in Dutch, as status records it (exit 1); the job's
    own log line is no longer there to tell it."""
    _, path, writer = a_post_deleted_at_the_source(server, write_config, monkeypatch)

    def hold_the_compaction(line: str) -> None:
        if line.startswith("job=recheck status=ok"):
            writer.execute("BEGIN IMMEDIATE")
        elif line.startswith("job=compact status=failed"):
            writer.rollback()

    caplog.set_level(logging.INFO, logger="harvester")   # the recheck's line is an INFO one
    result = recheck_by_hand_beside(path, writer, hold_the_compaction)
    assert result.exit_code == 1 and "verwijderd bij de bron: 1" in result.stdout, result.output
    assert result.stderr == f"  probleem: het bestand is niet gecompacteerd: {BUSY}\n"
    jobs = status(path, "--json")["jobs"]
    assert (jobs["recheck"]["status"], jobs["compact"]["status"], jobs["compact"]["error"]) == ("ok", "failed", BUSY)


def test_a_recheck_by_hand_that_stops_says_so_once_in_dutch(write_config, monkeypatch, tmp_path):
    """Run as the admin runs it (no test's log capture): the one line on stderr is the Dutch reason,
    not the job's log line as well, nor that its outcome could not be recorded."""
    path = write_config()
    Store(load_config(path).db_path).close()
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy:poort")
    no_connections = harvester_module("--config", str(path), "recheck", cwd=tmp_path)
    assert no_connections.returncode == 1
    assert no_connections.stderr.startswith("harvester recheck: kon geen verbindingen opzetten (InvalidURL: ")
    assert len(no_connections.stderr.splitlines()) == 1, no_connections.stderr

    monkeypatch.delenv("HTTPS_PROXY")
    load_config(path).db_path.write_bytes(b"geen database")
    unusable = harvester_module("--config", str(path), "recheck", cwd=tmp_path)
    assert unusable.returncode == 2
    assert unusable.stderr == (f"harvester recheck: {load_config(path).db_path}: niet te gebruiken als database: "
                               "het bestand is geen SQLite-database\n")


def run_state(config_path) -> tuple[str, str]:
    """The source's line in `harvester status` and its last run's state in --json (one source)."""
    line = next(line for line in status(config_path).splitlines() if "laatste run:" in line)
    return line, status(config_path, "--json")["sources"][0]["last_run_status"]


def test_a_collect_by_hand_reads_as_running_until_its_process_is_killed(server, write_config):
    """`harvester collect` takes no scheduler lock: the process recorded with its run tells that the
    run goes on, and once that process is killed, that it was interrupted, though a scheduler lives."""
    server.route("/traag.rss", Reply(200, b"", delay=30))
    path = write_config(feed_source("traag", server.url("/traag.rss")), timeout_seconds=60)
    process = harvester_process(path)
    try:
        wait_for(lambda: server.requests_to("/traag.rss"))
        line, code = run_state(path)
        assert f"(loopt nog: proces {process.pid} op {socket.gethostname()})" in line and code == "running"
        with Store(load_config(path).db_path) as store:
            store.scheduler_lock.acquire(os.getpid(), socket.gethostname(), lambda holder: True)
        process.kill()
        process.wait()
        line, code = run_state(path)
        assert "(onderbroken: het proces stopte tijdens deze run)" in line and code == "interrupted"
    finally:
        process.kill()
        process.wait()


def test_a_run_of_the_scheduler_lives_and_dies_with_its_lock(write_config):
    """On another host only the scheduler's heartbeat can tell: its runs read as interrupted once
    that stopped, as a run on this host does once its process is gone."""
    path = write_config('[[sources]]\nname = "blog"\ntype = "feed"\nurl = "http://127.0.0.1:9/feed"\n')
    config = load_config(path)
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    with Store(config.db_path) as store:   # killed: its run is never finished
        source = store.sources.sync("blog", "feed", "http://127.0.0.1:9/feed")
        store.runs.start(source.id, int(gone.stdout), socket.gethostname())
    line, code = run_state(path)
    assert "(onderbroken: het proces stopte tijdens deze run)" in line and code == "interrupted"

    with Store(config.db_path) as store:   # a scheduler elsewhere, beating: its run goes on
        store.scheduler_lock.acquire(4242, "elders", lambda holder: True)
        store.runs.start(source.id, 4242, "elders")
    line, code = run_state(path)
    assert "(loopt nog: proces 4242 op elders)" in line and code == "running"
    with Store(config.db_path) as store:   # its heartbeat stopped
        store.db.execute("UPDATE scheduler_lock SET heartbeat_at = ?",
                         [to_utc_iso(datetime.now(UTC) - timedelta(seconds=STALE_AFTER_SECONDS + 60))])
    assert run_state(path)[1] == "interrupted"


def test_whether_a_run_lost_its_process():
    here, now = socket.gethostname(), utcnow()
    booted = to_utc_iso(datetime.fromtimestamp(boot_time(), UTC) - timedelta(minutes=1))
    assert not run_abandoned(os.getpid(), here, now, None, False)
    # begun before the boot: the pid that lives now is some other process's
    assert run_abandoned(os.getppid(), here, booted, None, False)
    # a process on another host cannot be seen from here: it counts as running for a while after it
    # began, then as gone (a new run of its source closes it)
    assert not run_abandoned(4242, "elders", now, None, False)
    long_ago = to_utc_iso(datetime.now(UTC) - timedelta(seconds=UNSEEN_RUN_SECONDS + 60))
    assert run_abandoned(4242, "elders", long_ago, None, False)
    # a run recorded before runs named their process: only a scheduler that lives may be running it
    assert run_abandoned(None, None, now, None, False)
    scheduler = LockHolder(os.getpid(), here, now)
    assert not run_abandoned(None, None, now, scheduler, True)
    assert run_abandoned(None, None, long_ago, scheduler, True)
    assert run_abandoned(None, None, now, LockHolder(4242, "elders", booted), False)
    # the scheduler's own run lives while it does...
    assert not run_abandoned(os.getpid(), here, now, scheduler, True)
    assert not run_abandoned(4242, "elders", now, LockHolder(4242, "elders", now), True)
    assert not run_abandoned(4242, "elders", long_ago, LockHolder(4242, "elders", now), True)   # its heartbeat tells
    assert run_abandoned(4242, "elders", now, LockHolder(4242, "elders", booted), False)
    # ...and no longer than its process: a run from before the boot is not this scheduler's, though
    # it restarted with the same pid and holds the lock
    assert run_abandoned(os.getpid(), here, booted, scheduler, True)


def test_a_source_whose_connection_cannot_be_set_up_shows_as_failed(server, write_config, monkeypatch):
    """httpx reads a proxy from the environment as it sets up, before any source's run begins: that
    failure is recorded for each source all the same, by `harvester collect` and by the background job."""
    path = write_config(feed_source("blog", server.url("/blog.rss"))
                        + feed_source("uit", server.url("/uit.rss")) + "enabled = false\n")
    for name in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"):
        monkeypatch.setenv(name, "http://proxy:poort")
    result = CliRunner().invoke(main, ["--config", str(path), "collect"])
    assert result.exit_code == 1, result.output
    assert "blog: MISLUKT" in result.output and "fout: kon geen verbindingen opzetten" in result.output
    assert "uit: overgeslagen" in result.output
    text = status(path)
    assert "laatste fout: kon geen verbindingen opzetten (InvalidURL" in text and "HTTPS_PROXY" in text
    by_name = {s["name"]: s for s in status(path, "--json")["sources"]}
    assert (by_name["blog"]["last_run_status"], by_name["blog"]["consecutive_failures"]) == ("failed", 1)
    assert by_name["uit"]["last_run_status"] is None

    config = load_config(path)
    assert not Jobs(config, threading.Event()).collect(config.source("blog"), respect_backoff=False)
    blog = next(s for s in status(path, "--json")["sources"] if s["name"] == "blog")
    assert blog["consecutive_failures"] == 2 and blog["last_error"].startswith("kon geen verbindingen opzetten")
    assert server.requests_to("/blog.rss") == []


def test_recheck_says_in_dutch_that_it_cannot_set_up_a_connection(write_config, monkeypatch, tmp_path):
    """`harvester recheck` makes its Fetcher itself: an unusable proxy or certificate file ends it with
    the same Dutch line as `harvester collect`, not an httpx traceback, and that line is the recheck's
    failure in `harvester status`."""
    path = write_config()
    Store(load_config(path).db_path).close()

    def recheck_error() -> str:
        result = recheck_by_hand(path)
        assert isinstance(result.exception, SystemExit) and result.exit_code == 1, result.output
        assert "HTTPS_PROXY" in result.stderr and "Traceback" not in result.output
        # recorded as the job records it, so `harvester status` shows why the recheck stopped
        recheck = status(path, "--json")["jobs"]["recheck"]
        assert recheck["status"] == "failed" and result.stderr == f"harvester recheck: {recheck['error']}\n"
        return result.stderr

    monkeypatch.setenv("HTTPS_PROXY", "http://proxy:poort")
    assert recheck_error().startswith("harvester recheck: kon geen verbindingen opzetten (InvalidURL: ")
    monkeypatch.delenv("HTTPS_PROXY")
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "weg.pem"))
    assert recheck_error().startswith("harvester recheck: kon geen verbindingen opzetten (FileNotFoundError: ")
    assert status(path, "--json")["jobs"]["recheck"]["failures"] == 2


def runs_of(config) -> list[tuple[str, str | None]]:
    with Store(config.db_path) as store:
        return store.db.execute("SELECT status, error FROM runs ORDER BY id").fetchall()


def test_a_failure_after_the_run_began_is_recorded_once_by_the_run_itself(server, write_config):
    """Once `run_source` wrote its run's row, that row takes whatever goes wrong, as failed: a database
    that refuses a read before the first request (here a table it lacks) is one failure, not a second
    row beside the first one closed as if its process had stopped."""
    server.route("/blog.rss", Reply(200, (FEEDS / "blog-rss2.xml").read_bytes(), RSS))
    path = write_config(feed_source("blog", server.url("/blog.rss")))
    config = load_config(path)
    with Store(config.db_path) as store:
        store.db.execute("DROP TABLE suppressions")
    assert not Jobs(config, threading.Event()).collect(config.source("blog"), respect_backoff=False)
    assert runs_of(config) == [("failed", "interne fout: OperationalError: no such table: suppressions")]
    with Store(config.db_path) as store:
        assert store.runs.consecutive_failures(store.sources.sync("blog", "feed", server.url("/blog.rss")).id) == 1
    assert server.requests_to("/blog.rss") == []


def test_a_database_busy_during_the_run_is_recorded_in_dutch(server, write_config, monkeypatch):
    """Another writer takes the database once the run has begun (as the feed is fetched) and holds it
    past the wait: storing the batch fails, and the run's row says why in the admin's words, not
    SQLite's English "database is locked" behind "interne fout"."""
    monkeypatch.setattr(store_module, "BUSY_TIMEOUT_MS", 300)
    path = write_config(feed_source("blog", server.url("/blog.rss")))
    config = load_config(path)
    with Store(config.db_path):
        pass
    writer = sqlite3.connect(config.db_path, timeout=0, check_same_thread=False)

    def take_the_database(request) -> Reply:
        writer.execute("BEGIN IMMEDIATE")
        return Reply(200, (FEEDS / "blog-rss2.xml").read_bytes(), RSS)

    class LetGoAfterTheFailure(logging.Handler):
        """The other writer finishes once the run has met the busy database, so it can close its row."""
        def emit(self, record: logging.LogRecord) -> None:
            if record.getMessage().startswith("collector for blog failed"):
                writer.rollback()

    server.route("/blog.rss", take_the_database)
    handler = LetGoAfterTheFailure()
    logging.getLogger("harvester").addHandler(handler)
    try:
        with Store(config.db_path) as store, Fetcher(config.harvest) as fetcher:
            result = run_source(store, config, config.source("blog"), fetcher)
    finally:
        logging.getLogger("harvester").removeHandler(handler)
        writer.close()
    assert (result.status, result.error) == ("failed", BUSY)
    assert runs_of(config) == [("failed", BUSY)]
    assert BUSY in status(path)


def test_a_run_that_could_not_begin_is_recorded_apart_and_counts_for_the_back_off(server, write_config, monkeypatch):
    """Another writer holds the database past the wait as the run is to be written: the run has no
    row to record that in, so the job records it on a connection of its own once the database lets
    it. Otherwise only a log line would tell, `harvester status` would show nothing and the back-off
    would not count it."""
    monkeypatch.setattr(store_module, "BUSY_TIMEOUT_MS", 300)
    path = write_config(feed_source("blog", server.url("/blog.rss")))
    config = load_config(path)
    with Store(config.db_path):
        pass
    writer = sqlite3.connect(config.db_path, timeout=0)
    writer.execute("BEGIN IMMEDIATE")

    class LetGoAfterTheFailure(logging.Handler):
        """The other writer finishes once the job has logged its failure."""
        def emit(self, record: logging.LogRecord) -> None:
            if "status=failed" in record.getMessage():
                writer.rollback()

    handler = LetGoAfterTheFailure()
    logging.getLogger("harvester").addHandler(handler)
    try:
        assert not Jobs(config, threading.Event()).collect(config.source("blog"), respect_backoff=False)
    finally:
        logging.getLogger("harvester").removeHandler(handler)
        writer.close()
    busy = "de run kon niet beginnen: de database is bezet: een ander proces hield haar langer vast dan de harvester wacht"
    assert runs_of(config) == [("failed", busy)]
    with Store(config.db_path) as store:
        assert store.runs.consecutive_failures(store.sources.sync("blog", "feed", server.url("/blog.rss")).id) == 1
    assert busy in status(path)
    assert server.requests_to("/blog.rss") == []


def test_a_run_that_could_not_begin_is_recorded_behind_the_write_gate(server, write_config, monkeypatch):
    """The record of a run that could not begin is a write like any other of the job's: while the
    purge has the file to itself (the gate's exclusive side, its VACUUM) it waits, instead of meeting
    a locked database. Here the purge's turn is asked for as the run fails; the record comes after it."""
    monkeypatch.setattr(store_module, "BUSY_TIMEOUT_MS", 300)
    path = write_config(feed_source("blog", server.url("/blog.rss")))
    config = load_config(path)
    with Store(config.db_path):
        pass
    jobs = Jobs(config, threading.Event())
    writer = sqlite3.connect(config.db_path, timeout=0)
    writer.execute("BEGIN IMMEDIATE")
    alone, done = threading.Event(), threading.Event()
    during: list[list] = []

    def purge_turn() -> None:
        with jobs.gate.exclusive():
            alone.set()
            # the failure's record must not land now; without the gate it does within milliseconds
            deadline = time.monotonic() + 2
            while time.monotonic() < deadline and not runs_of(config):
                time.sleep(0.02)
            during.append(runs_of(config))
        done.set()

    purge = threading.Thread(target=purge_turn)

    class PurgeAfterTheFailure(logging.Handler):
        """As the run fails (its gate still held), the purge asks for its turn, and the writer lets go."""
        def emit(self, record: logging.LogRecord) -> None:
            if "status=failed" in record.getMessage():
                purge.start()
                wait_for(lambda: jobs.gate._waiting)   # asked for: it goes before any new shared turn
                writer.rollback()

    handler = PurgeAfterTheFailure()
    logging.getLogger("harvester").addHandler(handler)
    try:
        assert not jobs.collect(config.source("blog"), respect_backoff=False)
    finally:
        logging.getLogger("harvester").removeHandler(handler)
        writer.close()
        purge.join(30)
    assert alone.is_set() and done.is_set()
    assert during == [[]]
    assert [status for status, _ in runs_of(config)] == ["failed"]


def test_a_run_that_went_well_stays_so_when_the_job_fails_after_it(server, write_config, monkeypatch):
    """What breaks in the background job after the run finished (closing the connections) is the job's
    log line: the finished run is not followed by a failed one."""
    server.route("/blog.rss", Reply(200, (FEEDS / "blog-rss2.xml").read_bytes(), RSS))
    path = write_config(feed_source("blog", server.url("/blog.rss")))
    config = load_config(path)

    def refuse(client):
        raise OSError("de verbinding sluit niet")

    monkeypatch.setattr(httpx.Client, "close", refuse)
    assert not Jobs(config, threading.Event()).collect(config.source("blog"), respect_backoff=False)
    monkeypatch.undo()
    assert runs_of(config) == [("ok", None)]
    blog = status(path, "--json")["sources"][0]
    assert (blog["last_run_status"], blog["consecutive_failures"]) == ("ok", 0) and blog["new_in_last_run"] > 0


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


def test_status_shows_a_switched_off_source_as_off_with_its_history_but_no_next_try(write_config):
    """A source the admin switched off (enabled = false) is not collected, as `collect` says: its last
    failure is history, with no next try that never comes, and one that never ran waits for nothing."""
    sources = """
        [[sources]]
        name = "kapot"
        type = "feed"
        url = "http://127.0.0.1:9/kapot.xml"
        interval_minutes = 60
        {enabled}
        [[sources]]
        name = "nooit"
        type = "feed"
        url = "http://127.0.0.1:9/nooit.xml"
        enabled = false
        """
    config = write_config(sources.format(enabled=""))
    assert CliRunner().invoke(main, ["--config", str(config), "collect"]).exit_code != 0   # nothing listens on port 9
    failing = {s["name"]: s for s in status(config, "--json")["sources"]}["kapot"]
    assert failing["enabled"] and failing["next_attempt_at"] is not None
    write_config(sources.format(enabled="enabled = false"))

    text = status(config)
    off = text[text.index("\nkapot [feed]"):text.index("\nnooit [feed]")]
    assert "\n  uitgeschakeld (enabled = false): wordt niet opgehaald\n  laatste run: " in off
    assert "(MISLUKT)" in off and "laatste fout: " in off and "volgende poging" not in off
    never = text[text.index("\nnooit [feed]"):]
    assert never == "\nnooit [feed] http://127.0.0.1:9/nooit.xml\n  uitgeschakeld (enabled = false): wordt niet opgehaald\n"
    by_name = {s["name"]: s for s in status(config, "--json")["sources"]}
    assert (by_name["kapot"]["enabled"], by_name["nooit"]["enabled"]) == (False, False)
    assert by_name["kapot"]["next_attempt_at"] is None and by_name["kapot"]["last_run_status"] == "failed"


def test_status_shows_every_time_in_dutch_time_and_json_keeps_utc(write_config):
    """The admin reads Dutch time everywhere else (the review app, the exports): a winter time is an
    hour ahead of UTC, a summer time two. Machines reading --json get the stored UTC times."""
    winter, summer = "2026-01-15T11:30:00.000+00:00", "2026-07-15T11:30:00.000+00:00"
    # a failed run that starts next summer keeps its back-off (start + 2 * 60 minutes) ahead of the clock
    later = datetime.now(UTC).year + 1
    failed = f"{later}-07-15T11:30:00.000+00:00"
    path = write_config('[[sources]]\nname = "blog"\ntype = "feed"\nurl = "http://127.0.0.1:9/feed"\n'
                        'interval_minutes = 60\n')
    config = load_config(path)
    with Store(config.db_path) as store:
        source = store.sources.sync("blog", "feed", "http://127.0.0.1:9/feed")
        store.scheduler_lock.acquire(4242, "elders", lambda holder: True)
        db = store.db
        db.execute("UPDATE scheduler_lock SET heartbeat_at = ?", [winter])
        db.execute("INSERT INTO runs (source_id, started_at, finished_at, status) VALUES (?, ?, ?, 'ok')",
                   [source.id, winter, winter])
        db.execute("INSERT INTO runs (source_id, started_at, finished_at, status, error) VALUES (?, ?, ?, 'failed', 'stuk')",
                   [source.id, failed, failed])
        db.execute("UPDATE sources SET ratelimit_remaining = 10, ratelimit_reset = ?", [summer])
        db.execute("INSERT INTO job_outcomes (job, at, status, error, ok_at) VALUES ('classify', ?, 'failed', 'stuk', ?)",
                   [summer, winter])
        db.execute("INSERT INTO review_events (actor, at, action, after) VALUES ('system', ?, 'purge', ?)",
                   [winter, json.dumps({"count": 2})])
        db.execute("INSERT INTO review_events (actor, at, action, after) VALUES ('system', ?, 'pseudonymize', ?)",
                   [summer, json.dumps({"posts": 1, "authors": 1})])
        db.execute("INSERT INTO initiative_matching (id, catalogue_digest, summarised_at) VALUES (1, '', ?)", [summer])

    text = status(path)
    assert "geen teken van leven sinds 2026-01-15 12:30 (proces 4242 op elders)" in text
    assert "  classificeren: laatste keer 2026-07-15 13:30 (MISLUKT), laatst gelukt: 2026-01-15 12:30" in text
    assert ("Opschonen: laatste keer 2026-01-15 12:30, 2 posts verwijderd; "
            "laatst gepseudonimiseerd: 2026-07-15 13:30 (1 post)") in text
    assert "Initiatieven: laatst geteld 2026-07-15 13:30," in text
    assert f"  laatste run: {later}-07-15 13:30 (MISLUKT), laatste succes: 2026-01-15 12:30," in text
    assert "  rate limit: nog 10 verzoeken, reset 2026-07-15 13:30" in text
    assert f"  volgende poging: niet voor {later}-07-15 15:30 " in text
    assert "+00:00" not in text and "T11:30" not in text
    shown = status(path, "--json")
    blog = shown["sources"][0]
    assert shown["scheduler"]["heartbeat_at"] == winter and shown["purge"]["pseudonymized_at"] == summer
    assert (shown["jobs"]["classify"]["at"], shown["jobs"]["classify"]["ok_at"]) == (summer, winter)
    assert shown["initiatives"]["summarised_at"] == summer
    assert (blog["last_run_at"], blog["last_success_at"], blog["ratelimit_reset"]) == (failed, winter, summer)
    assert blog["next_attempt_at"] == f"{later}-07-15T13:30:00+00:00"


def test_status_where_there_is_no_database_says_so_and_creates_none(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["status"])
    assert result.exit_code == 2
    assert "Nog geen database data/harvester.db: maak die met `harvester init`" in result.output
    assert list(tmp_path.iterdir()) == []


def test_a_collect_by_hand_leaves_a_live_run_of_the_source_alone_and_closes_a_dead_one(server, write_config, caplog):
    """The scheduler collects the source (a process that lives, waiting on its pipe) when the admin
    runs `harvester collect`: that live run is not marked interrupted, no failure counts toward the
    back-off, and the source is not fetched twice at once. Once that process is gone, its run is
    closed as interrupted and the next collect goes ahead."""
    server.route("/blog.rss", Reply(200, (FEEDS / "blog-rss2.xml").read_bytes(), RSS))
    path = write_config(feed_source("blog", server.url("/blog.rss")))
    config = load_config(path)
    here = socket.gethostname()
    waits = "import os, sys; print(os.getpid(), flush=True); sys.stdin.read()"
    scheduler = subprocess.Popen([sys.executable, "-c", waits], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        pid = int(scheduler.stdout.readline())   # it lives until its stdin closes
        with Store(config.db_path) as store:   # as the scheduler writes its run
            store.scheduler_lock.acquire(pid, here, lambda holder: True)
            live = store.runs.start(store.sources.sync("blog", "feed", server.url("/blog.rss")).id, pid, here)

        result = CliRunner().invoke(main, ["--config", str(path), "collect"])
        assert result.exit_code == 0, result.output
        assert f"blog: overgeslagen: wordt al opgehaald door proces {pid} op {here}" in result.output
        assert not server.requests_to("/blog.rss")
        with caplog.at_level(logging.INFO, logger="harvester.run"):   # the scheduler's own pass alike
            assert Jobs(config, threading.Event()).collect(config.sources[0], respect_backoff=False)
        assert "source=blog status=skipped" in caplog.text and f"proces {pid} op {here}" in caplog.text
        with Store(config.db_path) as store:
            assert store.db.execute("SELECT id, status, error FROM runs").fetchall() == [(live, "running", None)]
        line, code = run_state(path)
        assert f"(loopt nog: proces {pid} op {here})" in line and "fouten op rij: 0" in line and code == "running"
    finally:
        scheduler.stdin.close()
        scheduler.wait()

    result = CliRunner().invoke(main, ["--config", str(path), "collect"])
    assert result.exit_code == 0, result.output
    assert "blog: gelukt (3 nieuw" in result.output
    with Store(config.db_path) as store:
        assert store.db.execute("SELECT id, status, error FROM runs ORDER BY id").fetchall() == [
            (live, "failed", "onderbroken: het proces stopte tijdens deze run"), (live + 1, "ok", None)]
    assert run_state(path)[1] == "ok"
