"""Export speed and memory: posts to CSV (and XLSX), rows/s and peak resident memory.

    .venv/bin/python benchmarks/export.py [--rows 100000] [--xlsx-rows 100000] [--db PATH]

Four exports: CSV, CSV per theme, CSV with pseudonyms (the authors' own names and accounts found in
text and note, @mentions replaced) and XLSX.

Builds a database shaped like a real harvest once (posts of ~300 characters with accents, emoji,
quotes and ';', three sources, 10,000 authors, scores for all eight themes, a fifth reviewed, 2%
duplicates) and keeps it for the next run. Each export runs in a fresh process, so the peak
resident memory printed (ru_maxrss) is the export's own, interpreter included; "per CPU second"
counts that process's user+system time (SQLite runs in it), the steadier figure on a shared machine.
Target (issue 15): 100,000 posts as CSV in <= 5 s, peak RSS < 200 MB.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from harvester.export import ExportOptions, write_export  # noqa: E402
from harvester.store import Store  # noqa: E402

THEMES = ["cultuur", "samenwerking", "structuur", "open_overheid", "leiderschap", "publieke_waarde",
          "medewerkers", "bestuurders"]
LABELS = {t: t.replace("_", " ").capitalize() for t in THEMES}   # as the CLI passes themes.toml's labels
SECRET = b"benchmark-pseudonym-key-32-bytes"
WORDS = ("ambtenaren durven experimenteren; de gemeente werkt samen met inwoners aan \"open data\" en "
         "coöperatie, café-overleg, één loket 🚀 innovatie vraagt lef van bestuurders en ruimte voor "
         "medewerkers =geen formule @collega #innoverheid").split()


def build(path: Path, rows: int) -> None:
    rng = random.Random(2013)
    now = "2026-11-23T20:00:00.000+00:00"
    with Store(path) as store:
        db = store.db.conn
        with store.atomic():
            for name, kind in (("mastodon-nl", "mastodon"), ("social-overheid", "mastodon"), ("kennisland", "feed")):
                store.sources.sync(name, kind, f"https://{name}.example")
            db.executemany("INSERT INTO authors (id, key, display_name) VALUES (?, ?, ?)",
                           ((i, f"user{i}@mastodon.example", f"Gebruiker {i}") for i in range(1, 10_001)))
            db.execute("INSERT INTO users (id, name, role, password_hash, created_at) VALUES (1, 'r', 'redacteur', 'x', ?)",
                       [now])

            def posts():
                for i in range(1, rows + 1):
                    text = " ".join(rng.choices(WORDS, k=45))[:300]
                    published = f"20{13 + i * 13 // rows:02d}-{1 + i % 12:02d}-{1 + i % 28:02d}T{i % 24:02d}:{i % 60:02d}:00+00:00"
                    yield (i, f"https://mastodon.example/statuses/{i}", "mastodon", f"https://mastodon.example/@u/{i}",
                           f"<p>{text}</p>", text, 1 + i % 10_000, published, "h", now, now, now)

            db.executemany(
                "INSERT INTO posts (id, key, kind, url, content_html, text, author_id, published_at, content_hash,"
                " first_seen_at, last_seen_at, changed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", posts())
            db.executemany("INSERT INTO sightings (post_id, source_id, first_seen_at, last_seen_at) VALUES (?, ?, ?, ?)",
                           ((i, 1 + i % 3, now, now) for i in range(1, rows + 1)))
            db.executemany(
                "INSERT INTO post_themes (post_id, theme, score, assigned) VALUES (?, ?, ?, ?)",
                ((i, t, s, int(s >= 0.5)) for i in range(1, rows + 1) for t in THEMES
                 for s in [rng.random() ** 2]))
            db.executemany(
                "INSERT INTO reviews (post_id, status, themes, duplicate_of, note, version, updated_by, updated_at)"
                " VALUES (?, ?, ?, ?, ?, 1, 1, ?)",
                ((i, *_review(i, rng), now) for i in range(5, rows + 1, 5)))


def _review(i: int, rng: random.Random) -> tuple:
    kind = i % 50
    if kind == 0:
        return ("duplicaat", "[]", i - 1, None)
    if kind in (5, 10):
        return ("afgewezen", "[]", None, "spam")
    return ("geaccepteerd", json.dumps(rng.sample(THEMES, 2)), None, "besproken; goed idee" if kind == 15 else None)


def child(db: str, fmt: str, per_theme: bool, pseudonymize: bool) -> None:
    """Run one export and print its figures as JSON (in its own process, for an honest peak RSS)."""
    options = ExportOptions(format=fmt, per_theme=per_theme, pseudonymize=pseudonymize)
    with Store(db) as store, tempfile.TemporaryFile() as out:
        start, cpu = time.perf_counter(), time.process_time()
        rows = write_export(store, options, out, labels=LABELS, secret=SECRET if pseudonymize else None)
        seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
        size = out.tell()
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"rows": rows, "seconds": seconds, "cpu": cpu, "peak_mb": peak_mb, "bytes": size}))


def run(db: Path, fmt: str, per_theme: bool = False, pseudonymize: bool = False) -> dict:
    args = [sys.executable, __file__, "--child", fmt, "--db", str(db)] + (["--per-theme"] if per_theme else []) \
        + (["--pseudonymize"] if pseudonymize else [])
    return json.loads(subprocess.run(args, check=True, capture_output=True, text=True).stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--xlsx-rows", type=int, default=100_000)
    parser.add_argument("--db", type=Path, default=None)
    parser.add_argument("--child", choices=["csv", "xlsx"])
    parser.add_argument("--per-theme", action="store_true")
    parser.add_argument("--pseudonymize", action="store_true")
    args = parser.parse_args()
    if args.child:
        return child(str(args.db), args.child, args.per_theme, args.pseudonymize)
    print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}")
    for label, rows, fmt, per_theme, pseudonymize in (
            ("CSV excel-nl", args.rows, "csv", False, False),
            ("CSV excel-nl --per-theme", args.rows, "csv", True, False),
            ("CSV excel-nl --pseudonymize", args.rows, "csv", False, True),
            ("XLSX", args.xlsx_rows, "xlsx", False, False)):
        db = args.db or Path(tempfile.gettempdir()) / f"harvester-export-bench-{rows}.db"
        if not db.exists():
            print(f"building {db} with {rows:,} posts (kept for the next run) ...", flush=True)
            start = time.perf_counter()
            build(db, rows)
            print(f"  built in {time.perf_counter() - start:.0f} s")
        result = run(db, fmt, per_theme, pseudonymize)
        print(f"{label}: {result['rows']:,} rows in {result['seconds']:.1f} s = "
              f"{result['rows'] / result['seconds']:,.0f} rows/s ({result['rows'] / result['cpu']:,.0f} per CPU second), "
              f"{result['bytes'] / 1e6:.0f} MB written, "
              f"peak RSS {result['peak_mb']:.0f} MB; load average {os.getloadavg()[0]:.1f}", flush=True)


if __name__ == "__main__":
    main()
