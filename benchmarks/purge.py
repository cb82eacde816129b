"""Retention cost on a large database: purge, pseudonymise, compact, and how long a collector's write waits meanwhile.

    .venv/bin/python benchmarks/purge.py [--posts 200000] [--db /tmp/harvester-bench-purge.db]

Fills a database with the review-app benchmark's synthetic posts (benchmarks/ui.py, reused when it
already holds that many), spreads their first harvest over the two years their publication dates
cover, then applies the retention policy twice on a copy: first as the daily job sees it (one day's
posts become due), then as a first run after months without purging (30 days' worth); 12% of the
posts name initiatives and are matched (benchmarks/initiatives.py), so the purge's transaction
includes the initiatives' recount. Meanwhile a
thread writes one small transaction every 50 ms, as a collector storing a batch does, and records
how long each had to wait for the write lock. Wall and CPU time (user+sys of this process) and the
load average go into docs/benchmarks.md ("Retention").
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import shutil
import sqlite3
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.initiatives import config_for, matched  # noqa: E402
from benchmarks.ui import cached_database  # noqa: E402

from harvester.privacy import retention  # noqa: E402
from harvester.store import Store  # noqa: E402
from harvester.timeutil import to_utc_iso  # noqa: E402

SECRET = b"benchmark-geheime-sleutel-0123456789"


def cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class Writer(threading.Thread):
    """A collector's stand-in: a small write transaction every 50 ms; records each one's wait."""

    def __init__(self, path: Path):
        super().__init__(daemon=True)
        self.path, self.waits, self.failures, self.done = path, [], 0, threading.Event()

    def run(self) -> None:
        conn = sqlite3.connect(self.path, timeout=10, isolation_level=None)
        conn.execute("PRAGMA busy_timeout = 10000")
        while not self.done.wait(0.05):
            started = time.perf_counter()
            try:
                conn.execute("BEGIN IMMEDIATE")
                conn.execute("UPDATE sources SET ratelimit_remaining = coalesce(ratelimit_remaining, 0) + 1 WHERE id = 1")
                conn.execute("COMMIT")
            except sqlite3.OperationalError:
                self.failures += 1
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
            self.waits.append(time.perf_counter() - started)
        conn.close()


def scenario(path: Path, name: str, purge_before: str, pseudonymize_before: str, min_authors: int) -> None:
    with Store(path) as store:
        writer = Writer(path)
        writer.start()
        time.sleep(0.5)
        c0, t0 = cpu(), time.perf_counter()
        deleted = retention.purge_expired(store, purge_before, min_authors=min_authors)
        t1 = time.perf_counter()
        done = retention.pseudonymize(store, pseudonymize_before, SECRET)
        t2 = time.perf_counter()
        store.privacy.compact()
        t3 = time.perf_counter()
        c1 = cpu()
        time.sleep(0.5)
        writer.done.set()
        writer.join()
    waits = sorted(writer.waits)
    print(f"| {name} | {len(deleted):,} | {len(done.posts):,} | {t1 - t0:.2f} | {t2 - t1:.2f} | {t3 - t2:.2f} | "
          f"{c1 - c0:.1f} | {waits[-1] * 1000:.0f} | {writer.failures} | {path.stat().st_size / 1e6:.0f} |")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--posts", type=int, default=200_000)
    parser.add_argument("--db", default="/tmp/harvester-bench-purge.db")
    args = parser.parse_args()
    source = Path(args.db)
    config = config_for(source)

    def spread(store: Store) -> None:
        # first harvests spread like the publication dates (2025-01 .. 2026-11)
        with store.atomic():
            store.db.execute("UPDATE posts SET first_seen_at = published_at")
        matched(store, config)

    cached_database(source, args.posts, spread)
    work = source.with_name(source.stem + "-work.db")
    with Store(source) as store:
        store.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    shutil.copy(source, work)
    for suffix in ("-wal", "-shm"):
        Path(f"{work}{suffix}").unlink(missing_ok=True)
    with Store(work) as store:
        oldest = store.db.execute("SELECT min(first_seen_at) FROM posts").fetchone()[0]
        # a database cached before the benchmark matched initiatives has none: its purge recounts nothing
        matches = len(list(store.initiatives.match_rows()))
    start = datetime.fromisoformat(oldest)
    print(f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"SQLite {sqlite3.sqlite_version}; {args.posts:,} posts, {matches:,} initiative matches, "
          f"{work.stat().st_size / 1e6:.0f} MB; "
          f"load average before: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    print("| run | purged | pseudonymised | purge s | pseudonymise s | compact s | CPU s | longest write wait ms "
          "| failed writes | file MB |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    day = to_utc_iso(start + timedelta(days=1))
    scenario(work, "daily (one day due)", day, day, config.initiatives.min_authors)
    month = to_utc_iso(start + timedelta(days=31))
    scenario(work, "after a month without purging", month, month, config.initiatives.min_authors)
    print(f"load average after: {' '.join(f'{x:.1f}' for x in os.getloadavg())}; "
          f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
    for suffix in ("", "-wal", "-shm"):
        Path(f"{work}{suffix}").unlink(missing_ok=True)


if __name__ == "__main__":
    main()
