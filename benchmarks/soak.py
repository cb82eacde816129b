"""Soak test of the background job: `harvester run` for 1,000 scheduler cycles with faults injected.

Starts local feed servers, runs the real `harvester run` as a child process with sub-second
intervals, and samples the child's resident memory, open file descriptors and threads (psutil)
after a warm-up and then every tenth of the way. A cycle is one run of the reference source; the
other sources run alongside: one feed that grows (new posts, so classification runs every cycle),
one that misbehaves in turn (500, dropped connection, slow answer, broken XML, 404, good again,
so the back-off starts and ends over and over), and one that is down for good.

    .venv/bin/python benchmarks/soak.py [--cycles 1000] [--interval-seconds 0.1]

Prints the samples and whether any figure kept growing; exit status 1 if one did.
"""

from __future__ import annotations

import argparse
import itertools
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.localserver import LocalServer, Reply, Request  # noqa: E402


def rss(items: range) -> str:
    entries = "".join(
        f"<item><guid isPermaLink='true'>https://mastodon.example/@soak/{i}</guid>"
        f"<link>https://mastodon.example/@soak/{i}</link><pubDate>Mon, 23 Nov 2026 10:00:00 +0000</pubDate>"
        f"<description>&lt;p&gt;Idee {i}: samen met bewoners de begroting als open data publiceren "
        f"#innoverheid&lt;/p&gt;</description><category>innoverheid</category></item>"
        for i in items
    )
    return f"<?xml version='1.0' encoding='UTF-8'?><rss version='2.0'><channel><title>#innoverheid</title>{entries}</channel></rss>"


def routes(server: LocalServer, grow: bool) -> None:
    static = rss(range(20))
    server.route("/steady.rss", Reply(200, static, {"ETag": '"v1"', "Content-Type": "application/rss+xml"}))

    count = itertools.count()

    def growing(request: Request) -> Reply:
        n = next(count) if grow else 0
        return Reply(200, rss(range(1000 + max(0, n - 20), 1000 + n + 1)), {"Content-Type": "application/rss+xml"})

    server.route("/growing.rss", growing)
    faults = itertools.cycle([
        Reply(500, "kapot"), Reply(reset=True), Reply(200, static, delay=0.5), Reply(200, "<rss><channel><item>"),
        Reply(404, "weg"), Reply(200, static),
    ])
    server.route("/flaky.rss", lambda request: next(faults))


def drain(stream, path: Path) -> None:
    with path.open("w", encoding="utf-8") as out:
        for line in stream:
            out.write(line)


def sample(process: psutil.Process) -> tuple[float, int, int]:
    return process.memory_info().rss / 2**20, process.num_fds(), process.num_threads()


def cycles(db: Path) -> int:
    conn = sqlite3.connect(db, timeout=10)
    try:
        return conn.execute(
            "SELECT count(*) FROM runs JOIN sources s ON s.id = source_id WHERE s.name = 'steady'"
            " AND runs.status != 'running'").fetchone()[0]
    except sqlite3.OperationalError:
        return 0
    finally:
        conn.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cycles", type=int, default=1000)
    parser.add_argument("--interval-seconds", type=float, default=0.1)
    parser.add_argument("--warmup", type=int, default=50, help="cycles before the first sample")
    parser.add_argument("--no-new-posts", action="store_true",
                        help="the growing feed stays the same (nothing to classify): separates the model's share")
    args = parser.parse_args()

    server = LocalServer().start()
    routes(server, grow=not args.no_new_posts)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    tmp = Path(tempfile.mkdtemp(prefix="soak-"))
    db = tmp / "harvester.db"
    minutes = args.interval_seconds / 60
    config = tmp / "harvester.toml"
    config.write_text(textwrap.dedent(f"""
        [harvest]
        user_agent_contact = "https://example.org/soak"
        timeout_seconds = 2
        retries = 1
        retry_backoff_seconds = 0.05
        [database]
        path = "{db}"
        [nlp]
        themes = "{ROOT / 'config' / 'themes.toml'}"
        [schedule]
        jitter_seconds = 0
        max_backoff_hours = {max(minutes * 8 / 60, 1e-6)}
    """) + "".join(f"""
[[sources]]
name = "{name}"
type = "feed"
url = "{url}"
interval_minutes = {minutes}
match = "all"
""" for name, url in [
        ("steady", server.url("/steady.rss")), ("growing", server.url("/growing.rss")),
        ("flaky", server.url("/flaky.rss")), ("down", f"http://127.0.0.1:{closed}/feed.rss"),
    ]), encoding="utf-8")

    child = subprocess.Popen(
        [sys.executable, "-c", "from harvester.cli import main; main()", "--config", str(config), "run"],
        stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True,
    )
    # the child's log is drained into a file: an unread pipe would fill up and block it
    threading.Thread(target=drain, args=(child.stderr, tmp / "run.log"), daemon=True).start()
    proc = psutil.Process(child.pid)
    started = time.monotonic()
    samples: list[tuple[int, float, float, int, int]] = []
    marks = [args.warmup + (args.cycles - args.warmup) * k // 10 for k in range(11)]
    try:
        for mark in marks:
            while cycles(db) < mark:
                if child.poll() is not None:
                    raise SystemExit(f"harvester run ended early (status {child.returncode}); log: {tmp / 'run.log'}")
                time.sleep(0.2)
            samples.append((cycles(db), time.monotonic() - started, *sample(proc)))
            print(f"cycle {samples[-1][0]:5d}  {samples[-1][1]:7.1f} s  rss {samples[-1][2]:7.1f} MiB  "
                  f"fds {samples[-1][3]:3d}  threads {samples[-1][4]:3d}", flush=True)
    finally:
        sent = time.monotonic()
        child.send_signal(signal.SIGTERM)
        code = child.wait(timeout=15)
        stop_seconds = time.monotonic() - sent
        server.stop()

    conn = sqlite3.connect(db)
    by_status = conn.execute(
        "SELECT s.name, runs.status, count(*) FROM runs JOIN sources s ON s.id = source_id"
        " GROUP BY 1, 2 ORDER BY 1, 2").fetchall()
    posts, classified = conn.execute(
        "SELECT (SELECT count(*) FROM posts), (SELECT count(*) FROM classifications)").fetchone()
    integrity = conn.execute("PRAGMA integrity_check").fetchone()[0]
    conn.close()
    print("runs:", ", ".join(f"{name}/{status}={n}" for name, status, n in by_status))
    print(f"posts {posts}, classified {classified}, integrity {integrity}, "
          f"SIGTERM -> exit {code} in {stop_seconds:.1f} s, machine: {os.cpu_count()} cores, "
          f"Python {sys.version.split()[0]}")

    # growing = the second half still rises above the first half's range by more than noise
    half = len(samples) // 2
    verdicts = []
    for name, column, slack in (("rss MiB", 2, 5.0), ("fds", 3, 2), ("threads", 4, 2)):
        first = max(s[column] for s in samples[: half + 1])
        last = [s[column] for s in samples[half:]]
        growing = last[-1] > first + slack and last == sorted(last)
        verdicts.append(growing)
        print(f"{name:8s} start {samples[0][column]:8.1f}  end {samples[-1][column]:8.1f}  "
              f"max first half {first:8.1f}  -> {'KEEPS GROWING' if growing else 'flat'}")
    return 1 if any(verdicts) or code != 0 or integrity != "ok" else 0


if __name__ == "__main__":
    sys.exit(main())
