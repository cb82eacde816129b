"""Initiatives: matching speed (posts/s) and the "Initiatieven" pages on the review app's 1M-post database.

    .venv/bin/python benchmarks/initiatives.py [--match 100000] [--posts 1000000]
        [--db /tmp/harvester-bench-initiatives.db] [--samples 40]

1. Matching alone (harvester.initiatives.matching, pure): `--match` synthetic posts in the way
   civil servants write, a third naming one or more of the packaged initiatives, with hashtags,
   mentions and links; posts/s for the initiatives and the candidate terms together.
2. The step on the large database: the review-app benchmark's database (benchmarks/ui.py), with
   initiatives named in 12% of its posts, matched from scratch (read, match, write, summarise).
3. The pages over real HTTP on that database, logged in as an editor: p50 and p95 of the list
   with its network, an initiative's first and next page, and the candidates.
Figures and the machine go into docs/benchmarks.md ("Initiatieven").
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import re
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.ui import cached_database, percentiles  # noqa: E402
from harvester.config import DEFAULTS, Config, load_config  # noqa: E402
from harvester.initiatives import step  # noqa: E402
from harvester.initiatives.catalogue import load_catalogue  # noqa: E402
from harvester.initiatives.matching import Matcher, PostFacts  # noqa: E402
from harvester.store import Store  # noqa: E402
from harvester.web import ServerThread  # noqa: E402

NAMED = ["het Slimmernetwerk Café", "de Ynnovators", "Ambtenaar 2.0", "#BeterWerken", "de Doetank", "PUUR",
         "de VOM-dag", "Kennisland", "de Stampijfabriek", "Ambtenaren Netwerk Nederland", "de Burgemeesteracademie",
         "#ambtenaar20", "Serious Ambtenaar", "het Lanceerplatform"]
OTHERS = ["de Grand Parade", "Open State Foundation", "het Huis van Thorbecke", "de Mijn Wijk App", "Code for NL",
          "het Netwerk Publieke Dienstverlening", "#waardevolwerken", "#digitaleoverheid", "#opendata"]
OPENINGS = ["Gisteren bij", "Vandaag met", "Mooie sessie met", "Net terug van", "Wie gaat er ook naar",
            "Dank aan", "Interessant gesprek met collega's van", "Volgende week presenteren we bij"]
MIDDLES = ["over ruimte voor de professional", "over experimenteren binnen de regels", "over open data in de wijk",
           "over samenwerken buiten de eigen koker", "over het charter innovatieve overheid",
           "over minder plannen en meer doen", "over leiderschap dat ruimte geeft"]
CLOSINGS = ["Wie doet er mee?", "Meer volgt.", "Lees het verslag op", "Slides staan online:", "Graag jullie reactie!"]
LINKS = ["https://www.kl.nl/projecten/", "https://www.grandparade.example/", "https://gemeente.example/nieuws/1",
         "https://www.youtube.com/watch?v=x", "https://blog.example/charter"]


def synthetic_posts(n: int, seed: int = 18) -> list[PostFacts]:
    rng = random.Random(seed)
    posts = []
    for i in range(n):
        named = rng.sample(NAMED, rng.choice([1, 1, 2, 3])) if rng.random() < 0.33 else []
        other = [rng.choice(OTHERS)] if rng.random() < 0.3 else []
        subjects = named + other or ["de collega's van de gemeente"]
        links = [rng.choice(LINKS)] if rng.random() < 0.4 else []
        text = (f"{rng.choice(OPENINGS)} {' en '.join(subjects)} {rng.choice(MIDDLES)}. {rng.choice(CLOSINGS)} "
                f"{' '.join(links)} #innoverheid")
        tags = tuple(t.lower() for t in re.findall(r"#(\w+)", text))
        mentions = (f"user{rng.randrange(500)}@mastodon.nl",) if rng.random() < 0.2 else ()
        posts.append(PostFacts(i, text, tags, mentions, tuple(links), f"user{rng.randrange(20_000)}@example.org"))
    return posts


def bench_matching(n: int) -> float:
    matcher = Matcher(load_catalogue(DEFAULTS / "initiatives.toml"), ["innoverheid", "lanceerplatform"])
    posts = synthetic_posts(n)
    started = time.perf_counter()
    found = 0
    for post in posts:
        found += len(matcher.read(post)[0])
    seconds = time.perf_counter() - started
    print(f"matching: {n:,} posts in {seconds:.2f} s = {n / seconds:,.0f} posts/s ({found:,} matches)")
    return n / seconds


def name_initiatives(store: Store) -> None:
    """Append a sentence naming initiatives to 12% of the posts (the benchmark texts name none)."""
    rng = random.Random(5)
    conn = store.db.conn
    rows = []
    for (post_id,) in conn.execute("SELECT id FROM posts"):
        if rng.random() < 0.12:
            named = rng.sample(NAMED, rng.choice([1, 1, 2, 3])) + ([rng.choice(OTHERS)] if rng.random() < 0.3 else [])
            rows.append((f" Samen met {' en '.join(named)}.", post_id))
    with store.atomic():
        conn.executemany("UPDATE posts SET text = text || ? WHERE id = ?", rows)
    print(f"  {len(rows):,} posts name initiatives", file=sys.stderr)


def config_for(db_path: Path) -> Config:
    """The default config on `db_path` (the packaged initiatives, themes and tags), written beside it."""
    toml = db_path.with_suffix(".toml")
    toml.write_text(f'[database]\npath = "{db_path}"\n'
                    f'[nlp]\nthemes = "{Path(__file__).resolve().parent.parent / "config/themes.toml"}"\n')
    return load_config(toml)


def matched(store: Store, config: Config) -> None:
    """Posts naming initiatives, matched and summarised: what a forget or a purge then counts anew."""
    name_initiatives(store)
    started = time.perf_counter()
    result = step.update(store, config)
    print(f"  matched {result.matched:,} posts in {time.perf_counter() - started:.0f} s", file=sys.stderr)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--match", type=int, default=100_000)
    parser.add_argument("--posts", type=int, default=1_000_000)
    parser.add_argument("--db", default=str(Path(tempfile.gettempdir()) / "harvester-bench-initiatives.db"))
    parser.add_argument("--samples", type=int, default=40)
    args = parser.parse_args()
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cpus, "
          f"load {os.getloadavg()[0]:.1f}, python {platform.python_version()}")

    bench_matching(args.match)

    db_path = Path(args.db).resolve()
    cached_database(db_path, args.posts, name_initiatives)
    config = config_for(db_path)
    with Store(db_path) as store:
        if store.initiatives.digest() is None:
            started = time.perf_counter()
            result = step.update(store, config)
            seconds = time.perf_counter() - started
            print(f"step on {args.posts:,} posts (read, match, write, summarise): {seconds:.1f} s = "
                  f"{result.matched / seconds:,.0f} posts/s")
        stats = store.initiatives.stats()
        print(f"  {len(stats)} initiatives, {len(store.initiatives.edges())} edges, "
              f"{sum(s.posts for s in stats):,} matches, {len(store.initiatives.candidates(limit=10_000))} candidates")

    server = ServerThread(config).start()
    try:
        with httpx.Client(base_url=server.url, timeout=30) as c:
            page = c.get("/login")
            token = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
            c.post("/login", data={"csrf": token, "name": "bench", "password": "benchmark-wachtwoord"})

            def timed_get(url: str) -> tuple[float, str]:
                t = time.perf_counter()
                r = c.get(url)
                elapsed = (time.perf_counter() - t) * 1000
                assert r.status_code == 200, (url, r.status_code)
                return elapsed, r.text

            busiest = "/initiatieven/" + re.search(r'<a href="/initiatieven/([^"]+)">', timed_get("/initiatieven")[1]
                                                   .split('id="lijst"')[1]).group(1)
            scenarios = {"Initiatieven (lijst en netwerk)": "/initiatieven",
                         "een initiatief (drukste), eerste pagina": busiest,
                         "een initiatief (Serious Ambtenaar)": "/initiatieven/serious-ambtenaar",
                         "kandidaten": "/initiatieven/kandidaten"}
            print(f"\n{'pagina':<45} {'p50 ms':>8} {'p95 ms':>8}")
            for label, url in scenarios.items():
                samples = []
                for n in range(args.samples):
                    elapsed, text = timed_get(url)
                    samples.append(elapsed)
                    found = re.search(r'<a href="(/initiatieven/[^"?]+\?voor=[^"]+)">Oudere posts', text)
                    if found and n % 2 == 0:
                        samples.append(timed_get(found.group(1).replace("&amp;", "&").replace("%7C", "|"))[0])
                p50, p95 = percentiles(samples)
                print(f"{label:<45} {p50:8.1f} {p95:8.1f}")
    finally:
        server.stop()
    print(f"load afterwards {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
