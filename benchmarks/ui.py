"""Review-app speed on a large database: p50/p95 of queue pages under each filter, search and a review action.

    .venv/bin/python benchmarks/ui.py [--posts 1000000] [--db /tmp/harvester-bench-ui.db] [--samples 40]

Fills the database once (synthetic Dutch texts, classifications for every post with a score per
theme, ~10% reviewed), reusing it on the next run when it already holds that many posts; then
serves the real app with uvicorn on 127.0.0.1 and times real HTTP requests, logged in as an editor.
Every page carries its totals ("12 van 140 beoordeeld"): counted within the page while cheap, else
in the background (harvester/web/totals.py), so the first samples of a large filter also start
that count beside them.
Figures and the machine go into docs/benchmarks.md ("Review-app").
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from harvester.config import load_config  # noqa: E402
from harvester.store import Store  # noqa: E402
from harvester.web import ServerThread  # noqa: E402
from harvester.web.auth import hash_password  # noqa: E402

THEMES = ["cultuur", "samenwerking", "structuur", "open_overheid", "leiderschap", "publieke_waarde",
          "medewerkers", "bestuurders"]
SOURCES = ["mastodon-nl", "social-overheid-nl", "mastodon-social", "ambtenaar20-blog", "ibestuur-feed"]
WORDS = """
gemeente overheid ambtenaar burger inwoner idee innovatie samenwerking cultuur open data transparantie
leiderschap bestuurder wethouder raad provincie rijk ministerie beleid uitvoering dienstverlening
digitaal platform netwerk kennis delen leren experiment ruimte vertrouwen regels bureaucratie
participatie wijk buurt initiatief project team organisatie medewerker manager directeur verandering
toekomst publieke waarde maatschappij opgave zorg onderwijs veiligheid wonen energie klimaat mobiliteit
vergunning aanvraag formulier loket website app informatie openbaarheid wet privacy algoritme ethiek
werken thuiswerken flexibel hybride vakmanschap talent jong ambtenaren trainee opleiding coaching
bestuur politiek verkiezing raadslid gemeenteraad college burgemeester verantwoording controle
begroting geld subsidie aanbesteding inkoop leverancier markt bedrijf ondernemer startup lab
hackathon pilot proeftuin living lab innovatieteam challenge wedstrijd prijs charter manifest
moet kan zou willen graag beter sneller eenvoudiger samen minder meer nieuwe goede grote kleine
""".split()
FILLER = "de het een en van in op voor met dat die niet is zijn we ons je wat als ook nog maar om door bij".split()
COMPOUND_HEADS = ["burger", "gemeente", "data", "kennis", "werk", "zorg", "beleid", "dienst", "wijk", "team"]
COMPOUND_TAILS = ["platform", "loket", "raad", "netwerk", "plan", "agenda", "traject", "portaal", "budget", "lab"]


def _text(rng: random.Random) -> str:
    words = []
    for _ in range(rng.randint(18, 45)):
        r = rng.random()
        if r < 0.45:
            words.append(rng.choice(FILLER))
        elif r < 0.9:
            # Zipf-like: early words in the list are common, later ones rare
            words.append(WORDS[min(int(rng.paretovariate(1.1)) - 1, len(WORDS) - 1) if rng.random() < 0.5
                               else rng.randrange(len(WORDS))])
        else:
            words.append(rng.choice(COMPOUND_HEADS) + rng.choice(COMPOUND_TAILS) + str(rng.randrange(2000)))
    return " ".join(words).capitalize() + ". #innoverheid"


def fill(store: Store, posts: int, seed: int = 7) -> None:
    """Bulk-load `posts` synthetic posts with sightings, classifications, scores and some reviews."""
    rng = random.Random(seed)
    db = store.db
    conn = db.conn
    triggers = [r[0] for r in conn.execute("SELECT sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'posts'")]
    names = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'posts'")]
    now = "2026-11-23T12:00:00.000+00:00"
    with store.atomic():
        for name in names:
            conn.execute(f"DROP TRIGGER {name}")
        for name in SOURCES:
            store.sources.sync(name, "mastodon", f"https://{name}.example")
        source_ids = [store.sources.get(n).id for n in SOURCES]
        conn.executemany("INSERT INTO authors (id, key, display_name) VALUES (?, ?, ?)",
                         [(i, f"user{i}@example.org", f"Gebruiker {i}") for i in range(1, 20_001)])
        conn.execute("INSERT INTO users (id, name, role, password_hash, created_at) VALUES (1, 'bench', 'redacteur', ?, ?)",
                     [hash_password("benchmark-wachtwoord"), now])
    start = 1_735_689_600  # 2025-01-01
    span = 2 * 365 * 86400 - 40 * 86400
    batch = 50_000
    t0 = time.perf_counter()
    for first in range(1, posts + 1, batch):
        rows, sightings, classes, scores, reviews, events = [], [], [], [], [], []
        for i in range(first, min(first + batch, posts + 1)):
            text = _text(rng)
            ts = start + int(span * i / posts) + rng.randrange(-86400 * 3, 86400 * 3)
            published = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(ts))
            r = rng.random()
            lang = "nl" if r < 0.9 else ("en" if r < 0.98 else "de")
            rows.append((i, f"https://example.org/@u/{i}", "mastodon", f"https://example.org/@u/{i}",
                         f"<p>{text}</p>", text, lang, rng.randrange(1, 20_001), published, f"h{i}", now, now, now))
            sightings.append((i, rng.choice(source_ids), str(i), now, now))
            theme_scores = {t: round(rng.random() ** 3, 3) for t in THEMES}
            top = rng.choice(THEMES)
            theme_scores[top] = round(0.5 + rng.random() / 2, 3)
            confidence = round(rng.random(), 4)
            classes.append((i, "bench-1", lang, int(lang == "nl"), confidence,
                            json.dumps({top: ["samenwerking", "open data"]}), now))
            scores += [(i, t, s, int(s >= 0.5)) for t, s in theme_scores.items()]
            r = rng.random()
            if r < 0.10:
                status = "geaccepteerd" if r < 0.06 else ("afgewezen" if r < 0.09 else "duplicaat")
                themes = json.dumps([top] if status == "geaccepteerd" else [])
                reviews.append((i, status, themes, "spam" if status == "afgewezen" else None,
                                max(1, i - 1) if status == "duplicaat" else None, 1, 1, now))
                events.append((i, 1, "bench", now, "accept", json.dumps({"status": "nieuw"}),
                               json.dumps({"status": status})))
        with store.atomic():
            conn.executemany(
                "INSERT INTO posts (id, key, kind, url, content_html, text, language, author_id, published_at,"
                " content_hash, first_seen_at, last_seen_at, changed_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)", rows)
            conn.executemany("INSERT INTO sightings (post_id, source_id, remote_id, first_seen_at, last_seen_at)"
                             " VALUES (?,?,?,?,?)", sightings)
            conn.executemany("INSERT INTO classifications (post_id, model_version, language, is_dutch, confidence,"
                             " reasons, post_changed_at) VALUES (?,?,?,?,?,?,?)", classes)
            conn.executemany("INSERT INTO post_themes (post_id, theme, score, assigned) VALUES (?,?,?,?)", scores)
            conn.executemany("INSERT INTO reviews (post_id, status, themes, reject_reason, duplicate_of, version,"
                             " updated_by, updated_at) VALUES (?,?,?,?,?,?,?,?)", reviews)
            conn.executemany("INSERT INTO review_events (post_id, user_id, actor, at, action, before, after)"
                             " VALUES (?,?,?,?,?,?,?)", events)
        print(f"  {min(first + batch - 1, posts):>9,} posts  {time.perf_counter() - t0:6.1f} s", file=sys.stderr)
    with store.atomic():
        conn.execute("INSERT INTO posts_fts (posts_fts) VALUES ('rebuild')")
        conn.execute("DELETE FROM posts_fts_lemmas")
        conn.execute("INSERT INTO posts_fts_lemmas (rowid, lemmas) SELECT id, harvester_lemmas(title, text) FROM posts")
        for sql in triggers:
            conn.execute(sql)
    conn.execute("ANALYZE")
    conn.commit()
    print(f"  filled in {time.perf_counter() - t0:.1f} s", file=sys.stderr)


def cached_database(path: Path, posts: int, prepare: Callable[[Store], None] = lambda store: None) -> None:
    """Make `path` a database of `posts` synthetic posts (`fill`, then `prepare`), unless it already is one.

    Filling takes minutes, so the benchmarks keep the file between runs and work on a copy.
    """
    with Store(path) as store:
        if store.posts.count() == posts:
            return
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    with Store(path) as fresh:
        fill(fresh, posts)
        prepare(fresh)
        fresh.db.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=1_000_000)
    parser.add_argument("--db", default=str(Path(tempfile.gettempdir()) / "harvester-bench-ui.db"))
    parser.add_argument("--samples", type=int, default=40)
    args = parser.parse_args()

    db_path = Path(args.db).resolve()   # the config file below names it; relative would be to that file
    with Store(db_path) as store:
        have = store.posts.count()
        if have != args.posts:
            if have:
                sys.exit(f"{db_path} holds {have} posts, not {args.posts}: remove it first")
            print(f"filling {db_path} with {args.posts:,} posts ...", file=sys.stderr)
            fill(store, args.posts)

    config_file = db_path.with_suffix(".toml")
    config_file.write_text(
        f'[database]\npath = "{db_path}"\n[nlp]\nthemes = "{Path(__file__).resolve().parent.parent / "config/themes.toml"}"\n')
    config = load_config(config_file)
    server = ServerThread(config).start()
    rng = random.Random(3)
    try:
        with httpx.Client(base_url=server.url, timeout=30) as c:
            page = c.get("/login")
            token = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
            c.post("/login", data={"csrf": token, "name": "bench", "password": "benchmark-wachtwoord"})
            csrf = re.search(r'name="csrf" value="([^"]+)"', c.get("/").text).group(1)

            def timed_get(url: str) -> tuple[float, str]:
                t = time.perf_counter()
                r = c.get(url)
                elapsed = (time.perf_counter() - t) * 1000
                assert r.status_code == 200, (url, r.status_code)
                return elapsed, r.text

            scenarios = {
                "nieuw, nieuwste eerst (standaard)": "/",
                "nieuw, minst zeker eerst": "/?sort=confidence",
                "status geaccepteerd": "/?status=geaccepteerd",
                "status afgewezen": "/?status=afgewezen",
                "status duplicaat": "/?status=duplicaat",
                "alle statussen": "/?status=alle",
                "thema (cultuur)": "/?status=alle&theme=cultuur",
                "thema + nieuw + minst zeker": "/?theme=leiderschap&sort=confidence",
                "bron": "/?status=alle&source=ibestuur-feed",
                "taal en": "/?status=alle&lang=en",
                "datumbereik (1 maand)": "/?status=alle&from=2026-03-01&to=2026-03-31",
                "zoeken: veel voorkomend woord (gemeente)": "/?status=alle&q=gemeente",
                "zoeken: minder voorkomend woord (hackathon)": "/?status=alle&q=hackathon",
                "zoeken: zeldzaam woord (enkele posts)": "/?status=alle&q=wijkloket123",
                "zoeken zeldzaam, minst zeker eerst": "/?status=alle&q=wijkloket123&sort=confidence",
                "zoeken: twee woorden": "/?status=alle&q=open+data",
                "zoeken + nieuw + thema": "/?q=burger&theme=cultuur",
                "zoeken: vorm van een woord (gemeenten)": "/?status=alle&q=gemeenten",
                "zoeken: OR": "/?status=alle&q=hackathon+OR+proeftuin",
                "zoeken: NOT (-woord)": "/?status=alle&q=hackathon+-gemeente",
                "zoeken: zin": "/?status=alle&q=%22open+data%22",
                "zoeken: begin van een woord (wijk*)": "/?status=alle&q=wijkloket1*",
            }
            results = []
            for label, url in scenarios.items():
                samples = []
                for n in range(args.samples):
                    elapsed, text = timed_get(url)
                    samples.append(elapsed)
                    # every other sample: the next page (keyset cursor) instead of the first
                    found = re.search(r'href="(/\?[^"]*after=[^"]*)" rel="next"', text)
                    if found and n % 2 == 0:
                        elapsed, _ = timed_get(found.group(1).replace("&amp;", "&"))
                        samples.append(elapsed)
                items = text.count('<article class="item')  # of the last page seen
                results.append((label, *percentiles(samples), items))
            # deep paging: follow the cursor 40 pages down
            url, samples = "/?status=alle", []
            for _ in range(40):
                elapsed, text = timed_get(url)
                samples.append(elapsed)
                url = re.search(r'href="(/\?[^"]*after=[^"]*)" rel="next"', text).group(1).replace("&amp;", "&")
            results.append(("doorbladeren tot pagina 40", *percentiles(samples), 25))
            # review action: accept a random new post (as the keyboard does: fetch, new rendering back)
            samples = []
            ids = [int(x) for x in re.findall(r'data-id="(\d+)"', c.get("/?sort=confidence").text)]
            for _ in range(args.samples * 2):
                post_id = rng.randrange(1, args.posts + 1)
                if post_id in ids:
                    continue
                html = c.get(f"/posts/{post_id}").text
                version = re.search(r'data-version="(\d+)"', html).group(1)
                t = time.perf_counter()
                r = c.post(f"/posts/{post_id}/decision", headers={"X-Requested-With": "fetch"},
                           data={"csrf": csrf, "version": version, "action": "accept", "next": "/"})
                samples.append((time.perf_counter() - t) * 1000)
                assert r.status_code == 200, r.text[:200]
            results.append(("beslissing (accepteren)", *percentiles(samples), 1))
            t = time.perf_counter()
            c.get("/overzicht")
            overview_ms = (time.perf_counter() - t) * 1000
    finally:
        server.stop()

    print(f"\nReview app, {args.posts:,} posts; {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} cores, Python {platform.python_version()}, SQLite {__import__('sqlite3').sqlite_version}")
    print(f"{'scenario':<44} {'p50 ms':>8} {'p95 ms':>8} {'items':>6}")
    for label, p50, p95, items in results:
        print(f"{label:<44} {p50:8.1f} {p95:8.1f} {items:>6}")
    print(f"{'overzicht (één keer)':<44} {overview_ms:8.1f}")


if __name__ == "__main__":
    main()
