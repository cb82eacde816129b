"""Cursors, tombstones and recheck reads in a real SQLite file."""

from __future__ import annotations

import json

from harvester.privacy.forget import deleted_at_source
from harvester.privacy.hashing import fingerprint
from harvester.models import Author, Classification, Cursor, Post

URI = "https://mastodon.nl/users/annedv/statuses/113500000000001000"


def mastodon_post(key: str = URI, author: str = "annedv@mastodon.nl", text: str = "Een uniek idee") -> Post:
    return Post(key=key, kind="mastodon", content_html=f"<p>{text}</p>", text=text, remote_id=key.rsplit("/", 1)[1],
                published_at="2026-11-20T09:12:33+00:00", tags=("innoverheid",), author=Author(author, "Anne"))


def test_cursors_round_trip_per_source_and_group(store):
    a = store.sources.sync("a", "mastodon", "https://a.example")
    b = store.sources.sync("b", "mastodon", "https://b.example")
    store.cursors.save(a.id, Cursor("innoverheid+lanceerplatform", "20", "10", False))
    store.cursors.save(a.id, Cursor("innoverheid+lanceerplatform", "30", None, True))
    store.cursors.save(b.id, Cursor("opendata", "5"))
    assert store.cursors.load(a.id) == {"innoverheid+lanceerplatform": Cursor("innoverheid+lanceerplatform", "30", None, True)}
    assert store.cursors.load(b.id) == {"opendata": Cursor("opendata", "5", None, False)}


def test_delete_at_source_leaves_only_a_tombstone(store):
    source = store.sources.sync("nl", "mastodon", "https://mastodon.nl")
    store.posts.upsert(mastodon_post(), source.id)
    store.posts.upsert(mastodon_post(URI + "9", author="bert@mastodon.nl", text="Ander idee"), source.id)
    post_id = store.db.execute("SELECT id FROM posts WHERE key = ?", [URI]).fetchone()[0]
    store.classifications.save(post_id, Classification({"cultuur": 0.9}, ("cultuur",), {}, "nl", True, 0.9, "t"))
    assert [s.remote_id for s in store.mastodon.sightings_since("2026-11-01")] == ["113500000000001000",
                                                                                  "1135000000000010009"]
    deleted_at_source(store, post_id, URI, ["nl"])
    assert store.posts.count() == 1
    assert store.db.execute("SELECT key FROM authors").fetchall() == [("bert@mastodon.nl",)]
    for table in ("post_tags", "sightings", "classifications", "post_themes"):
        assert store.db.execute(f"SELECT count(*) FROM {table} WHERE post_id = ?", [post_id]).fetchone()[0] == 0
    assert store.db.execute("SELECT rowid FROM posts_fts WHERE posts_fts MATCH 'uniek'").fetchall() == []
    assert store.db.execute("SELECT hash, kind FROM suppressions").fetchall() == [(fingerprint(URI), "post")]
    actor, action, post, after = store.db.execute("SELECT actor, action, post_id, after FROM review_events").fetchone()
    assert (actor, action, post) == ("system", "deleted_at_source", None)
    assert "annedv" not in after and json.loads(after)["tombstone"] == fingerprint(URI)
    assert store.mastodon.sightings_since("2026-11-21") == []
