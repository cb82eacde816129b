"""The scheduler's purge job: `harvester run --once` and `harvester run` apply the retention policy."""

from __future__ import annotations

import os
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path

from harvester.privacy.hashing import pseudonym
from harvester.models import Author, Post
from harvester.jobs.gate import WriteGate
from harvester.store import Store

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
    assert 'error="pseudonimiseren mislukt: 1 geaccepteerde posts wachten op een pseudoniem' in line
    assert texts(db) == [("bewaaridee", "Joost")]
    status = subprocess.run([*HARVESTER, "--config", str(config), "status"], capture_output=True, text=True, timeout=30)
    assert "laatste fout: 1 posts niet gepseudonimiseerd: geheime sleutel ontbreekt (HARVESTER_SECRET)" in status.stdout


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
