"""One Mastodon status harvested through the API and through the instance's tag feed is one post.

The default config reads mastodon.nl both ways: the API names a status by its `uri`, the tag feed
(`/tags/NAME.rss`) by its web address. Both routes run against one fake instance on 127.0.0.1.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from harvester.collectors.http import Fetcher
from harvester.config import load_config
from harvester.jobs.harvest import run_source
from harvester.models import ExportQuery, Post
from harvester.privacy import retention
from harvester.jobs.mastodon_recheck import recheck

from .mastodon_fake import FakeInstance, make_status
from .test_mastodon import sid


@pytest.fixture
def instance(server):
    fake = FakeInstance(server)
    fake.add(make_status(sid(1), username="anna", text="Elke nieuwe collega schrapt één regel"),
             make_status(sid(2), username="jan", text="Burgers schrijven mee aan de nota"),
             make_status(sid(3), origin="other.example", origin_id="77", username="piet", text="Van elders"),
             # a status without a web address of its own (some servers): both routes name it by its uri
             make_status(sid(4), origin="notes.example", origin_id="n4", username="kim", text="Zonder adres",
                         url=None))
    return fake


@pytest.fixture
def harvest(instance, write_config, store):
    """Run one of the two sources ('api' or 'tagfeed') once; returns its RunResult."""
    config = load_config(write_config(
        f'[[sources]]\nname = "api"\ntype = "mastodon"\ninstance = "{instance.url}"\n'
        f'[[sources]]\nname = "tagfeed"\ntype = "feed"\nurl = "{instance.url}/tags/innoverheid.rss"\n'))
    sources = {s.name: s for s in config.sources}

    def run(name: str):
        with Fetcher(config.harvest) as fetcher:
            return run_source(store, config, sources[name], fetcher)

    run.config = config
    return run


def posts(store) -> list[tuple]:
    return store.db.execute(
        "SELECT p.key, p.kind, a.key, (SELECT group_concat(s.name, ',') FROM"
        " (SELECT s.name FROM sightings g JOIN sources s ON s.id = g.source_id WHERE g.post_id = p.id ORDER BY s.name) s)"
        " FROM posts p LEFT JOIN authors a ON a.id = p.author_id ORDER BY p.key").fetchall()


def uri(instance, n: int) -> str:
    return instance.statuses[sid(n)]["uri"]


def host(instance) -> str:
    """Local accounts are `name@` the instance the collector asked."""
    return urlsplit(instance.url).hostname


def test_the_tag_feed_after_the_api_adds_a_sighting_and_keeps_the_author(instance, harvest, store):
    assert harvest("api").counts.new == 4
    feed = harvest("tagfeed")
    assert (feed.status, feed.counts.new, feed.counts.unchanged) == ("ok", 0, 4)
    assert posts(store) == [
        (uri(instance, 1), "mastodon", f"anna@{host(instance)}", "api,tagfeed"),
        (uri(instance, 2), "mastodon", f"jan@{host(instance)}", "api,tagfeed"),
        ("https://notes.example/users/kim/statuses/n4", "mastodon", "kim@notes.example", "api,tagfeed"),
        ("https://other.example/users/piet/statuses/77", "mastodon", "piet@other.example", "api,tagfeed"),
    ]
    # the export lists each post once, seen on both sources
    assert [row.sources for row in store.exports.rows(ExportQuery())] == ["api, tagfeed"] * 4
    assert harvest("tagfeed").counts.new == 0 and len(posts(store)) == 4


def test_the_api_after_the_tag_feed_takes_the_row_over_with_its_review(instance, harvest, store):
    assert harvest("tagfeed").counts.new == 4
    feed_row = store.db.execute("SELECT id, kind, author_id FROM posts WHERE key = ?",
                                [instance.statuses[sid(1)]["url"]]).fetchone()
    assert feed_row[1:] == ("feed", None)
    editor = store.users.add("eva", "redacteur", "x")
    store.reviews.decide(feed_row[0], editor, 0, "accept", themes=["cultuur"])
    api = harvest("api")
    assert api.counts.new == 0 and api.counts.updated + api.counts.unchanged == 4
    assert [p[:3] for p in posts(store)][:2] == [(uri(instance, 1), "mastodon", f"anna@{host(instance)}"),
                                                 (uri(instance, 2), "mastodon", f"jan@{host(instance)}")]
    assert store.db.execute("SELECT id FROM posts WHERE key = ?", [uri(instance, 1)]).fetchone() == (feed_row[0],)
    assert store.db.execute("SELECT status FROM reviews WHERE post_id = ?", [feed_row[0]]).fetchone() \
        == ("geaccepteerd",)
    # from now on both routes find the one row
    assert harvest("tagfeed").counts.unchanged == 4 and harvest("api").counts.new == 0
    assert [p[1:] for p in posts(store)][2:] == [("mastodon", "kim@notes.example", "api,tagfeed"),
                                                 ("mastodon", "piet@other.example", "api,tagfeed")]


def test_a_status_deleted_at_the_source_does_not_come_back_through_the_tag_feed(instance, harvest, store):
    harvest("api")
    harvest("tagfeed")
    deleted = instance.statuses[sid(1)]
    instance.delete(sid(1))
    with Fetcher(harvest.config.harvest) as fetcher:
        assert recheck(store, harvest.config, fetcher).deleted == 1
    instance.add(deleted)              # a cached copy of the tag feed still lists it
    again = harvest("tagfeed")
    assert again.counts.skipped == 1 and again.counts.new == 0
    assert uri(instance, 1) not in [p[0] for p in posts(store)]
    assert deleted["url"] not in [p[0] for p in posts(store)]


def test_a_pseudonymised_status_from_the_tag_feed_is_not_stored_again_through_the_api(instance, harvest, store):
    harvest("tagfeed")
    (post_id,) = store.db.execute("SELECT id FROM posts WHERE key = ?", [instance.statuses[sid(1)]["url"]]).fetchone()
    store.reviews.decide(post_id, store.users.add("eva", "redacteur", "x"), 0, "accept", themes=["cultuur"])
    store.db.execute("UPDATE posts SET first_seen_at = '2020-01-01T00:00:00+00:00' WHERE id = ?", [post_id])
    store.db.conn.commit()
    assert retention.pseudonymize(store, "2021-01-01T00:00:00+00:00", b"een-geheime-sleutel-voor-tests").posts == [post_id]
    again = harvest("api")   # the API names it by its uri, which was never stored
    assert again.counts.new == 0 and again.counts.skipped == 1   # the three others: taken over
    assert uri(instance, 1) not in [p[0] for p in posts(store)]


def test_a_tag_feed_copy_stored_before_the_upgrade_goes_with_its_status(instance, harvest, store):
    """Before migration 3 the tag feed's entry was a post of its own; deleting the status removes both."""
    harvest("tagfeed")
    store.db.execute("UPDATE posts SET key = 'apart:' || key")   # out of the API's way, as before the upgrade
    harvest("api")
    store.db.execute("UPDATE posts SET key = substr(key, 7) WHERE key LIKE 'apart:%'"
                     " AND substr(key, 7) NOT IN (SELECT key FROM posts)")
    store.db.conn.commit()
    assert len(posts(store)) == 8
    deleted = instance.statuses[sid(1)]
    instance.delete(sid(1))
    with Fetcher(harvest.config.harvest) as fetcher:
        assert recheck(store, harvest.config, fetcher).deleted == 1
    keys = [p[0] for p in posts(store)]
    assert deleted["uri"] not in keys and deleted["url"] not in keys and len(keys) == 6


def test_feed_entries_that_share_a_link_stay_apart(store):
    """Only a Mastodon status has two names; two feed entries with one link are two posts."""
    source = store.sources.sync("blog", "feed", "https://example.org/feed")
    for key in ("urn:1", "urn:2", "https://example.org/nieuws"):
        store.posts.upsert(Post(key=key, kind="feed", content_html="", text=key, url="https://example.org/nieuws"),
                           source.id)
    assert store.posts.count() == 3
