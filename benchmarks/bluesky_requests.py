"""Search requests the Bluesky collector spends per tag, next to the bound ceil(N/100) + 1.

    .venv/bin/python benchmarks/bluesky_requests.py [--sizes 0,1,99,100,101,250,1000]

For each N: a fake Bluesky service on 127.0.0.1 (tests/bluesky_fake.py: sessions, searchPosts with
an offset cursor that is there only while more posts follow, RateLimit-* headers) holds N posts
carrying both configured tags, one a minute (so each of the two per-tag searches finds all N, and
the ten minutes of overlap below the newest post hold ten of them). A fresh database
backfills them (first run), runs again with nothing new (repeat), then N more posts arrive and a
third run fetches them (new). Counted: searchPosts requests per tag, and sign-ins (createSession)
over the three runs, which share one process as under `harvester run`.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from harvester.collectors import bluesky  # noqa: E402
from harvester.collectors.http import Fetcher  # noqa: E402
from harvester.config import load_config  # noqa: E402
from harvester.jobs.harvest import run_source  # noqa: E402
from harvester.store import Store  # noqa: E402
from tests.bluesky_fake import FakeBluesky, make_post  # noqa: E402
from tests.localserver import LocalServer  # noqa: E402

TEXT = "Een idee #innoverheid #lanceerplatform"


def measure(n: int, workdir: Path) -> tuple[int, int, int, int, int]:
    """(posts stored, first, repeat and new-run searches per tag, sign-ins) for N posts."""
    server = LocalServer().start()
    bluesky.forget_sessions()
    try:
        fake = FakeBluesky(server)
        now = datetime.now(UTC)
        fake.add(*(make_post(f"3l{i:06d}", text=TEXT, created_at=now - timedelta(days=2, minutes=i)) for i in range(n)))
        config_path = workdir / f"bench-{n}.toml"
        config_path.write_text(
            f'[harvest]\ntags = ["innoverheid", "lanceerplatform"]\nmax_pages = 1000\n'
            f'[database]\npath = "{workdir / f"bench-{n}.db"}"\n'
            f'[[sources]]\nname = "bsky"\ntype = "bluesky"\nservice = "{fake.url}"\n'
            'handle_env = "BENCH_HANDLE"\napp_password_env = "BENCH_PASSWORD"\n', encoding="utf-8")
        config = load_config(config_path)
        counts = []
        with Store(config.db_path) as store, Fetcher(config.harvest) as fetcher:
            for step in ("first", "repeat", "new"):
                if step == "new":
                    fake.add(*(make_post(f"3m{i:06d}", text=TEXT, created_at=datetime.now(UTC) - timedelta(minutes=i + 1))
                               for i in range(n)))
                before = len(fake.calls("app.bsky.feed.searchPosts"))
                run_source(store, config, config.sources[0], fetcher)
                counts.append((len(fake.calls("app.bsky.feed.searchPosts")) - before) // len(config.tags))
            stored = store.posts.count()
        return stored, *counts, len(fake.calls("com.atproto.server.createSession"))
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="0,1,99,100,101,250,1000")
    args = parser.parse_args()
    os.environ["BENCH_HANDLE"] = "harvester.bsky.social"
    os.environ["BENCH_PASSWORD"] = "abcd-efgh-ijkl-mnop"
    print(f"{'N':>6} {'bound':>6} {'backfill':>9} {'repeat':>7} {'+N new':>7} {'sign-ins':>9} {'stored':>7}")
    with tempfile.TemporaryDirectory() as tmp:
        for n in (int(s) for s in args.sizes.split(",")):
            stored, first, repeat, new, sign_ins = measure(n, Path(tmp))
            print(f"{n:>6} {math.ceil(n / 100) + 1:>6} {first:>9} {repeat:>7} {new:>7} {sign_ins:>9} {stored:>7}")


if __name__ == "__main__":
    main()
