"""harvester purge: posts never accepted go after retention_days, from the rows, the FTS index and the file."""

from __future__ import annotations

import json

from click.testing import CliRunner

from harvester.cli import main
from harvester.config import load_config
from harvester.jobs.harvest import run_sources
from harvester.models import Author, Post
from harvester.privacy.hashing import fingerprint
from harvester.privacy.keep import KeepCheck
from harvester.privacy.retention import purge_expired

from .localserver import Reply

OLD = "2020-01-01T00:00:00.000+00:00"


def add(store, source_id: int, key: str, text: str, author: str, *, old: bool) -> int:
    store.posts.upsert(Post(key=key, kind="feed", content_html=f"<p>{text}</p>", text=text,
                            url=key, author=Author(author, display_name=author)), source_id)
    post_id = store.db.execute("SELECT id FROM posts WHERE key = ?", [key]).fetchone()[0]
    if old:
        store.db.execute("UPDATE posts SET first_seen_at = ? WHERE id = ?", [OLD, post_id])
        store.db.conn.commit()
    return post_id


def seed(store, write_config):
    # the accepted post is old, but not yet due for a pseudonym (tests/test_privacy_retention.py)
    config = write_config("[privacy]\nretention_days = 30\npseudonymize_accepted_after_days = 36500\n")
    source = store.sources.sync("blog", "feed", "https://example.org/feed").id
    user = store.users.add("redactie", "redacteur", "x")
    ids = {
        "old_new": add(store, source, "https://example.org/1", "kwetsbaarwoordalfa van Piet", "Piet", old=True),
        "old_rejected": add(store, source, "https://example.org/2", "kwetsbaarwoordbeta", "Piet", old=True),
        "old_accepted": add(store, source, "https://example.org/3", "goedidee bewaren", "Anne", old=True),
        "young": add(store, source, "https://example.org/4", "jongbericht blijft", "Karel", old=False),
    }
    store.reviews.decide(ids["old_rejected"], user, 0, "reject", reason="spam")
    store.reviews.decide(ids["old_accepted"], user, 0, "accept", themes=["cultuur"])
    return config, ids


def run(config, *args):
    return CliRunner().invoke(main, ["--config", str(config), "purge", *args])


def fts(store, word: str) -> list[int]:
    return [r[0] for r in store.db.execute("SELECT rowid FROM posts_fts WHERE posts_fts MATCH ?", [word])]


def test_dry_run_lists_and_changes_nothing(store, write_config):
    config, ids = seed(store, write_config)
    before = store.db.execute("SELECT count(*) FROM posts").fetchone()[0]
    result = run(config, "--dry-run")
    assert result.exit_code == 0, result.output
    assert "Proefdraai: 2 posts ouder dan 30 dagen zouden worden verwijderd." in result.output
    assert f"ids: {ids['old_new']}, {ids['old_rejected']}" in result.output
    assert store.db.execute("SELECT count(*) FROM posts").fetchone()[0] == before == 4
    assert fts(store, "kwetsbaarwoordalfa") == [ids["old_new"]]
    assert store.db.execute("SELECT count(*) FROM review_events WHERE action = 'purge'").fetchone()[0] == 0


def test_purge_removes_unaccepted_old_posts_everywhere(store, write_config, tmp_path):
    config, ids = seed(store, write_config)
    result = run(config)
    assert result.exit_code == 0, result.output
    assert "Verwijderd: 2 posts ouder dan 30 dagen die nooit zijn geaccepteerd." in result.output
    kept = {r[0] for r in store.db.execute("SELECT id FROM posts")}
    assert kept == {ids["old_accepted"], ids["young"]}
    # cascades and orphaned authors
    assert store.db.execute("SELECT count(*) FROM sightings WHERE post_id NOT IN (SELECT id FROM posts)").fetchone()[0] == 0
    assert store.db.execute("SELECT count(*) FROM reviews WHERE post_id NOT IN (SELECT id FROM posts)").fetchone()[0] == 0
    assert {r[0] for r in store.db.execute("SELECT key FROM authors")} == {"Anne", "Karel"}
    # the audit trail: one event, a count, no personal data
    events = store.db.execute(
        "SELECT post_id, actor, after FROM review_events WHERE action = 'purge'").fetchall()
    assert events == [(None, "system", json.dumps({"count": 2}))]
    # gone from the search index and from the bytes on disk
    assert fts(store, "kwetsbaarwoordalfa") == [] and fts(store, "kwetsbaarwoordbeta") == []
    assert fts(store, "goedidee") == [ids["old_accepted"]]
    store.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db = tmp_path / "harvester.db"
    raw = db.read_bytes() + (db.with_name("harvester.db-wal").read_bytes()
                             if db.with_name("harvester.db-wal").exists() else b"")
    assert b"goedidee" in raw  # the search below can find what is there
    assert b"kwetsbaarwoordalfa" not in raw and b"kwetsbaarwoordbeta" not in raw
    assert b"Piet" not in raw


def test_nothing_expired_changes_no_post(store, write_config):
    config = write_config("[privacy]\nretention_days = 30\n")
    source = store.sources.sync("blog", "feed", "https://example.org/feed").id
    add(store, source, "https://example.org/9", "vers bericht", "Anne", old=False)
    result = run(config)
    assert result.exit_code == 0, result.output
    assert "Verwijderd: 0 posts" in result.output
    assert store.db.execute("SELECT count(*) FROM posts").fetchone()[0] == 1


FEED = """<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Ideeënblog</title><link>https://blog.example/</link>{items}</channel></rss>"""
ITEM = """<item><title>{title}</title><link>https://blog.example/ideeen</link><guid>https://blog.example/?p={n}</guid>
<pubDate>{date}</pubDate><author>jan@example.org (Jan de Vries)</author>
<description>{title}, een idee van Jan de Vries #innoverheid</description></item>"""
OLD_ITEM = ITEM.format(n=1, title="Oud idee", date="Mon, 01 Jun 2026 10:00:00 +0000")
NEW_ITEM = ITEM.format(n=2, title="Nieuw idee", date="Mon, 07 Dec 2026 08:00:00 +0000")


def test_a_purged_feed_entry_still_in_the_feed_is_not_stored_again(server, store, write_config):
    """A blog's feed keeps old entries: the next harvest after the purge brought a rejected one back
    as a new post (status nieuw, a fresh first_seen_at, so its author's name never expired)."""
    items = [OLD_ITEM]
    server.route("/feed", lambda request: Reply(200, FEED.format(items="".join(items)),
                                                {"Content-Type": "application/rss+xml"}))
    config = write_config("[privacy]\nretention_days = 30\n\n[[sources]]\nname = \"blog\"\ntype = \"feed\"\n"
                          f"url = \"{server.url('/feed')}\"\nmatch = \"all\"\n")

    def harvest():
        (result,) = run_sources(store, load_config(config), load_config(config).sources)
        return result

    assert harvest().counts.new == 1
    (old_id,) = store.db.execute("SELECT id FROM posts").fetchone()
    store.reviews.decide(old_id, store.users.add("redactie", "redacteur", "x"), 0, "reject", reason="spam")
    store.db.execute("UPDATE posts SET first_seen_at = ? WHERE id = ?", [OLD, old_id])
    store.db.conn.commit()
    assert run(config).exit_code == 0

    items.append(NEW_ITEM)       # the blog posts something new; the old entry is still in its feed
    result = harvest()
    assert (result.status, result.counts.new, result.counts.skipped) == ("ok", 1, 1)
    # the new entry shares the old one's link: a link is no feed entry's own, so it is not kept out
    assert store.db.execute("SELECT key FROM posts").fetchall() == [("https://blog.example/?p=2",)]
    assert store.db.execute("SELECT key FROM authors").fetchall() == [("Jan de Vries (blog.example)",)]
    assert harvest().counts.new == 0
    # what keeps it out is the fingerprint of its key, as after a deletion at the source: no name, no text
    assert store.db.execute("SELECT hash, kind, reason FROM suppressions").fetchall() == [
        (fingerprint("https://blog.example/?p=1"), "post", "purged")]


def test_a_purged_mastodon_status_is_kept_out_by_its_address_too(store):
    """A Mastodon tag feed names a status by its web address, not its uri (the recheck's tombstones do the same)."""
    uri, address = "https://mastodon.example/users/anne/statuses/7", "https://mastodon.example/@anne/7"
    source = store.sources.sync("mastodon-nl", "mastodon", "https://mastodon.example").id
    store.posts.upsert(Post(key=uri, kind="mastodon", url=address, content_html="<p>Idee</p>", text="Idee",
                            author=Author("anne@mastodon.example", display_name="Anne")), source)
    store.db.execute("UPDATE posts SET first_seen_at = ?", [OLD])
    store.db.conn.commit()
    assert len(purge_expired(store, "2021-01-01T00:00:00.000+00:00", min_authors=2)) == 1
    check = KeepCheck.load(store, "HARVESTER_SECRET")
    tag_feed_copy = Post(key=address, kind="feed", url=address, content_html="<p>Idee</p>", text="Idee")
    assert check.filter([tag_feed_copy]) == []
    assert {r[0] for r in store.db.execute("SELECT reason FROM suppressions")} == {"purged"}
