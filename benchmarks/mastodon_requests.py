"""Timeline requests the Mastodon collector spends, next to the floor ceil(N/40).

    .venv/bin/python benchmarks/mastodon_requests.py [--sizes 0,39,40,100,400,1000]

For each N: a fake instance on 127.0.0.1 (tests/mastodon_fake.py: Mastodon's paging, Link and
rate-limit headers) holds N posts alternating between the two configured tags; a fresh database
backfills them (first run), runs again with nothing new (repeat run), then 100 more posts arrive
and a third run fetches them (new run: newest page, forward walk over the gap, overlap page).
Counts are requests to /api/v1/timelines/tag/ only.
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from harvester.collectors.http import Fetcher  # noqa: E402
from harvester.config import load_config  # noqa: E402
from harvester.jobs.harvest import run_source  # noqa: E402
from harvester.store import Store  # noqa: E402
from tests.localserver import LocalServer  # noqa: E402
from tests.mastodon_fake import FakeInstance, make_status  # noqa: E402

BASE_ID = 113_500_000_000_000_000


def measure(n: int, workdir: Path) -> tuple[int, int, int, int]:
    """(posts stored, first-run requests, repeat-run requests, requests for 100 new) for N posts."""
    server = LocalServer().start()
    try:
        fake = FakeInstance(server)
        fake.add(*(make_status(str(BASE_ID + i * 1000), tags=("innoverheid" if i % 2 else "lanceerplatform",))
                   for i in range(1, n + 1)))
        config_path = workdir / f"bench-{n}.toml"
        config_path.write_text(
            f'[harvest]\ntags = ["innoverheid", "lanceerplatform"]\nmax_pages = 1000\n'
            f'[database]\npath = "{workdir / f"bench-{n}.db"}"\n'
            f'[[sources]]\nname = "nl"\ntype = "mastodon"\ninstance = "{fake.url}"\n',
            encoding="utf-8",
        )
        config = load_config(config_path)
        counts = []
        with Store(config.db_path) as store, Fetcher(config.harvest) as fetcher:
            for step in ("first", "repeat", "new"):
                if step == "new":
                    fake.add(*(make_status(str(BASE_ID + (n + i) * 1000)) for i in range(1, 101)))
                before = len(fake.timeline_requests())
                run_source(store, config, config.sources[0], fetcher)
                counts.append(len(fake.timeline_requests()) - before)
            stored = store.posts.count()
        return stored, *counts
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="0,39,40,100,400,1000")
    args = parser.parse_args()
    print(f"{'N':>6} {'floor':>6} {'backfill':>9} {'bound':>6} {'repeat':>7} {'+100 new':>9} {'stored':>7}")
    with tempfile.TemporaryDirectory() as tmp:
        for n in (int(s) for s in args.sizes.split(",")):
            stored, first, repeat, new = measure(n, Path(tmp))
            floor = math.ceil(n / 40)
            print(f"{n:>6} {floor:>6} {first:>9} {floor + 1:>6} {repeat:>7} {new:>9} {stored:>7}")


if __name__ == "__main__":
    main()
