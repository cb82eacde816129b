"""Related ideas on N posts (default 100,000) and the concept charter of M accepted ideas (default 10,000).

Related ideas: fills a fresh SQLite file with posts built from the labelled training texts (as
benchmarks/classify.py does, so that posts share words as real ones do), times building the index
(`index_pending`: the terms pipeline and the FTS5 writes) and then `related_ideas` for Q random
posts (median, p95, max). Charter: M of them accepted with their themes, one in ten in a group of
three, then `build_charter` and each writer (.md, .odt, .docx) timed, with the file sizes.

Usage: .venv/bin/python benchmarks/movement.py [N] [--accepted M] [--queries Q]
"""

from __future__ import annotations

import argparse
import io
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.classify import fill, make_texts  # noqa: E402
from harvester.charter import build_charter, write_charter  # noqa: E402
from harvester.models import Classification  # noqa: E402
from harvester.nlp import load_themes  # noqa: E402
from harvester.nlp.related import TermExtractor  # noqa: E402
from harvester.related import index_pending, related_ideas  # noqa: E402
from harvester.store import Store  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("n", nargs="?", type=int, default=100_000)
    parser.add_argument("--accepted", type=int, default=10_000)
    parser.add_argument("--queries", type=int, default=200)
    args = parser.parse_args()
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python "
          f"{platform.python_version()}; load average before: {os.getloadavg()[0]:.1f} (shared cores)")
    themes = load_themes(ROOT / "config" / "themes.toml")
    rng = random.Random(7)
    with tempfile.TemporaryDirectory() as tmp, Store(Path(tmp) / "bench.db") as store:
        fill(store, make_texts(args.n))
        # every post its own author, as the search leaves out the post's own author
        store.db.execute("INSERT INTO authors (key) SELECT 'a' || id FROM posts")
        store.db.execute("UPDATE posts SET author_id = (SELECT a.id FROM authors a WHERE a.key = 'a' || posts.id)")
        store.db.conn.commit()
        started = time.perf_counter()
        extractor = TermExtractor()
        loaded = time.perf_counter() - started
        started = time.perf_counter()
        indexed = index_pending(store, extractor)
        build = time.perf_counter() - started
        size = sum(r[0] for r in store.db.execute(
            "SELECT sum(pgsize) FROM dbstat WHERE name LIKE 'related_terms%'")) if _has_dbstat(store) else None
        print(f"related index: {indexed} posts in {build:.1f} s ({indexed / build:,.0f} posts/s), "
              f"pipeline load {loaded:.1f} s" + (f", index {size / 2**20:.0f} MiB" if size else ""))
        ids = [r[0] for r in store.db.execute("SELECT id FROM posts")]
        times, found = [], 0
        for post_id in rng.sample(ids, min(args.queries, len(ids))):
            started = time.perf_counter()
            found += len(related_ideas(store, post_id))
            times.append(1000 * (time.perf_counter() - started))
        times.sort()
        print(f"related_ideas: {len(times)} queries, median {statistics.median(times):.1f} ms, "
              f"p95 {times[int(0.95 * len(times)) - 1]:.1f} ms, max {times[-1]:.1f} ms; "
              f"{found / len(times):.1f} shown per post")

        editor = store.users.add("redacteur", "redacteur", "niet-gebruikt")
        chosen = rng.sample(ids, min(args.accepted, len(ids)))
        ids_by_theme = themes.ids
        with store.atomic():
            for post_id in chosen:
                picked = tuple(rng.sample(ids_by_theme, rng.choice((1, 1, 2))))
                store.classifications.save(post_id, Classification({t: 0.9 for t in picked}, picked, {}, "nl",
                                                                   True, 0.8, "bench"))
                store.reviews.decide(post_id, editor, 0, "accept")
        for k in range(0, len(chosen) // 10 * 3, 3):
            store.groups.group(chosen[k:k + 3], editor)
        started = time.perf_counter()
        charter = build_charter(store, themes)
        built = time.perf_counter() - started
        print(f"charter: {charter.ideas} ideas ({len(chosen)} accepted posts, {len(chosen) // 10} groups of 3)"
              f" gathered in {built:.1f} s")
        for fmt in ("md", "odt", "docx"):
            out = io.BytesIO()
            started = time.perf_counter()
            write_charter(charter, fmt, out)
            print(f"  .{fmt}: written in {time.perf_counter() - started:.1f} s, {len(out.getvalue()) / 2**20:.1f} MiB")


def _has_dbstat(store: Store) -> bool:
    try:
        store.db.execute("SELECT 1 FROM dbstat LIMIT 1")
        return True
    except Exception:
        return False


if __name__ == "__main__":
    main()
