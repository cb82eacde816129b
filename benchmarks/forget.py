"""What forgetting costs: `harvester forget` on a large database, and the harvest-time check per post.

    .venv/bin/python benchmarks/forget.py [--posts 200000] [--db /tmp/harvester-bench-forget.db]

Fills the database with benchmarks/ui.py's synthetic harvest (20,000 authors), gives 2% of the
reviews a note (half of them naming the author to be forgotten), lets 12% of the posts name
initiatives and matches them (benchmarks/initiatives.py), copies it, and forgets one author on
the copy: the search, the removal and the initiatives' recount in one transaction, then `compact` (FTS optimize,
VACUUM, WAL checkpoint) apart, and the recount alone (the summary marked stale, then made anew,
three times). Then the harvest loop's check (`KeepCheck.filter`) on
100,000 posts against 1,000 suppressed authors. Wall and CPU (user+sys) times, and the load
average, because the machine is shared. Figures go into docs/benchmarks.md ("Forget").
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.initiatives import config_for, matched  # noqa: E402
from benchmarks.ui import cached_database  # noqa: E402
from harvester.initiatives.step import summarise_if_stale  # noqa: E402
from harvester.privacy.forget import AuthorRequest, forget  # noqa: E402
from harvester.privacy.hashing import keyed_fingerprint  # noqa: E402
from harvester.privacy.keep import KeepCheck  # noqa: E402
from harvester.models import Author, Post  # noqa: E402
from harvester.store import Store  # noqa: E402

SECRET = b"benchmark-geheim-0123456789"
VICTIM = 4242     # user4242@example.org


def cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def timed(label: str, fn):
    wall, c = time.perf_counter(), cpu()
    result = fn()
    print(f"{label:<44} wall {time.perf_counter() - wall:7.2f} s   cpu {cpu() - c:7.2f} s")
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--posts", type=int, default=200_000)
    parser.add_argument("--db", default="/tmp/harvester-bench-forget.db")
    args = parser.parse_args()
    base = Path(args.db)

    config = config_for(base)
    min_authors = config.initiatives.min_authors

    def notes(store: Store) -> None:
        with store.atomic():
            store.db.execute(
                "UPDATE reviews SET note = CASE WHEN post_id % 10 = 0 THEN 'Lijkt op Gebruiker 4242'"
                " ELSE 'Sterk idee, bespreken' END WHERE post_id % 5 = 0")
        matched(store, config)

    cached_database(base, args.posts, notes)
    copy = base.with_name(base.stem + "-copy.db")
    shutil.copyfile(base, copy)
    print(f"{args.posts:,} posts, {copy.stat().st_size / 1e6:.0f} MB; load average {os.getloadavg()}")
    with Store(copy) as store:
        notes = store.db.execute("SELECT count(*) FROM reviews WHERE note IS NOT NULL").fetchone()[0]
        print(f"notes: {notes:,}; initiative matches: {len(list(store.initiatives.match_rows())):,}")
        request = AuthorRequest(frozenset({f"user{VICTIM}@example.org"}))
        result = timed("forget, dry run (find + count, rolled back)",
                       lambda: forget(store, SECRET, request, min_authors=min_authors, dry_run=True))
        print(f"  {result.counts}")
        timed("forget (find + remove + recount + compact)",
              lambda: forget(store, SECRET, request, min_authors=min_authors))
    with Store(copy) as store:
        timed("compact alone, again (VACUUM dominates)", store.privacy.compact)
        for _ in range(3):   # what an opt-out's caller or a recheck adds once for all it removed
            with store.atomic():
                store.db.execute("UPDATE initiative_matching SET summarised_at = NULL")
            timed("recount alone (stale summary made anew)", lambda: summarise_if_stale(store, min_authors))
    copy.unlink()
    for suffix in ("-wal", "-shm"):
        Path(f"{copy}{suffix}").unlink(missing_ok=True)

    hashes = frozenset(keyed_fingerprint(SECRET, f"user{i}@example.org") for i in range(1, 1001))
    check = KeepCheck(SECRET, hashes, frozenset().intersection)   # no tombstones
    posts = [Post(key=f"https://example.org/users/u{i}/statuses/{i}", kind="mastodon", content_html="", text="",
                  url=f"https://example.org/@u{i}/{i}", mentions=(f"user{i % 3000}@example.org",),
                  author=Author(f"user{i % 20000}@example.org", profile_url=f"https://example.org/@user{i % 20000}"))
             for i in range(100_000)]
    wall, c = time.perf_counter(), cpu()
    kept = check.filter(posts)
    wall, c = time.perf_counter() - wall, cpu() - c
    print(f"harvest-time check, 100,000 posts: {len(posts) - len(kept):,} blocked; "
          f"{wall / len(posts) * 1e6:.1f} µs/post wall, {c / len(posts) * 1e6:.1f} µs/post cpu")
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
