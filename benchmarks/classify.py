"""Classification throughput: `harvester classify --all` end to end next to the bare `nlp.pipe`.

Fills a fresh SQLite file with N posts (default 100,000) built from the labelled training texts
(with hashtags, mentions, URLs and emoji as posts have them), then measures in one run:

- bare:        `nlp.pipe` of the shipped model in this process (no database, no verdicts)
- end to end:  `classify_pending(include_all=True)`: read, classify in the worker pool, write; with
               the model loaded anew, so that its caches start as cold as the bare run's did
- command:     `harvester classify --all` as a subprocess, wall clock including start-up

Usage: .venv/bin/python benchmarks/classify.py [N] [--workers W]
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from harvester.jobs.classify import classify_pending, default_workers  # noqa: E402
from harvester.models import Post  # noqa: E402
from harvester.nlp import Classifier, load_themes, read_jsonl  # noqa: E402
from harvester.store import Store  # noqa: E402

EXTRAS = ["#innoverheid", "#lanceerplatform", "#OpenOverheid", "#samenwerken", "👍", "🚀",
          "@ambtenaar@social.overheid.nl", "https://www.kl.nl/nieuws/charter", "Lees meer:"]


def make_texts(n: int, seed: int = 1) -> list[str]:
    rng = random.Random(seed)
    base = [text for text, _ in read_jsonl(ROOT / "config" / "training.jsonl")]
    texts = []
    for i in range(n):
        parts = rng.sample(base, rng.choice((1, 1, 2))) + rng.sample(EXTRAS, 2)
        texts.append(f"{' '.join(parts)} ({i})")
    return texts


def fill(store: Store, texts: list[str]) -> None:
    source = store.sources.sync("benchmark", "mastodon", "https://mastodon.example")
    for start in range(0, len(texts), 5_000):
        with store.atomic():
            for i, text in enumerate(texts[start:start + 5_000], start=start):
                store.posts.upsert(Post(key=f"https://mastodon.example/s/{i}", kind="mastodon",
                                        content_html=f"<p>{text}</p>", text=text), source.id)


def cpu_seconds() -> float:
    """User + system time of this process and its finished children (the pool's workers)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("n", nargs="?", type=int, default=100_000)
    parser.add_argument("--workers", type=int, default=default_workers())
    args = parser.parse_args()
    texts = make_texts(args.n)
    words = sum(len(t.split()) for t in texts) / len(texts)
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}; {args.n} posts, {words:.0f} words on average; "
          f"load average before: {os.getloadavg()[0]:.1f} (other processes share the cores)")
    themes = load_themes(ROOT / "config" / "themes.toml")
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bench.db"
        with Store(db) as store:
            started = time.perf_counter()
            fill(store, texts)
            print(f"fill:       {args.n / (time.perf_counter() - started):8,.0f} posts/s (store.posts.upsert)")
        classifier = Classifier.load(None, themes)
        started, cpu = time.perf_counter(), cpu_seconds()
        for _ in classifier.nlp.pipe(texts, batch_size=256):
            pass
        bare = args.n / (time.perf_counter() - started)
        print(f"bare:       {bare:8,.0f} posts/s (nlp.pipe, one process); "
              f"{args.n / (cpu_seconds() - cpu):,.0f} per CPU second")
        classifier = Classifier.load(None, themes)
        with Store(db) as store:
            started, cpu = time.perf_counter(), cpu_seconds()
            done = classify_pending(store, classifier, include_all=True, workers=args.workers)
            end_to_end = done / (time.perf_counter() - started)
            rows = store.db.execute("SELECT count(*) FROM post_themes").fetchone()[0]
            per_cpu = done / (cpu_seconds() - cpu)
        assert done == args.n and rows == args.n * len(themes.ids), (done, rows)
        print(f"end to end: {end_to_end:8,.0f} posts/s (classify_pending --all, {args.workers} workers) "
              f"= {end_to_end / bare:.0%} of bare; {per_cpu:,.0f} per CPU second (parent and workers)")
        config = Path(tmp) / "harvester.toml"
        config.write_text(f'[database]\npath = "{db}"\n[nlp]\nthemes = "{ROOT / "config" / "themes.toml"}"\n',
                          encoding="utf-8")
        started = time.perf_counter()
        subprocess.run([str(ROOT / ".venv" / "bin" / "harvester"), "classify", "--all", "--config", str(config),
                        "--workers", str(args.workers)], check=True, stdout=subprocess.DEVNULL)
        wall = time.perf_counter() - started
        print(f"command:    {args.n / wall:8,.0f} posts/s (`harvester classify --all`, {wall:.1f} s wall incl. start-up)")
    print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
