"""harvester forget AUTHOR: nothing of the author remains, and nothing of them is harvested again.

Real parts throughout: a fake Mastodon instance and a feed on 127.0.0.1, the real harvest loop,
the CLI, and the database file itself, searched byte for byte (with its -wal file).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from harvester.cli import main
from harvester.collectors.http import Fetcher
from harvester.config import load_config
from harvester.privacy.forget import acct_from_url, parse_author
from harvester.jobs.harvest import run_sources
from harvester.privacy.hashing import fingerprint, keyed_fingerprint
from harvester.privacy.scrub import REMOVED, Scrubber
from harvester.models import Classification
from harvester.store.privacy import PostText

from .localserver import Reply
from .mastodon_fake import FakeInstance, make_status
from .test_mastodon import sid

SECRET = "geheim-voor-de-tests-0123456789"
NAME = "Anne Vergeetmij"             # her display name
ACCT = "annedv@mastodon.nl"
STORED_ACCT = "annedv@127.0.0.1"     # the instance under test is 127.0.0.1; her statuses' URLs say mastodon.nl
PHRASE = "kwetsbaarzinsnede"         # a word only her posts contain
TAG_FEED = """<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel><title>#innoverheid</title><link>https://mastodon.nl/tags/innoverheid</link>
<item><guid isPermaLink="true">https://mastodon.nl/@annedv/113500000000777000</guid>
<link>https://mastodon.nl/@annedv/113500000000777000</link><pubDate>Thu, 14 Mar 2013 11:42:07 +0000</pubDate>
<description>&lt;p&gt;Via de tagfeed: de {phrase} nogmaals&lt;/p&gt;</description><category>innoverheid</category></item>
<item><guid isPermaLink="true">https://mastodon.nl/@karel/113500000000778000</guid>
<link>https://mastodon.nl/@karel/113500000000778000</link><pubDate>Thu, 14 Mar 2013 12:00:00 +0000</pubDate>
<description>&lt;p&gt;Karel via de tagfeed: loketten dicht&lt;/p&gt;</description><category>innoverheid</category></item>
</channel></rss>""".format(phrase=PHRASE)


@pytest.fixture(autouse=True)
def secret(monkeypatch):
    monkeypatch.setenv("HARVESTER_SECRET", SECRET)


def anne(n: int, text: str, **fields) -> dict:
    return make_status(sid(n), username="annedv", text=text, account={"display_name": NAME}, **fields)


def karel(n: int, text: str, **fields) -> dict:
    return make_status(sid(n), username="karel", text=text, **fields)


def harvested_by(store, config_path: Path):
    """The config file, and a function that harvests every source in it into `store` once."""
    config = load_config(config_path)

    def harvest():
        with Fetcher(config.harvest) as fetcher:   # as `harvester collect`: it compacts after an opt-out
            return {r.source: r for r in run_sources(store, config, config.sources, fetcher)}

    return config_path, harvest


@pytest.fixture
def world(server, write_config, store):
    """Anne's and Karel's posts on a Mastodon instance and a Mastodon tag feed; harvested, classified, reviewed."""
    fake = FakeInstance(server)
    fake.add(
        anne(1, f"Ik vind de {PHRASE} van het loket moet weg voor iedereen"),
        anne(2, "Tweede idee: minder formulieren"),
        karel(3, "Samen met @annedv een pilot gestart", mentions=[
            {"id": "1", "username": "annedv", "acct": "annedv", "url": "https://mastodon.nl/@annedv"}]),
        karel(4, "Eens, goed plan", in_reply_to_id=sid(1)),
    )
    server.route("/tags/innoverheid.rss", Reply(200, TAG_FEED, {"Content-Type": "application/rss+xml"}))
    config_path, harvest = harvested_by(store, write_config(
        f'\n[[sources]]\nname = "nl"\ntype = "mastodon"\ninstance = "{fake.url}"\n'
        f'\n[[sources]]\nname = "tagfeed"\ntype = "feed"\nurl = "{server.url("/tags/innoverheid.rss")}"\n'))
    results = harvest()
    assert results["nl"].counts.new == 4 and results["tagfeed"].counts.new == 2
    ids = dict(store.db.execute("SELECT key, id FROM posts").fetchall())
    for post_id in ids.values():
        store.classifications.save(post_id, Classification(
            {"cultuur": 0.9}, ("cultuur",), {"cultuur": [PHRASE if post_id == ids[uri(1)] else "pilot"]},
            "nl", True, 0.9, "test"))
    user = store.users.add("redactie", "redacteur", "x")
    store.reviews.decide(ids[uri(1)], user, 0, "note", note=f"Mooi idee van {NAME}")
    store.reviews.decide(ids[uri(1)], user, 1, "accept", themes=["cultuur"])
    store.reviews.decide(ids[uri(3)], user, 0, "note",
                         note=f"Vergelijk met {ACCT}: «de {PHRASE} van het loket moet weg» — sterk punt")
    store.reviews.decide(ids[uri(3)], user, 1, "accept", themes=["cultuur"])
    return fake, config_path, harvest, ids


def uri(n: int, username: str | None = None) -> str:
    username = username or ("annedv" if n in (1, 2, 5) else "karel")
    return f"https://mastodon.nl/users/{username}/statuses/{sid(n)}"


def forget(config_path: Path, *args: str):
    return CliRunner().invoke(main, ["--config", str(config_path), "forget", *args])


def raw_bytes(tmp_path: Path) -> bytes:
    db = tmp_path / "harvester.db"
    wal = db.with_name("harvester.db-wal")
    return db.read_bytes() + (wal.read_bytes() if wal.exists() else b"")


def count(store, sql: str, params=()) -> int:
    return store.db.execute(sql, params).fetchone()[0]


def test_forget_removes_everything_of_the_author(world, store, tmp_path):
    fake, config_path, harvest, ids = world
    assert NAME.encode() in raw_bytes(tmp_path) and PHRASE.encode() in raw_bytes(tmp_path)   # the search works
    result = forget(config_path, "@AnneDV@mastodon.nl")
    assert result.exit_code == 0, result.output
    assert "posts verwijderd: 3" in result.output     # two from Mastodon, one from the tag feed
    # her three keys (see `herkend als`), each suppressed
    assert "nieuwe suppressies: 3 kenmerken van de auteur, 3 posts\n" in result.output
    assert {r[0] for r in store.db.execute("SELECT key FROM posts")} == {
        uri(3), uri(4), "https://mastodon.nl/@karel/113500000000778000"}
    assert store.db.execute("SELECT key FROM authors").fetchall() == [("karel@127.0.0.1",)]
    for table in ("sightings", "post_tags", "classifications", "post_themes", "reviews"):
        assert count(store, f"SELECT count(*) FROM {table} WHERE post_id NOT IN (SELECT id FROM posts)") == 0, table
    assert count(store, "SELECT count(*) FROM posts_fts WHERE posts_fts MATCH ?", [PHRASE]) == 0
    # other posts: the structured mention and reply are gone, their author's own words stay
    mentions, reply, text = store.db.execute(
        "SELECT mentions, in_reply_to, text FROM posts WHERE key = ?", [uri(3)]).fetchone()
    assert json.loads(mentions) == [] and "@annedv" in text
    assert store.db.execute("SELECT in_reply_to FROM posts WHERE key = ?", [uri(4)]).fetchone() == (None,)
    # notes: the name, the acct and the quote are scrubbed; the rest of the editor's words stay
    assert store.db.execute("SELECT note FROM reviews WHERE post_id = ?", [ids[uri(3)]]).fetchone() == (
        "Vergelijk met [verwijderd]: «[verwijderd]» — sterk punt",)
    notes = [json.loads(s).get("note") for r in store.db.execute("SELECT before, after FROM review_events")
             for s in r if s]
    assert "Mooi idee van Anne Vergeetmij" not in notes and "[verwijderd]" in notes
    # what is kept: keyed fingerprints, tombstones and counts
    hashes = {keyed_fingerprint(SECRET.encode(), k) for k in (ACCT, STORED_ACCT, "https://mastodon.nl/@annedv")}
    assert set(store.db.execute(
        "SELECT hash FROM suppressions WHERE kind = 'author' AND reason = 'forget'").fetchall()) == {(h,) for h in hashes}
    assert count(store, "SELECT count(*) FROM suppressions WHERE kind = 'post' AND reason = 'forget'") == 3
    actor, post_id, before, after = store.db.execute(
        "SELECT actor, post_id, before, after FROM review_events WHERE action = 'forget'").fetchone()
    assert (actor, post_id, before) == ("system", None, None)
    assert json.loads(after) == {"posts": 3, "authors": 1, "notes": 1, "events": 4, "mentions": 1, "replies": 1,
                                 "links": 0, "suppressions": 3, "tombstones": 3}
    # and the file: not her name, not her acct, not her words, also not in the WAL or a free page
    raw = raw_bytes(tmp_path)
    assert b"loketten dicht" in raw and b"Samen met @annedv" in raw   # what stays is still findable
    for gone in (NAME, ACCT, STORED_ACCT, PHRASE, "minder formulieren", "Vergeetmij"):
        assert gone.encode() not in raw, gone


def test_a_new_harvest_stores_nothing_of_the_author_also_after_a_restart(world, store, tmp_path):
    fake, config_path, harvest, ids = world
    assert forget(config_path, ACCT).exit_code == 0
    fake.add(anne(5, f"Een nieuw idee met {PHRASE}, nooit gezien"))       # not tombstoned: only the author suppression
    results = harvest()
    assert (results["nl"].counts.new, results["nl"].counts.skipped) == (0, 3)
    assert (results["tagfeed"].counts.new, results["tagfeed"].counts.skipped) == (0, 1)
    assert count(store, "SELECT count(*) FROM posts") == 3 and count(store, "SELECT count(*) FROM authors") == 1
    # Karel's posts came again with the mention and the reply: they stay out
    assert store.db.execute("SELECT mentions FROM posts WHERE key = ?", [uri(3)]).fetchone() == ("[]",)
    assert store.db.execute("SELECT in_reply_to FROM posts WHERE key = ?", [uri(4)]).fetchone() == (None,)
    # a new process (the suppression is in the file, not in memory)
    env = {**os.environ, "HARVESTER_SECRET": SECRET}
    done = subprocess.run([str(Path(sys.executable).with_name("harvester")), "--config", str(config_path), "collect"],
                          capture_output=True, text=True, timeout=60, env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "nl: gelukt (0 nieuw" in done.stdout and "3 overgeslagen" in done.stdout
    assert count(store, "SELECT count(*) FROM posts") == 3
    assert NAME.encode() not in raw_bytes(tmp_path) and PHRASE.encode() not in raw_bytes(tmp_path)


# her status and profile as her instance shows them, in capitals, and as another instance shows her
HERS = [f"https://mastodon.nl/@annedv/{sid(1)}", f"https://mastodon.nl/users/annedv/statuses/{sid(2)}",
        "https://mastodon.nl/@annedv", f"https://Mastodon.NL/@AnneDV/{sid(4)}",
        f"https://andere.example/@annedv@mastodon.nl/{sid(5)}"]
HIS = f"https://mastodon.nl/@karel/{sid(3)}"
LINKS = "SELECT links FROM posts WHERE key = ?"


@pytest.fixture
def linked(world, store):
    """`world`, and Karel's status 6, which links to Anne's statuses and profile (HERS) and to his own."""
    fake, _, harvest, _ = world
    fake.add(karel(6, f"Lees {HERS[0]} en {HERS[1]} van {HERS[2]}, ook {HERS[3]} en {HERS[4]}, en {HIS}"))
    assert harvest()["nl"].counts.new == 1
    assert json.loads(store.db.execute(LINKS, [uri(6)]).fetchone()[0]) == [*HERS, HIS]
    return world


def test_links_to_the_authors_statuses_go_at_the_forget_and_stay_out_of_later_harvests(linked, store):
    """Another post's link to her status or profile names her account; the scrub and the keep-check
    of later harvests drop the same links, so a re-harvest does not put back what the forget removed."""
    fake, config_path, harvest, _ = linked
    result = forget(config_path, ACCT)
    assert result.exit_code == 0 and "links: 1" in result.output, result.output
    assert json.loads(store.db.execute(LINKS, [uri(6)]).fetchone()[0]) == [HIS]
    harvest()          # Karel's post is read again, and stored again
    assert json.loads(store.db.execute(LINKS, [uri(6)]).fetchone()[0]) == [HIS]
    fake.add(karel(7, f"Nogmaals {HERS[0]} en {HIS}"))
    assert harvest()["nl"].counts.new == 1
    assert json.loads(store.db.execute(LINKS, [uri(7)]).fetchone()[0]) == [HIS]


def test_export_after_forget_holds_nothing_of_the_author(world, store, tmp_path):
    _, config_path, _, _ = world
    assert forget(config_path, "https://mastodon.nl/@annedv").exit_code == 0
    for fmt in ("csv", "xlsx"):
        out = tmp_path / f"ideeen.{fmt}"
        result = CliRunner().invoke(main, ["--config", str(config_path), "export", "--out", str(out)])
        assert result.exit_code == 0, result.output
        if fmt == "csv":
            text = out.read_text(encoding="utf-8-sig")
            assert "Karel via de tagfeed" in text and "sterk punt" in text
            for gone in (NAME, ACCT, PHRASE, "Vergeetmij", "annedv/statuses"):
                assert gone not in text, gone
        else:
            import zipfile
            with zipfile.ZipFile(out) as z:
                content = b"".join(z.read(n) for n in z.namelist())
            assert b"sterk punt" in content
            assert NAME.encode() not in content and PHRASE.encode() not in content


def export_csv(config_path: Path, tmp_path: Path) -> str:
    out = tmp_path / "ideeen.csv"
    result = CliRunner().invoke(main, ["--config", str(config_path), "export", "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out.read_text(encoding="utf-8-sig")


def test_export_after_an_opt_out_holds_nothing_of_the_author(world, store, tmp_path):
    fake, config_path, harvest, _ = world
    fake.statuses[sid(2)]["account"]["note"] = "<p>#noarchive</p>"
    assert harvest()["nl"].status == "ok"
    text = export_csv(config_path, tmp_path)
    assert "Karel via de tagfeed" in text and "sterk punt" in text
    for gone in (NAME, ACCT, STORED_ACCT, PHRASE, "minder formulieren", "loket moet weg"):
        assert gone not in text, gone


def test_export_after_a_deletion_at_the_source_holds_nothing_of_the_posts(world, store, tmp_path):
    fake, config_path, _, ids = world
    fake.delete(sid(1))
    fake.delete(sid(2))
    result = CliRunner().invoke(main, ["--config", str(config_path), "recheck"])
    assert result.exit_code == 0 and "verwijderd bij de bron: 2" in result.output, result.output
    text = export_csv(config_path, tmp_path)
    assert "Karel via de tagfeed" in text and "sterk punt" in text
    for gone in ("minder formulieren", "loket moet weg", NAME):
        assert gone not in text, gone
    # the author was not forgotten: the editor's mention of her account stays, the quote does not
    assert store.db.execute("SELECT note FROM reviews WHERE post_id = ?", [ids[uri(3)]]).fetchone() == (
        f"Vergelijk met {ACCT}: «[verwijderd]» — sterk punt",)
    raw = raw_bytes(tmp_path)
    assert b"minder formulieren" not in raw and b"Mooi idee van" not in raw


def test_dry_run_counts_and_changes_nothing(world, store, tmp_path):
    _, config_path, _, _ = world
    before = list(store.db.conn.iterdump())
    result = forget(config_path, ACCT, "--dry-run")
    assert result.exit_code == 0, result.output
    assert "Proefdraai: er is niets gewijzigd" in result.output
    assert f"herkend als: {STORED_ACCT}, {ACCT}, https://mastodon.nl/@annedv" in result.output
    assert "posts verwijderd: 3" in result.output and "notities geschoond: 1 in beoordelingen, 4 in de audittrail" in result.output
    assert list(store.db.conn.iterdump()) == before
    assert NAME.encode() in raw_bytes(tmp_path)


def test_missing_secret_is_exit_2_and_changes_nothing(world, store, monkeypatch):
    _, config_path, _, _ = world
    monkeypatch.delenv("HARVESTER_SECRET")
    before = list(store.db.conn.iterdump())
    result = forget(config_path, ACCT)
    assert result.exit_code == 2
    assert "HARVESTER_SECRET" in result.output and "minstens 16 tekens" in result.output
    assert list(store.db.conn.iterdump()) == before


def test_a_harvest_without_the_secret_fails_visibly_once_authors_are_suppressed(world, store, monkeypatch):
    _, config_path, harvest, _ = world
    assert forget(config_path, ACCT).exit_code == 0
    monkeypatch.delenv("HARVESTER_SECRET")
    results = harvest()
    assert {r.status for r in results.values()} == {"failed"}
    status = CliRunner().invoke(main, ["--config", str(config_path), "status"])
    assert "vergeten of afgemelde auteurs" in status.output and "HARVESTER_SECRET" in status.output
    assert count(store, "SELECT count(*) FROM posts") == 3


@pytest.mark.parametrize("author", ["naam@", "@anne@", "https://", "anne@@mastodon.nl", " "])
def test_bad_author_is_exit_2(world, author):
    _, config_path, _, _ = world
    result = forget(config_path, author)
    assert result.exit_code == 2 and "harvester forget:" in result.output, result.output


def test_an_author_with_nothing_stored_is_suppressed_only(world, store):
    fake, config_path, harvest, _ = world
    result = forget(config_path, "nieuwkomer@mastodon.nl")
    assert result.exit_code == 0, result.output
    assert "niets van deze auteur opgeslagen" in result.output
    assert "nieuwe suppressies: 1 kenmerk van de auteur, 0 posts\n" in result.output
    assert count(store, "SELECT count(*) FROM suppressions WHERE kind = 'author'") == 1
    assert count(store, "SELECT count(*) FROM review_events WHERE action = 'forget'") == 1
    fake.add(make_status(sid(9), username="nieuwkomer", text="Mijn eerste idee"))
    assert harvest()["nl"].counts.skipped == 1
    assert count(store, "SELECT count(*) FROM posts WHERE key LIKE '%nieuwkomer%'") == 0


def test_a_pseudonymised_author_is_found_by_the_agreed_key(world, store, tmp_path):
    _, config_path, _, _ = world
    # what the retention job leaves: the key replaced by 'pseudoniem:' + the keyed fingerprint
    store.db.execute(
        "UPDATE authors SET key = ?, display_name = NULL, profile_url = NULL, pseudonymized_at = '2026-01-01'"
        " WHERE key = ?", ["pseudoniem:" + keyed_fingerprint(SECRET.encode(), STORED_ACCT), STORED_ACCT])
    store.db.conn.commit()
    result = forget(config_path, STORED_ACCT)
    assert result.exit_code == 0, result.output
    assert "posts verwijderd: 2" in result.output and "auteursgegevens verwijderd: 1" in result.output
    assert count(store, "SELECT count(*) FROM posts WHERE key LIKE '%users/annedv%'") == 0
    assert count(store, "SELECT count(*) FROM authors WHERE key LIKE 'pseudoniem:%'") == 0
    assert b"minder formulieren" not in raw_bytes(tmp_path)


def anne_opts_out(fake: FakeInstance) -> None:
    """Anne puts #nobot in her bio: every status of hers shows it from now on."""
    for status in fake.statuses.values():
        if status["account"]["username"] == "annedv":
            status["account"]["note"] = "<p>Geen archief graag #NoBot</p>"


def test_an_opt_out_after_storing_removes_the_stored_posts(world, store, tmp_path):
    fake, config_path, harvest, _ = world
    anne_opts_out(fake)
    results = harvest()
    assert results["nl"].status == "ok", results["nl"].error
    assert count(store, "SELECT count(*) FROM posts WHERE key LIKE '%annedv%'") == 0
    assert count(store, "SELECT count(*) FROM authors WHERE key = ?", [STORED_ACCT]) == 0
    assert store.db.execute("SELECT DISTINCT reason FROM suppressions WHERE kind = 'author'").fetchall() == [("optout",)]
    (after,) = store.db.execute("SELECT after FROM review_events WHERE action = 'optout'").fetchone()
    assert json.loads(after)["posts"] == 3 and "annedv" not in after
    assert PHRASE.encode() not in raw_bytes(tmp_path) and NAME.encode() not in raw_bytes(tmp_path)


def test_a_harvest_that_forgot_authors_compacts_the_file_once_after_its_last_source(world, store):
    """VACUUM rewrites the whole file and holds the write lock meanwhile: once per harvest is enough."""
    fake, _, harvest, _ = world
    anne_opts_out(fake)
    statements: list[str] = []
    store.db.conn.set_trace_callback(statements.append)
    try:
        results = harvest()
    finally:
        store.db.conn.set_trace_callback(None)
    assert results["nl"].forgot_authors and list(results) == ["nl", "tagfeed"]
    vacuums = [i for i, sql in enumerate(statements) if sql.strip().upper() == "VACUUM"]
    finished = [i for i, sql in enumerate(statements) if sql.startswith("UPDATE runs SET finished_at")]
    assert len(vacuums) == 1 and len(finished) == 2 and vacuums[0] > finished[-1], (vacuums, finished)


def test_an_opt_out_found_by_recheck_removes_the_stored_posts(world, store, tmp_path):
    fake, config_path, _, _ = world
    fake.statuses[sid(1)]["account"]["noindex"] = True
    result = CliRunner().invoke(main, ["--config", str(config_path), "recheck"])
    assert result.exit_code == 0, result.output
    assert "Afgemelde auteurs vergeten (hun posts verwijderd): 1." in result.output
    assert count(store, "SELECT count(*) FROM posts WHERE key LIKE '%annedv%'") == 0
    assert count(store, "SELECT count(*) FROM review_events WHERE action = 'optout'") == 1
    assert PHRASE.encode() not in raw_bytes(tmp_path)


def optout_seen_by(how: str, config_path: Path, harvest) -> tuple[bool, str]:
    """Let a harvest or `harvester recheck` see Anne's opt-out: whether it succeeded, and what it said."""
    if how == "harvest":
        result = harvest()["nl"]
        return result.status == "ok", result.error or ""
    result = CliRunner().invoke(main, ["--config", str(config_path), "recheck"])
    return result.exit_code == 0, result.output


def optout_counts(store) -> dict:
    """The counts the opt-out's audit row keeps: all that is left of what it did."""
    (after,) = store.db.execute("SELECT after FROM review_events WHERE action = 'optout'").fetchone()
    return json.loads(after)


HER_POSTS = "SELECT key FROM posts WHERE key LIKE '%annedv%' ORDER BY key"   # Karel's keys do not name her
OTHERS = "SELECT key, title, text, content_html, links FROM posts WHERE key NOT LIKE '%annedv%' ORDER BY key"


@pytest.mark.parametrize("how, says", [
    ("harvest", "3 posts van een afgemelde auteur verwijderd, maar zonder suppressie"),    # her posts
    ("recheck", "Afgemelde auteurs vergeten (hun posts verwijderd): 1."),                    # the authors
])
def test_an_opt_out_without_the_secret_removes_her_posts_and_leaves_links_to_her(linked, store, monkeypatch,
                                                                                  how, says):
    """Without the secret no suppression can be written, so the keep-check would let a dropped link
    back in at the next re-read: links in others' posts stay as written (docs/privacy.md, forget).
    Her own posts still go, with their tombstones (a plain hash, no secret needed), and the run says so."""
    fake, config_path, harvest, _ = linked
    monkeypatch.delenv("HARVESTER_SECRET")
    hers = [key for (key,) in store.db.execute(HER_POSTS)]
    others = store.db.execute(OTHERS).fetchall()
    assert len(hers) == 3 and len(others) == 4
    anne_opts_out(fake)
    ok, said = optout_seen_by(how, config_path, harvest)
    assert not ok and says in said and "zonder suppressie" in said and "HARVESTER_SECRET" in said, said
    # her posts are gone, each with a tombstone, and her row; nothing is suppressed of her
    assert store.db.execute(HER_POSTS).fetchall() == []
    assert count(store, "SELECT count(*) FROM authors WHERE key = ?", [STORED_ACCT]) == 0
    assert {h for (h,) in store.db.execute("SELECT hash FROM suppressions WHERE kind = 'post' AND reason = 'optout'")
            } == {fingerprint(key) for key in hers}
    assert count(store, "SELECT count(*) FROM suppressions WHERE kind = 'author'") == 0
    # others' posts keep every link to her, and their words; the structured mention and reply go
    assert json.loads(store.db.execute(LINKS, [uri(6)]).fetchone()[0]) == [*HERS, HIS]
    assert store.db.execute(OTHERS).fetchall() == others
    assert store.db.execute("SELECT mentions FROM posts WHERE key = ?", [uri(3)]).fetchone() == ("[]",)
    assert store.db.execute("SELECT in_reply_to FROM posts WHERE key = ?", [uri(4)]).fetchone() == (None,)
    # and the audit row counts exactly that
    assert optout_counts(store) == {"posts": 3, "authors": 1, "notes": 1, "events": 4, "mentions": 1, "replies": 1,
                                    "links": 0, "suppressions": 0, "tombstones": 3}


@pytest.mark.parametrize("how", ["harvest", "recheck"])
def test_an_opt_out_with_the_secret_drops_links_to_her_from_others_posts(linked, store, how):
    """The counterpart: with the secret she is suppressed, so the links to her go now and stay out."""
    fake, config_path, harvest, _ = linked
    others = store.db.execute(OTHERS).fetchall()
    anne_opts_out(fake)
    ok, said = optout_seen_by(how, config_path, harvest)
    assert ok, said
    assert store.db.execute(HER_POSTS).fetchall() == []
    assert json.loads(store.db.execute(LINKS, [uri(6)]).fetchone()[0]) == [HIS]
    # Karel's words stay; only the links changed
    assert [row[:4] for row in store.db.execute(OTHERS)] == [row[:4] for row in others]
    hashes = {keyed_fingerprint(SECRET.encode(), k) for k in (ACCT, STORED_ACCT, "https://mastodon.nl/@annedv")}
    assert {h for (h,) in store.db.execute("SELECT hash FROM suppressions WHERE kind = 'author' AND reason = 'optout'")
            } == hashes
    assert count(store, "SELECT count(*) FROM suppressions WHERE kind = 'post' AND reason = 'optout'") == 3
    assert optout_counts(store) == {"posts": 3, "authors": 1, "notes": 1, "events": 4, "mentions": 1, "replies": 1,
                                    "links": 1, "suppressions": 3, "tombstones": 3}
    harvest()          # Karel's post is read again: the keep-check leaves the links out as well
    assert json.loads(store.db.execute(LINKS, [uri(6)]).fetchone()[0]) == [HIS]


BLOG = """<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/"><channel><title>Blog</title>
<link>https://blog.example/</link>
<item><guid>https://blog.example/1</guid><link>https://blog.example/1</link><dc:creator>Piet Vergeet</dc:creator>
<title>Idee</title><description>Het pietwoordunieks plan #innoverheid</description></item>
<item><guid>https://blog.example/2</guid><link>https://blog.example/2</link><dc:creator>Redactie</dc:creator>
<title>Ander idee</title><description>Redactie schrijft #innoverheid</description></item>
</channel></rss>"""
ATOM = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>Nieuws</title><id>urn:nieuws</id><updated>2013-03-14T10:00:00Z</updated>
<entry><id>urn:nieuws:1</id><title>Atomidee</title><updated>2013-03-14T10:00:00Z</updated>
<author><name>Els Atoom</name><uri>https://Nieuws.example/Auteurs/Els</uri></author>
<content type="text">De elswoordunieks aanpak #innoverheid</content></entry>
</feed>"""


@pytest.fixture
def feeds(server, write_config, store):
    server.route("/blog.rss", Reply(200, BLOG, {"Content-Type": "application/rss+xml"}))
    server.route("/news.atom", Reply(200, ATOM, {"Content-Type": "application/atom+xml"}))
    config_path, harvest = harvested_by(store, write_config(
        f'\n[[sources]]\nname = "blog"\ntype = "feed"\nurl = "{server.url("/blog.rss")}"\n'
        f'\n[[sources]]\nname = "news"\ntype = "feed"\nurl = "{server.url("/news.atom")}"\n'))
    assert sum(r.counts.new for r in harvest().values()) == 3
    return config_path, harvest


def test_a_feed_author_by_name_and_one_by_profile_url(feeds, store, tmp_path):
    config_path, harvest = feeds
    result = forget(config_path, "piet vergeet")                 # a bare name, found on one site
    assert result.exit_code == 0, result.output
    assert "posts verwijderd: 1 " in result.output and "nieuwe suppressies: 1 kenmerk van de auteur, 1 post\n" in result.output
    result = forget(config_path, "https://nieuws.example/auteurs/els")   # the profile URL, in any case
    assert result.exit_code == 0, result.output
    assert store.db.execute("SELECT key FROM authors").fetchall() == [("Redactie (blog.example)",)]
    results = harvest()
    assert (results["blog"].counts.new, results["blog"].counts.skipped) == (0, 1)
    assert (results["news"].counts.new, results["news"].counts.skipped) == (0, 1)
    raw = raw_bytes(tmp_path)
    for gone in (b"Piet Vergeet", b"pietwoordunieks", b"Els Atoom", b"elswoordunieks", b"Auteurs/Els"):
        assert gone not in raw, gone


def test_a_feed_author_stored_under_an_address_with_a_space_is_forgotten_by_it(server, write_config, store):
    """The feed collector keyed an author by the address their feed gave, as it stood, until it took
    web addresses only (normalize.http_url refuses one with a space). Rows stored before keep that
    key: forget still takes it, or such an author could not be forgotten by the one key stored for them."""
    address = "https://nieuws.example/auteurs/els atoom"
    server.route("/news.atom", Reply(200, ATOM.replace("https://Nieuws.example/Auteurs/Els", address),
                                     {"Content-Type": "application/atom+xml"}))
    config_path, harvest = harvested_by(store, write_config(
        f'\n[[sources]]\nname = "news"\ntype = "feed"\nurl = "{server.url("/news.atom")}"\n'))
    assert harvest()["news"].counts.new == 1
    store.db.execute("UPDATE authors SET key = ? WHERE display_name = 'Els Atoom'", [address])   # as stored before
    store.db.conn.commit()
    result = forget(config_path, address)
    assert result.exit_code == 0, result.output
    assert "posts verwijderd: 1" in result.output
    assert count(store, "SELECT count(*) FROM authors") == 0
    assert harvest()["news"].counts.skipped == 1


def test_a_bare_name_that_is_unknown_or_on_two_sites_is_exit_2(feeds, store):
    config_path, _ = feeds
    result = forget(config_path, "Onbekend Iemand")
    assert result.exit_code == 2 and "'Onbekend Iemand (blog.example.nl)'" in result.output
    store.db.execute("INSERT INTO authors (key, display_name) VALUES ('Redactie (andere.example)', 'Redactie')")
    store.db.conn.commit()
    result = forget(config_path, "Redactie")
    assert result.exit_code == 2 and "meer dan één site" in result.output
    assert "'Redactie (blog.example)'" in result.output
    assert forget(config_path, "Redactie (andere.example)").exit_code == 0
    assert count(store, "SELECT count(*) FROM authors WHERE display_name = 'Redactie'") == 1


def test_author_forms():
    assert parse_author("@Anne@Mastodon.nl").keys == {"anne@mastodon.nl"}
    assert parse_author("https://mastodon.nl/@anne").keys == {"https://mastodon.nl/@anne", "anne@mastodon.nl"}
    assert parse_author("Piet (blog.example)").keys == {"piet (blog.example)"}
    assert parse_author("Piet Jansen").name == "Piet Jansen"
    assert acct_from_url("https://mastodon.nl/users/anne/statuses/1") == "anne@mastodon.nl"
    assert acct_from_url("https://mastodon.nl/@anne@other.social/123") == "anne@other.social"
    assert acct_from_url("https://blog.example/2013/anne") is None


def test_scrubber_finds_names_as_words_and_quotes_of_five_words():
    post = PostText(1, "k", None, "Laat elke nieuwe collega één regel schrappen, zei ze.", None)
    scrub = Scrubber(REMOVED, keys=["jan@mastodon.nl"], names=["Jan"], handles=["jan"], quoted=[post.text])
    assert scrub("JAN zei het, in januari") == "[verwijderd] zei het, in januari"
    assert scrub("zie @jan@mastodon.nl en @jan, niet @jan@elders.nl") == "zie [verwijderd] en [verwijderd], niet @jan@elders.nl"
    assert scrub("Citaat: 'elke nieuwe collega één regel' - mooi") == "Citaat: '[verwijderd]' - mooi"
    assert scrub("een regel schrappen is goed") == "een regel schrappen is goed"     # four words: no quote


def test_scrubber_skips_only_texts_that_cannot_match():
    """The scrubber reads a text with its pattern only when a name could be in it; that check must
    see every spelling the pattern matches ignoring case (also the Turkish dotless ı)."""
    scrub = Scrubber("P", keys=["ilse@mastodon.nl"], names=["Ilse Straße"])
    assert scrub("ILSE STRASSE") == "ILSE STRASSE"    # re matches ß only as ß: neither did before
    assert scrub("Ilse straße en ILSE@Mastodon.NL") == "P en P"
    assert scrub("ılse STRAẞE") == "P"
    assert scrub("niets van haar") == "niets van haar"
    # re also lets the dotted İ match i and I; casefold makes it i plus a combining dot
    dotted = Scrubber("P", keys=["ilker@mastodon.nl"], names=["İlker Yılmaz"])
    assert dotted("Ilker Yilmaz mailen") == "P mailen"
    assert scrub("GROET, İLSE STRAßE") == "GROET, P"


def test_a_display_names_decorations_do_not_hide_the_name():
    """Mastodon display names carry emoji, custom emoji and pronouns that nobody signs with."""
    for display in ("Jan de Vries 🌻", "Jan de Vries (hij/hem)", ":verified: Jan de Vries", "Jan de Vries [gemeente]"):
        scrub = Scrubber("P", names=[display])
        assert scrub("Groet, Jan de Vries") == "Groet, P", display
        assert scrub(f"Groet, {display}") .startswith("Groet, P"), display
    assert Scrubber("P", names=["🌻 Jo 🌻"])("Jo zei het") == "Jo zei het"   # two letters stay too short


def test_a_link_naming_an_account_beyond_ascii_goes_as_well(world, store):
    """Links are stored as ASCII JSON ('ü' as \\u00fc), so the scrub's search for the posts whose
    links name the account cannot find such a name: it reads them all then, and drops the link."""
    fake, config_path, harvest, _ = world
    his = f"https://mastodon.nl/@karel/{sid(3)}"
    fake.add(karel(6, f"Lees https://mastodon.nl/@jürgen/{sid(1)} en {his}"))
    assert harvest()["nl"].counts.new == 1
    result = forget(config_path, "jürgen@mastodon.nl")
    assert result.exit_code == 0 and "links: 1" in result.output, result.output
    assert json.loads(store.db.execute("SELECT links FROM posts WHERE key = ?", [uri(6)]).fetchone()[0]) == [his]
