"""Retention of accepted ideas: after pseudonymize_accepted_after_days their author becomes a pseudonym,
in the rows, the search index, the file, the exports, and for every later harvest."""

from __future__ import annotations

import csv
import json
import sqlite3
from dataclasses import replace

from click.testing import CliRunner

from harvester.cli import main
from harvester.config import load_config
from harvester.initiatives import step
from harvester.nlp.related import TermExtractor
from harvester.related import index_pending
from harvester.privacy.hashing import fingerprint, keyed_fingerprint, pseudonym
from harvester.privacy.keep import KeepCheck
from harvester.privacy.retention import pseudonymize
from harvester.models import Author, Post
from harvester.store import Store
from harvester.store.posts import content_hash

from .localserver import Reply

SECRET = "een-geheime-sleutel-voor-tests-0123456789"
OLD = "2020-01-01T00:00:00.000+00:00"
ACCT = "anna@mastodon.example"
KEY = "https://mastodon.example/users/anna/statuses/1001"
URL = "https://mastodon.example/@anna/1001"
PROFILE = "https://mastodon.example/@anna"
NAME = "Anna de Vries"


def mastodon_post(key: str, url: str, text: str) -> Post:
    html = (f'<p>{text} groet, {NAME} <span class="h-card"><a href="{PROFILE}" class="u-url mention">'
            f'@<span>anna</span></a></span> <a href="{url}">{url}</a></p>')
    return Post(key=key, kind="mastodon", content_html=html, text=f"{text} groet, {NAME} @anna {url}", url=url,
                remote_id=key.rsplit("/", 1)[1], mentions=("anna",), links=(url, "https://idee.example/plan"),
                author=Author(ACCT, display_name=NAME, profile_url=PROFILE))


def add(store, source_id: int, post: Post, *, old: bool) -> int:
    store.posts.upsert(post, source_id)
    post_id = store.db.execute("SELECT id FROM posts WHERE key = ?", [post.key]).fetchone()[0]
    if old:
        store.db.execute("UPDATE posts SET first_seen_at = ? WHERE id = ?", [OLD, post_id])
        store.db.conn.commit()
    return post_id


def accept(store, post_id: int, note: str | None = None) -> None:
    user = store.users.get("redactie") or store.users.add("redactie", "redacteur", "x")
    state = store.reviews.decide(post_id, user, 0, "accept", themes=["cultuur"])
    if note:
        store.reviews.decide(post_id, user, state.version, "note", note=note)


def seed(store, write_config):
    config = write_config("[privacy]\nretention_days = 30\npseudonymize_accepted_after_days = 60\n")
    source = store.sources.sync("mastodon-nl", "mastodon", "https://mastodon.example").id
    ids = {
        "accepted": add(store, source, mastodon_post(KEY, URL, "Samen een loketwoordzeta bouwen"), old=True),
        "rejected": add(store, source, mastodon_post(KEY + "2", URL + "2", "Een afgewezen bericht"), old=True),
        "young": add(store, source, Post(key="https://bob.example/1", kind="mastodon", content_html="<p>Jong idee</p>",
                                         text="Jong idee", author=Author("bob@bob.example", "Bob")), old=False),
    }
    accept(store, ids["accepted"], note=f"Mooi idee van {NAME}")
    accept(store, ids["young"])
    return config, ids


def purge(config, *args, secret: str | None = SECRET):
    return CliRunner().invoke(main, ["--config", str(config), "purge", *args],
                              env={"HARVESTER_SECRET": secret} if secret else {"HARVESTER_SECRET": ""})


def raw_bytes(db) -> bytes:
    wal = db.with_name(db.name + "-wal")
    return db.read_bytes() + (wal.read_bytes() if wal.exists() else b"")


def test_an_old_accepted_idea_keeps_its_text_and_loses_its_author_everywhere(store, write_config, tmp_path):
    config, ids = seed(store, write_config)
    store.db.execute("INSERT INTO classifications (post_id, model_version, is_dutch, confidence, reasons, post_changed_at)"
                     " VALUES (?, 'test', 1, 0.5, ?, ?)", [ids["accepted"], json.dumps({"cultuur": ["vries"]}), OLD])
    store.db.conn.commit()
    # the related-ideas terms and the initiative terms hold the name too, until the purge
    index_pending(store, TermExtractor())
    step.update(store, load_config(config))
    assert "anna" in json.loads(store.db.execute("SELECT terms FROM related_terms WHERE post_id = ?",
                                                 [ids["accepted"]]).fetchone()[0])
    assert store.db.execute("SELECT count(*) FROM post_terms WHERE post_id = ? AND lower(label) LIKE '%vries%'",
                            [ids["accepted"]]).fetchone()[0]
    result = purge(config)
    assert result.exit_code == 0, result.output
    assert "Verwijderd: 1 post ouder dan 30 dagen die nooit is geaccepteerd." in result.output
    for table in ("related_terms", "post_terms", "post_initiatives", "matched_posts"):
        assert store.db.execute(f"SELECT count(*) FROM {table} WHERE post_id = ?", [ids["accepted"]]).fetchone() == (0,)
    assert "Gepseudonimiseerd: 1 geaccepteerde post ouder dan 60 dagen (1 auteur)" in result.output
    secret = SECRET.encode()
    alias = pseudonym(secret, ACCT)
    post = store.db.execute(
        "SELECT p.key, p.url, p.text, p.content_html, p.links, p.mentions, a.key, a.display_name, a.profile_url,"
        " a.pseudonymized_at FROM posts p JOIN authors a ON a.id = p.author_id WHERE p.id = ?",
        [ids["accepted"]]).fetchone()
    key, url, text, html, links, mentions, author_key, display_name, profile_url, pseudonymized_at = post
    # the convention shared with `harvester forget`
    assert author_key == "pseudoniem:" + keyed_fingerprint(secret, ACCT)
    assert (display_name, profile_url) == (alias, None) and pseudonymized_at
    assert key == "pseudoniem:" + keyed_fingerprint(secret, KEY) and url is None
    # the idea stays, the name, the @handle and the addresses do not
    assert text == f"Samen een loketwoordzeta bouwen groet, {alias} {alias} {alias}"
    assert "loketwoordzeta" in html and alias in html and "anna" not in html.lower()
    assert json.loads(links) == ["https://idee.example/plan"] and json.loads(mentions) == [alias]
    assert store.db.execute("SELECT url, remote_id FROM sightings WHERE post_id = ?", [ids["accepted"]]).fetchall() \
        == [(None, None)]
    assert store.db.execute("SELECT note FROM reviews WHERE post_id = ?", [ids["accepted"]]).fetchone() \
        == (f"Mooi idee van {alias}",)
    # the edit-detecting hash is of the words as stored now: the old one would confirm a guessed author
    stored_hash = store.db.execute("SELECT content_hash FROM posts WHERE id = ?", [ids["accepted"]]).fetchone()[0]
    original = mastodon_post(KEY, URL, "Samen een loketwoordzeta bouwen")
    assert stored_hash != content_hash(original)
    assert stored_hash == content_hash(replace(original, text=text, content_html=html))
    # a tombstone of the old key, so no harvest stores the post again under it
    for address in (KEY, URL):   # a Mastodon tag feed names the status by its URL
        assert store.db.execute("SELECT kind, reason FROM suppressions WHERE hash = ?",
                                [fingerprint(address)]).fetchone() == ("post", "pseudonymized")
    # the original author row went with its last post; the young idea of someone else is untouched
    assert store.db.execute("SELECT key FROM authors ORDER BY key").fetchall() == [("bob@bob.example",), (author_key,)]
    assert store.db.execute("SELECT text FROM posts WHERE id = ?", [ids["young"]]).fetchone() == ("Jong idee",)
    # search finds the idea, not the name; the audit trail has counts only
    assert [r[0] for r in store.db.execute("SELECT rowid FROM posts_fts WHERE posts_fts MATCH 'loketwoordzeta'")] \
        == [ids["accepted"]]
    assert store.db.execute("SELECT count(*) FROM posts_fts WHERE posts_fts MATCH 'vries'").fetchone() == (0,)
    assert store.db.execute("SELECT actor, after FROM review_events WHERE action = 'pseudonymize'").fetchall() \
        == [("system", json.dumps({"posts": 1, "authors": 1}))]
    # and after the compaction nothing of the author is left in the file
    raw = raw_bytes(tmp_path / "harvester.db").lower()
    assert b"loketwoordzeta" in raw   # the search below can find what is there
    assert store.db.execute("SELECT reasons FROM classifications WHERE post_id = ?", [ids["accepted"]]).fetchone() \
        == ("{}",)
    for trace in (NAME, ACCT, PROFILE, URL, KEY, "/@anna", "users/anna", "vries", "vriezen"):
        assert trace.lower().encode() not in raw, trace


def test_a_note_naming_the_author_that_was_cleared_since_is_scrubbed_from_the_trail(store, write_config, tmp_path):
    config, ids = seed(store, write_config)
    user = store.users.get("redactie")
    version = store.reviews.state(ids["accepted"]).version
    store.reviews.decide(ids["accepted"], user, version, "note", note="")
    assert store.db.execute("SELECT note FROM reviews WHERE post_id = ?", [ids["accepted"]]).fetchone() == (None,)
    assert purge(config).exit_code == 0
    alias = pseudonym(SECRET.encode(), ACCT)
    notes = {json.loads(state)["note"] for states in store.db.execute(
        "SELECT before, after FROM review_events WHERE post_id = ?", [ids["accepted"]]) for state in states if state}
    assert notes == {None, f"Mooi idee van {alias}"}
    assert NAME.lower().encode() not in raw_bytes(tmp_path / "harvester.db").lower()


def test_the_pseudonym_is_stable_and_only_the_old_posts_of_an_author_get_it(store, write_config):
    config, ids = seed(store, write_config)
    assert purge(config).exit_code == 0
    source = store.sources.get("mastodon-nl").id
    # the same author posts again: a new, young idea keeps the name; once old and accepted, it joins the pseudonym
    second = add(store, source, mastodon_post(KEY + "3", URL + "3", "Nog een idee"), old=False)
    accept(store, second)
    assert purge(config).exit_code == 0
    names = store.db.execute("SELECT key, display_name FROM authors WHERE display_name = ?", [NAME]).fetchall()
    assert names == [(ACCT, NAME)]
    store.db.execute("UPDATE posts SET first_seen_at = ? WHERE id = ?", [OLD, second])
    store.db.conn.commit()
    result = purge(config)
    assert result.exit_code == 0 and "Gepseudonimiseerd: 1 " in result.output
    rows = store.db.execute("SELECT DISTINCT a.id, a.display_name FROM posts p JOIN authors a ON a.id = p.author_id"
                            " WHERE p.id IN (?, ?)", [ids["accepted"], second]).fetchall()
    assert len(rows) == 1 and rows[0][1] == pseudonym(SECRET.encode(), ACCT)
    assert store.db.execute("SELECT count(*) FROM authors WHERE key = ?", [ACCT]).fetchone() == (0,)


def test_dry_run_counts_and_changes_nothing(store, write_config, tmp_path):
    config, ids = seed(store, write_config)
    dump = "\n".join(store.db.conn.iterdump())
    result = purge(config, "--dry-run")
    assert result.exit_code == 0, result.output
    assert "Proefdraai: 1 post ouder dan 30 dagen zou worden verwijderd." in result.output
    assert (f"Proefdraai: 1 geaccepteerde post ouder dan 60 dagen (1 auteur) zou een pseudoniem krijgen.\n"
            f"ids: {ids['accepted']}") in result.output
    assert "\n".join(store.db.conn.iterdump()) == dump


def test_without_the_secret_purge_still_deletes_and_says_the_pseudonyms_failed(store, write_config):
    config, ids = seed(store, write_config)
    dry = purge(config, "--dry-run", secret=None)
    assert dry.exit_code == 0 and "Let op: pseudonimiseren mislukt: 1 geaccepteerde post wacht" in dry.output
    result = purge(config, secret=None)
    assert result.exit_code == 1
    assert "Verwijderd: 1 post ouder dan 30 dagen die nooit is geaccepteerd." in result.output
    assert "pseudonimiseren mislukt: 1 geaccepteerde post wacht op een pseudoniem" in result.output
    assert "zet de omgevingsvariabele HARVESTER_SECRET" in result.output
    assert "Traceback" not in result.output
    assert {r[0] for r in store.db.execute("SELECT id FROM posts")} == {ids["accepted"], ids["young"]}
    assert store.db.execute("SELECT count(*) FROM authors WHERE key = ?", [ACCT]).fetchone() == (1,)
    # recorded, without names, and shown by `harvester status` until a purge succeeds
    assert json.loads(store.db.execute("SELECT after FROM review_events WHERE action = 'pseudonymize'").fetchone()[0]) \
        == {"posts": 0, "authors": 0, "due": 1, "error": "geheime sleutel ontbreekt (HARVESTER_SECRET)"}
    status = CliRunner().invoke(main, ["--config", str(config), "status"]).output
    assert "laatste fout: 1 post niet gepseudonimiseerd: geheime sleutel ontbreekt (HARVESTER_SECRET)" in status
    assert purge(config).exit_code == 0
    status = json.loads(CliRunner().invoke(main, ["--config", str(config), "status", "--json"]).output)["purge"]
    assert (status["deleted"], status["pseudonymized"], status["error"]) == (0, 1, None)


def test_exports_show_the_pseudonym(store, write_config, tmp_path):
    config, ids = seed(store, write_config)
    assert purge(config).exit_code == 0
    alias = pseudonym(SECRET.encode(), ACCT)
    for extra in ([], ["--pseudonymize"]):
        out = tmp_path / "ideeen.csv"
        result = CliRunner().invoke(main, ["--config", str(config), "export", "--out", str(out), "--dialect",
                                           "rfc4180", "--status", "geaccepteerd", *extra],
                                    env={"HARVESTER_SECRET": SECRET})
        assert result.exit_code == 0, result.output
        rows = {int(r["id"]): r for r in csv.DictReader(out.open(encoding="utf-8-sig"))}
        assert rows[ids["accepted"]]["auteur"] == alias and rows[ids["accepted"]]["link"] == ""
        assert "anna" not in out.read_text(encoding="utf-8-sig").lower()


ATOM = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <title>Netwerk</title>
  <id>https://netwerk.example/</id>
  <updated>2026-11-20T10:00:00Z</updated>
  <entry>
    <title>Een idee voor #innoverheid</title>
    <id>https://netwerk.example/ideeen/fatima-el-amrani-1</id>
    <link href="https://netwerk.example/ideeen/fatima-el-amrani-1"/>
    <published>2026-11-20T10:00:00Z</published>
    <updated>2026-11-20T10:00:00Z</updated>
    <author><name>Fatima El Amrani</name><uri>https://netwerk.example/mensen/fatima</uri></author>
    <category term="innoverheid"/>
    <content type="html">&lt;p&gt;Open de begroting, schrijft Fatima El Amrani.&lt;/p&gt;</content>
  </entry>
</feed>"""


def test_a_new_harvest_does_not_store_a_pseudonymised_post_again(server, write_config, tmp_path):
    server.route("/feed.xml", Reply(200, ATOM, {"Content-Type": "application/atom+xml"}))
    config = write_config(f"""
[privacy]
pseudonymize_accepted_after_days = 60

[[sources]]
name = "netwerk"
type = "feed"
url = "{server.url('/feed.xml')}"
""")
    collect = ["--config", str(config), "collect"]
    assert CliRunner().invoke(main, collect).exit_code == 0
    db = tmp_path / "harvester.db"
    with Store(db) as store:
        (post_id,) = store.db.execute("SELECT id FROM posts").fetchone()
        store.db.execute("UPDATE posts SET first_seen_at = ?", [OLD])
        store.db.conn.commit()
        accept(store, post_id)
    assert purge(config).exit_code == 0
    again = CliRunner().invoke(main, collect)
    assert again.exit_code == 0, again.output
    conn = sqlite3.connect(db)
    try:
        assert conn.execute("SELECT id, key LIKE 'pseudoniem:%', text FROM posts").fetchall() == [
            (post_id, 1, f"Open de begroting, schrijft {pseudonym(SECRET.encode(), 'https://netwerk.example/mensen/fatima')}.")]
        assert conn.execute("SELECT count(*) FROM authors WHERE display_name LIKE '%Fatima%'").fetchone() == (0,)
        assert conn.execute("SELECT new, skipped FROM runs ORDER BY id DESC LIMIT 1").fetchone() == (0, 1)
    finally:
        conn.close()


def test_a_pseudonymised_feed_entry_keeps_no_other_entry_with_its_link_out(store):
    """Entries of one feed may share a link (a site's page of ideas): only the key is the entry's own."""
    source = store.sources.sync("blog", "feed", "https://blog.example/feed").id
    link = "https://blog.example/ideeen"
    old = add(store, source, Post(key="https://blog.example/?p=1", kind="feed", url=link, content_html="<p>Oud</p>",
                                  text="Oud idee", author=Author("Jan (blog.example)", display_name="Jan")), old=True)
    accept(store, old)
    assert pseudonymize(store, "2021-01-01T00:00:00.000+00:00", SECRET.encode()).posts == [old]
    again = Post(key="https://blog.example/?p=1", kind="feed", url=link, content_html="<p>Oud</p>", text="Oud idee")
    newer = replace(again, key="https://blog.example/?p=2", text="Nieuw idee")
    assert KeepCheck.load(store, "HARVESTER_SECRET").filter([again, newer]) == [newer]


def test_the_period_must_be_at_least_a_day(write_config):
    config = write_config("[privacy]\npseudonymize_accepted_after_days = 0\n")
    result = CliRunner().invoke(main, ["--config", str(config), "purge"])
    assert result.exit_code == 2 and "privacy.pseudonymize_accepted_after_days: moet minstens 1 en hoogstens 36500" in result.output


def test_the_scrubber_finds_the_author_and_nobody_else():
    from harvester.privacy.pseudonyms import Identity

    scrub = Identity(ACCT, NAME, PROFILE, (URL,)).scrubber("P")
    assert scrub("hoi @anna@mastodon.example, @anna en @anna@elders.example") == "hoi P, P en @anna@elders.example"
    assert scrub(f"{URL} {PROFILE}/2 https://mastodon.example/@annabel") == "P P/2 https://mastodon.example/@annabel"
    assert scrub("groet, anna de vries! Annabel de Vriesland") == "groet, P! Annabel de Vriesland"
    assert scrub('<a href="https://mastodon.example/@anna">@<span>anna</span></a>') == '<a href="P">P</a>'


def test_forget_after_pseudonymisation_removes_the_pseudonymised_idea(store, write_config, tmp_path):
    config, ids = seed(store, write_config)
    assert purge(config).exit_code == 0
    result = CliRunner().invoke(main, ["--config", str(config), "forget", ACCT], env={"HARVESTER_SECRET": SECRET})
    assert result.exit_code == 0, result.output
    assert store.db.execute("SELECT count(*) FROM posts WHERE id = ?", [ids["accepted"]]).fetchone() == (0,)
    assert store.db.execute("SELECT count(*) FROM authors WHERE key LIKE 'pseudoniem:%'").fetchone() == (0,)
    assert b"loketwoordzeta" not in raw_bytes(tmp_path / "harvester.db")
