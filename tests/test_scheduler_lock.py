"""What the scheduler needs from the store: one lock holder at a time, abandoned locks taken
over, and concurrent writers that wait for each other."""

from __future__ import annotations

import os
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest

from harvester.config import load_config
from harvester.models import Post, RunCounts
from harvester.jobs import lock
from harvester.jobs.lock import (AlreadyRunning, DatabaseLock, abandoned, boot_time, process_gone,
                                 process_started, this_process)
from harvester.store import Store
from harvester.store.lock import LockHolder
from harvester.timeutil import to_utc_iso

from .conftest import require_program


def test_second_process_is_refused_until_release(tmp_path):
    path = tmp_path / "h.db"
    with Store(path) as a, Store(path) as b:
        assert a.scheduler_lock.acquire(100, "host-a", lambda holder: False) is None
        holder = b.scheduler_lock.acquire(200, "host-a", lambda holder: False)
        assert (holder.pid, holder.host) == (100, "host-a")
        a.scheduler_lock.release(100, "host-a")
        assert b.scheduler_lock.acquire(200, "host-a", lambda holder: False) is None
        assert b.scheduler_lock.holder().pid == 200


def test_abandoned_lock_is_taken_over_and_old_owner_notices(tmp_path):
    path = tmp_path / "h.db"
    with Store(path) as a, Store(path) as b:
        a.scheduler_lock.acquire(100, "host-a", lambda holder: False)
        seen: list[LockHolder] = []
        assert b.scheduler_lock.acquire(200, "host-b", lambda holder: seen.append(holder) or True) is None
        assert [h.pid for h in seen] == [100]
        # the old owner's heartbeat and release no longer touch the new owner's row
        assert a.scheduler_lock.heartbeat(100, "host-a") is False
        a.scheduler_lock.release(100, "host-a")
        assert b.scheduler_lock.holder().pid == 200
        assert b.scheduler_lock.heartbeat(200, "host-b") is True


def test_heartbeat_moves_forward(tmp_path):
    with Store(tmp_path / "h.db") as s:
        s.scheduler_lock.acquire(1, "h", lambda holder: False)
        before = s.scheduler_lock.holder().heartbeat_at
        s.db.execute("UPDATE scheduler_lock SET heartbeat_at = '2020-01-01T00:00:00+00:00'")
        assert s.scheduler_lock.heartbeat(1, "h")
        assert s.scheduler_lock.holder().heartbeat_at >= before


def test_concurrent_writers_wait_for_each_other_instead_of_failing(tmp_path):
    """Scheduler jobs write from several threads: a transaction that reads before it writes must
    wait for the lock, not fail with 'database is locked' because another one committed meanwhile."""
    path = tmp_path / "h.db"
    Store(path).close()
    errors: list[Exception] = []

    def store_posts(n: int) -> None:
        with Store(path) as s:
            source = s.sources.sync(f"bron{n}", "feed", f"https://example.org/{n}")
            for i in range(150):
                try:
                    with s.atomic():
                        s.posts.upsert(Post(key=f"https://example.org/{n}/{i}", kind="feed",
                                            content_html="<p>idee</p>", text="idee"), source.id)
                except sqlite3.OperationalError as e:
                    errors.append(e)

    def record_runs() -> None:
        with Store(path) as s:
            source = s.sources.sync("runs", "feed", "https://example.org/runs")
            for _ in range(150):
                s.runs.finish(s.runs.start(source.id, *this_process()), "ok", RunCounts())

    threads = [threading.Thread(target=store_posts, args=(n,)) for n in range(2)]
    threads.append(threading.Thread(target=record_runs))
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with Store(path) as s:
        assert s.posts.count() == 300


def test_a_heartbeat_blocked_by_a_long_write_is_retried_later_not_fatal(write_config, caplog):
    config = load_config(write_config())
    lock = DatabaseLock(config)
    lock.acquire()
    writer = sqlite3.connect(config.db_path, timeout=0)
    writer.execute("BEGIN IMMEDIATE")
    try:
        assert lock.beat() is True            # not taken over: only delayed
        assert "hartslag niet vastgelegd" in caplog.text
    finally:
        writer.rollback()
        writer.close()
    assert lock.beat() is True
    lock.release()
    with Store(config.db_path) as s:
        assert s.scheduler_lock.holder() is None


def _hold_lock(store: Store, pid: int, heartbeat: datetime) -> LockHolder:
    store.scheduler_lock.acquire(pid, socket.gethostname(), lambda holder: False)
    store.db.execute("UPDATE scheduler_lock SET heartbeat_at = ?",
                     [heartbeat.isoformat(timespec="milliseconds")])
    return store.scheduler_lock.holder()


def test_a_live_process_on_this_host_that_beat_since_the_boot_keeps_its_lock(write_config, monkeypatch):
    """A cron run busy for long, or a hung job, is still running: a second scheduler must not start
    beside it, and `harvester status` calls it running."""
    # a heartbeat counts as stale after a second here, so that a process of this test can be older
    # than a stale heartbeat (a heartbeat older than its process is another process's: see below)
    monkeypatch.setattr(lock, "STALE_AFTER_SECONDS", 1.0)
    child = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE)
    try:
        heartbeat = datetime.fromtimestamp(process_started(child.pid), UTC)
        deadline = time.monotonic() + 30
        while datetime.now(UTC) - heartbeat <= timedelta(seconds=lock.STALE_AFTER_SECONDS + 0.5):
            assert time.monotonic() < deadline, "the clock did not move"
            time.sleep(0.1)
        config = load_config(write_config())
        with Store(config.db_path) as s:
            assert not abandoned(_hold_lock(s, child.pid, heartbeat))
        with pytest.raises(AlreadyRunning, match=f"proces {child.pid} op {socket.gethostname()}"):
            DatabaseLock(config).acquire()
    finally:
        child.stdin.close()
        child.wait(timeout=30)


def test_a_process_whose_name_the_kernel_cut_mid_character_is_still_read(write_config):
    """The kernel keeps 15 bytes of a process's name, which may end halfway through a character:
    the lock and `harvester status` must still read when that process started."""
    name = "é" * 9   # 18 bytes in UTF-8: the 15 kept end in the first byte of the eighth
    child = subprocess.Popen(
        [sys.executable, "-c", f"open('/proc/self/comm', 'w').write({name!r}); print(flush=True); "
                               "import sys; sys.stdin.read()"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        child.stdout.readline()
        with open(f"/proc/{child.pid}/comm", "rb") as f:
            assert f.read().rstrip(b"\n") == name.encode()[:15]
        started = process_started(child.pid)
        assert abs(started - time.time()) < 60
        config = load_config(write_config())
        with Store(config.db_path) as s:
            holder = _hold_lock(s, child.pid, datetime.now(UTC))
        assert not abandoned(holder)
        with pytest.raises(AlreadyRunning):
            DatabaseLock(config).acquire()
    finally:
        child.stdin.close()
        child.wait(timeout=30)


def test_a_live_process_that_proc_hides_is_not_taken_for_ended():
    """With /proc mounted hidepid=2 a user sees no entry for another user's process, whose pid still
    answers: a scheduler of another account must not be taken for ended and its lock taken over at
    once. Nor for alive: its pid may have gone to another account's process since, so whether it is
    gone is unknown and its heartbeat decides (`abandoned`)."""
    if os.geteuid() != 0:
        pytest.skip("mounting a /proc with hidepid in a namespace of its own needs root")
    unshare, setpriv = require_program("unshare"), require_program("setpriv")
    nobody = [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups"]
    reach = subprocess.run([*nobody, sys.executable, "-c", "import harvester.jobs.lock"],
                           capture_output=True, text=True, timeout=60)
    if reach.returncode != 0:
        # a checkout or virtualenv in a private folder (a home, a mktemp -d): not what this test is about
        pytest.skip(f"the user nobody cannot import this checkout: {reach.stderr.strip()[-200:]}")
    child = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE)
    try:
        # as the user nobody, in a mount namespace of its own whose /proc hides root's processes
        probe = (f"import os, socket, time; from harvester.jobs.lock import process_gone; "
                 f"print(os.path.exists('/proc/{child.pid}'), process_gone({child.pid}, socket.gethostname(), "
                 f"time.time()))")
        shell = ('mount -t proc -o hidepid=2 proc /proc || exit 99; '
                 f'exec {" ".join(nobody)} "$@"')
        result = subprocess.run([unshare, "--mount", "--propagation", "private", "sh", "-c", shell, "sh",
                                 sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
        if result.returncode == 99 or result.stderr.startswith("unshare:"):
            pytest.skip(f"this machine does not let a namespace mount /proc: {result.stderr.strip()}")
        assert result.returncode == 0, result.stderr
        assert result.stdout.split() == ["False", "None"]   # hidden: unknown, not gone
    finally:
        child.stdin.close()
        child.wait(timeout=30)


def test_a_heartbeat_from_before_the_boot_is_taken_over_though_its_pid_lives(write_config):
    """After a reboot or power loss the row is still there and its pid may now belong to another
    process: the lock must not block every start from then on."""
    booted = datetime.fromtimestamp(boot_time(), UTC)
    config = load_config(write_config())
    with Store(config.db_path) as s:
        assert abandoned(_hold_lock(s, os.getppid(), booted - timedelta(minutes=1)))
    lock = DatabaseLock(config)
    lock.acquire()
    with Store(config.db_path) as s:
        assert s.scheduler_lock.holder().pid == os.getpid()
    lock.release()


def test_a_pid_whose_process_started_later_or_ended_is_gone():
    """A pid is reused long before the machine restarts: the process that holds it now is not the one
    that beat or began a run, if it started after that; and a zombie has ended, though its pid
    still answers."""
    here = socket.gethostname()
    before = time.time() - 5
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        assert process_gone(child.pid, here, time.time()) is False
        assert process_gone(child.pid, here, before) is True
        assert abandoned(LockHolder(child.pid, here, to_utc_iso(datetime.fromtimestamp(before, UTC))))
        child.kill()
        os.waitid(os.P_PID, child.pid, os.WEXITED | os.WNOWAIT)   # ended, and not collected: a zombie
        os.kill(child.pid, 0)
        assert process_gone(child.pid, here, time.time()) is True
    finally:
        child.kill()
        child.wait()
