"""What writers pay per row: harvesting posts, editing them, editors' decisions, verdicts.

    .venv/bin/python benchmarks/writes.py [--posts 20000] [--reviews 5000] [--runs 3]

Each run builds a fresh database in a temporary directory through the store's own interfaces:
`posts.upsert` of new posts (500 per transaction, as a collector's batch, each seen on two
sources), the same posts again with an edited text, `classifications.save_many` of verdicts for
eight themes (500 per call, as `classify`), and `reviews.decide` one decision per transaction (as
the review app: accept, reject, duplicate, note, in turn). Printed: microseconds per row, wall
clock and CPU (this process; SQLite runs in it), the best and the median of the runs.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from harvester.models import Author, Classification, Post  # noqa: E402
from harvester.store import Store  # noqa: E402

THEMES = ["cultuur", "samenwerking", "structuur", "open_overheid", "leiderschap", "publieke_waarde",
          "medewerkers", "bestuurders"]
TEXT = ("Ambtenaren durven experimenteren; de gemeente werkt samen met inwoners aan \"open data\" en "
        "coöperatie, café-overleg, één loket 🚀 innovatie vraagt lef van bestuurders #innoverheid ")


def post(i: int, edit: str = "") -> Post:
    text = f"{TEXT} {i}{edit}"
    return Post(key=f"https://mastodon.example/users/u{i % 1000}/statuses/{i}", kind="mastodon",
                content_html=f"<p>{text}</p>", text=text, url=f"https://mastodon.example/@u{i % 1000}/{i}",
                published_at=f"2013-05-{1 + i % 28:02d}T{i % 24:02d}:00:00+00:00",
                author=Author(f"u{i % 1000}@mastodon.example", f"Gebruiker {i % 1000}"), tags=("innoverheid",))


class Clock:
    def __init__(self) -> None:
        self.wall, self.cpu = time.perf_counter(), time.process_time()

    def per_row(self, rows: int) -> tuple[float, float]:
        return ((time.perf_counter() - self.wall) * 1e6 / rows, (time.process_time() - self.cpu) * 1e6 / rows)


def one_run(directory: Path, posts: int, reviews: int) -> dict[str, tuple[float, float]]:
    figures = {}
    with Store(directory / "harvester.db") as store:
        sources = [store.sources.sync(name, "mastodon", f"https://{name}.example") for name in ("nl", "gov")]
        editor = store.users.add("redacteur", "redacteur", "niet-gebruikt")

        def harvest(edit: str) -> None:
            for start in range(1, posts + 1, 500):
                with store.atomic():
                    for i in range(start, min(start + 500, posts + 1)):
                        for source in sources:
                            store.posts.upsert(post(i, edit), source.id)

        clock = Clock()
        harvest("")
        figures["posts.upsert, new (two sightings)"] = clock.per_row(posts)
        clock = Clock()
        harvest(" (bewerkt)")
        figures["posts.upsert, edited"] = clock.per_row(posts)
        ids = [r[0] for r in store.db.execute("SELECT id FROM posts ORDER BY id")]
        clock = Clock()
        for start in range(0, len(ids), 500):
            store.classifications.save_many([
                (post_id, Classification({t: ((post_id * 7 + n) % 10) / 10 for n, t in enumerate(THEMES)},
                                         tuple(t for n, t in enumerate(THEMES) if (post_id * 7 + n) % 10 >= 5),
                                         {}, "nl", True, 0.8, "bench-1"))
                for post_id in ids[start:start + 500]])
        figures["classifications.save_many (8 themes)"] = clock.per_row(len(ids))
        clock = Clock()
        for n, post_id in enumerate(ids[:reviews]):
            action = ("accept", "reject", "duplicate", "note")[n % 4]
            kwargs = {"accept": {}, "reject": {"reason": "spam"}, "duplicate": {"duplicate_of": ids[-1]},
                      "note": {"note": "besproken; goed idee"}}[action]
            store.reviews.decide(post_id, editor, 0, action, **kwargs)
        figures["reviews.decide (one per transaction)"] = clock.per_row(reviews)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=20_000)
    parser.add_argument("--reviews", type=int, default=5_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}; load average {os.getloadavg()[0]:.1f}")
    results: dict[str, list[tuple[float, float]]] = {}
    for _ in range(args.runs):
        with tempfile.TemporaryDirectory() as directory:
            for name, figure in one_run(Path(directory), args.posts, args.reviews).items():
                results.setdefault(name, []).append(figure)
    for name, figures in results.items():
        walls, cpus = [w for w, _ in figures], [c for _, c in figures]
        print(f"{name}: {min(walls):.0f} µs/row best, {statistics.median(walls):.0f} median wall; "
              f"CPU {min(cpus):.0f} best, {statistics.median(cpus):.0f} median")
    print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
