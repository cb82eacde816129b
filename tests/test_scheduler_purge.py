"""The scheduler's purge job: `harvester run --once` and `harvester run` apply the retention policy."""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path

from click.testing import CliRunner

from harvester.cli import main
from harvester.collectors.http import Fetcher
from harvester.config import load_config
from harvester.jobs.harvest import run_source
from harvester.jobs.jobs import Jobs
from harvester.privacy.hashing import pseudonym
from harvester.models import Author, Post
from harvester.jobs.gate import WriteGate
from harvester.store import Store

from .mastodon_fake import FakeInstance, make_status
from .test_scheduler import HARVESTER, query, stop, wait_for

SECRET = "een-geheime-sleutel-voor-tests-0123456789"
OLD = "2020-01-01T00:00:00.000+00:00"


def seed(db: Path) -> None:
    """An expired post nobody accepted, and an old accepted idea; both classified, so no model is needed."""
    with Store(db) as store:
        source = store.sources.sync("blog", "feed", "https://blog.example/feed").id
        for key, text in (("https://blog.example/1", "verlopenwoordeta"), ("https://blog.example/2", "bewaaridee")):
            store.posts.upsert(Post(key=key, kind="feed", content_html=f"<p>{text}</p>", text=text, url=key,
                                    author=Author("Joost (blog.example)", display_name="Joost")), source)
        with store.atomic():
            store.db.execute("UPDATE posts SET first_seen_at = ?", [OLD])
            store.db.execute("INSERT INTO classifications (post_id, model_version, language, is_dutch, confidence,"
                             " post_changed_at) SELECT id, 'test', 'nl', 1, 0.5, changed_at FROM posts")
        accepted = store.db.execute("SELECT id FROM posts WHERE key = 'https://blog.example/2'").fetchone()[0]
        store.reviews.decide(accepted, store.users.add("redactie", "redacteur", "x"), 0, "accept", themes=["cultuur"])


def config_file(write_config, purge_hours: float = 24) -> Path:
    return write_config(f"[schedule]\npurge_hours = {purge_hours}\n\n"
                        "[privacy]\nretention_days = 30\npseudonymize_accepted_after_days = 60\n")


def env(secret: str) -> dict[str, str]:
    return {**os.environ, "HARVESTER_SECRET": secret}


def purge_lines(config: Path, secret: str, until: Callable[[], None]) -> list[str]:
    """Run the background job until `until` returns, stop it, and give its purge log lines."""
    process = subprocess.Popen([*HARVESTER, "--config", str(config), "run"], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, env=env(secret))
    try:
        until()
    finally:
        stopped = stop(process)
    assert stopped.code == 0, stopped.err
    return [line for line in stopped.err.splitlines() if "job=purge" in line]


def texts(db: Path) -> list[tuple[str, str]]:
    return query(db, "SELECT p.text, a.display_name FROM posts p JOIN authors a ON a.id = p.author_id ORDER BY p.id")


def test_run_once_purges_and_pseudonymises(write_config, tmp_path):
    db = tmp_path / "harvester.db"
    seed(db)
    config = config_file(write_config)
    result = subprocess.run([*HARVESTER, "--config", str(config), "run", "--once"], capture_output=True, text=True,
                            timeout=60, env=env(SECRET))
    assert result.returncode == 0, result.stderr
    assert "job=purge status=ok deleted=1 pseudonymized=1 compacted=yes duration=" in result.stderr
    assert texts(db) == [("bewaaridee", pseudonym(SECRET.encode(), "Joost (blog.example)"))]
    assert b"verlopenwoordeta" not in db.read_bytes()
    # cron may call it every half hour: the purge keeps to purge_hours
    again = subprocess.run([*HARVESTER, "--config", str(config), "run", "--once"], capture_output=True, text=True,
                           timeout=60, env=env(SECRET))
    assert again.returncode == 0, again.stderr
    assert "job=purge status=skipped last=" in again.stderr
    assert query(db, "SELECT count(*) FROM review_events WHERE action = 'purge'") == [(1,)]


def test_run_once_without_the_secret_purges_and_fails_the_job(write_config, tmp_path):
    db = tmp_path / "harvester.db"
    seed(db)
    config = config_file(write_config)
    result = subprocess.run([*HARVESTER, "--config", str(config), "run", "--once"], capture_output=True, text=True,
                            timeout=60, env=env(""))
    assert result.returncode == 1
    line = next(line for line in result.stderr.splitlines() if "job=purge" in line)
    assert "ERROR job=purge status=partial deleted=1 pseudonymized=0 compacted=yes" in line
    assert 'error="pseudonimiseren mislukt: 1 geaccepteerde post wacht op een pseudoniem' in line
    assert texts(db) == [("bewaaridee", "Joost")]
    status = subprocess.run([*HARVESTER, "--config", str(config), "status"], capture_output=True, text=True, timeout=30)
    assert "laatste fout: 1 post niet gepseudonimiseerd: geheime sleutel ontbreekt (HARVESTER_SECRET)" in status.stdout


def test_the_background_job_purges_every_purge_hours(write_config, tmp_path):
    db = tmp_path / "harvester.db"
    seed(db)
    config = config_file(write_config, purge_hours=0.001)   # every 3.6 s, the first one 3.6 s after start

    def two_purges():
        wait_for(lambda: len(texts(db)) == 1 and texts(db)[0][1].startswith("deelnemer-"), what="the purge job")
        # the next runs find nothing to do and leave the file alone
        wait_for(lambda: query(db, "SELECT count(*) FROM review_events WHERE action = 'purge'")[0][0] >= 2,
                 what="a second purge")

    lines = purge_lines(config, SECRET, two_purges)
    assert "job=purge status=ok deleted=1 pseudonymized=1 compacted=yes" in lines[0]
    assert "job=purge status=ok deleted=0 pseudonymized=0 compacted=no" in lines[1]


def test_the_compaction_waits_for_running_collections_and_goes_before_new_ones():
    gate, order = WriteGate(), []
    collecting, compacting_waits = threading.Event(), threading.Event()
    finish_collection = threading.Event()

    def collection(name: str, started: threading.Event | None = None, until: threading.Event | None = None) -> None:
        with gate.shared():
            order.append(f"{name} start")
            if started:
                started.set()
            if until:
                until.wait(5)
            order.append(f"{name} end")

    def compaction() -> None:
        compacting_waits.set()
        with gate.exclusive():
            order.append("compact")

    first = threading.Thread(target=collection, args=("eerste", collecting, finish_collection))
    first.start()
    collecting.wait(5)
    compact = threading.Thread(target=compaction)
    compact.start()
    compacting_waits.wait(5)
    wait_until(lambda: gate._waiting)
    second = threading.Thread(target=collection, args=("tweede",))
    second.start()
    # the second collection waits at the gate beside the compaction: now it could overtake (it must not)
    wait_until(lambda: len(gate._cond._waiters) == 2)
    finish_collection.set()
    for thread in (first, compact, second):
        thread.join(5)
    assert order == ["eerste start", "eerste end", "compact", "tweede start", "tweede end"]


def test_the_recheck_and_an_opt_out_compact_behind_the_gate_too(server, write_config, caplog):
    """Their VACUUM holds the write lock as long as the purge's: it waits for a running collection
    as the purge does, instead of making it fail on a locked database."""
    caplog.set_level(logging.INFO, logger="harvester.run")
    fake = FakeInstance(server)
    fake.add(*(make_status(str(100 + i), username=name, text=f"Idee van {name}")
               for i, name in enumerate(("anne", "bert", "carla"))))
    config = load_config(write_config(f'[[sources]]\nname = "nl"\ntype = "mastodon"\ninstance = "{fake.url}"\n'))
    (source,) = config.sources
    with Store(config.db_path) as store, Fetcher(config.harvest) as fetcher:
        assert run_source(store, config, source, fetcher).counts.new == 3
    jobs = Jobs(config, threading.Event())

    def beside_a_collection(job: Callable[[], bool]) -> bool:
        """Run `job` while a collection is busy; True once it ran, with its compaction after the collection."""
        busy, done = threading.Event(), threading.Event()
        outcome: list[bool] = []

        def collection() -> None:
            with jobs.gate.shared():
                busy.set()
                done.wait(10)

        collecting = threading.Thread(target=collection)
        collecting.start()
        busy.wait(5)
        running = threading.Thread(target=lambda: outcome.append(job()))
        running.start()
        try:
            wait_until(lambda: jobs.gate._waiting)   # the compaction waits for the collection
            assert "job=compact" not in caplog.text
        finally:
            done.set()
            collecting.join(5)
            running.join(10)
        return outcome == [True] and "job=compact status=ok" in caplog.text

    fake.delete("100")   # anne's
    assert beside_a_collection(jobs.recheck)
    assert query(config.db_path, "SELECT count(*) FROM posts WHERE text LIKE '%anne%'") == [(0,)]
    caplog.clear()
    fake.statuses["101"]["account"]["note"] = "<p>Niet archiveren #nobot</p>"
    assert beside_a_collection(lambda: jobs.collect(source, respect_backoff=False))
    assert query(config.db_path, "SELECT count(*) FROM posts WHERE text LIKE '%bert%'") == [(0,)]
    assert query(config.db_path, "PRAGMA freelist_count") == [(0,)]


def wait_until(condition, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline
        time.sleep(0.01)


def test_a_failing_purge_is_logged_and_the_scheduler_goes_on(write_config, tmp_path):
    db = tmp_path / "harvester.db"
    seed(db)
    config = config_file(write_config, purge_hours=0.001)
    lines = purge_lines(config, "", lambda: wait_for(
        lambda: query(db, "SELECT count(*) FROM review_events WHERE action = 'pseudonymize'")[0][0] >= 2,
        what="two purges that could not pseudonymise"))
    assert "ERROR job=purge status=partial deleted=1 pseudonymized=0 compacted=yes" in lines[0]
    assert "ERROR job=purge status=partial deleted=0 pseudonymized=0 compacted=no" in lines[1]
    assert all("geheime sleutel ontbreekt" in line for line in lines)
    assert texts(db) == [("bewaaridee", "Joost")]


def test_a_purge_that_crashes_shows_in_status_and_the_last_purge_that_worked_stays(write_config, tmp_path, caplog,
                                                                                   monkeypatch):
    """Another process holds the write lock past the busy timeout (a long manual write): the purge
    fails, and `harvester status` says so, beside the last purge that did its work."""
    caplog.set_level(logging.INFO, logger="harvester.run")
    db = tmp_path / "harvester.db"
    seed(db)
    path = config_file(write_config)
    monkeypatch.setenv("HARVESTER_SECRET", SECRET)
    jobs = Jobs(load_config(path), threading.Event())
    assert jobs.purge()
    blocker = sqlite3.connect(db, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    outcome: list[bool] = []
    failing = threading.Thread(target=lambda: outcome.append(jobs.purge()))
    failing.start()
    try:
        wait_until(lambda: "job=purge status=failed" in caplog.text, timeout=30)
    finally:
        blocker.execute("ROLLBACK")   # the failure is recorded once the lock is free again
        failing.join(30)
    assert outcome == [False]
    text = CliRunner().invoke(main, ["--config", str(path), "status"]).output
    line = next(line for line in text.splitlines() if line.startswith("  opschonen:"))
    assert "(MISLUKT), laatst gelukt: " in line
    assert ("    fout: databasefout: de database is bezet: een ander proces hield haar langer vast dan de "
            "harvester wacht") in text
    assert "Opschonen: laatste keer" in text and "1 post verwijderd" in text
    purge = json.loads(CliRunner().invoke(main, ["--config", str(path), "status", "--json"]).output)["jobs"]["purge"]
    assert purge["status"] == "failed" and purge["ok_at"] < purge["at"]
