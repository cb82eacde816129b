"""harvester purge: posts never accepted go after retention_days, from the rows, the FTS index and the file."""

from __future__ import annotations

import json

from click.testing import CliRunner

from harvester.cli import main
from harvester.models import Author, Post

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
    assert "2 posts" in result.output
    assert f"ids: {ids['old_new']}, {ids['old_rejected']}" in result.output
    assert store.db.execute("SELECT count(*) FROM posts").fetchone()[0] == before == 4
    assert fts(store, "kwetsbaarwoordalfa") == [ids["old_new"]]
    assert store.db.execute("SELECT count(*) FROM review_events WHERE action = 'purge'").fetchone()[0] == 0


def test_purge_removes_unaccepted_old_posts_everywhere(store, write_config, tmp_path):
    config, ids = seed(store, write_config)
    result = run(config)
    assert result.exit_code == 0, result.output
    assert "Verwijderd: 2 posts" in result.output
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
