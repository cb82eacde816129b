"""The one check on the way into the store: tombstones, suppressed and opted-out authors, for any collector."""

from __future__ import annotations

import pytest

from harvester.models import Author, Post
from harvester.privacy.hashing import SecretMissing, fingerprint, keyed_fingerprint
from harvester.privacy.keep import KeepCheck

SECRET = b"een-geheime-sleutel-voor-tests"


def post(n: int, acct: str, **kw) -> Post:
    name, host = acct.split("@")
    return Post(key=f"https://{host}/users/{name}/statuses/{n}", kind="mastodon", content_html="", text=f"idee {n}",
                url=f"https://{host}/@{name}/{n}", author=Author(acct, profile_url=f"https://{host}/@{name}"), **kw)


def suppress(store, kind: str, value: str) -> None:
    store.db.execute("INSERT INTO suppressions (hash, kind, reason, created_at) VALUES (?, ?, 'forget', '2026-01-01')",
                     [value, kind])


def test_tombstones_suppressed_and_opted_out_authors_stay_out(store, monkeypatch):
    monkeypatch.setenv("HARVESTER_SECRET", SECRET.decode())
    suppress(store, "post", fingerprint("https://a.example/@anna/2"))       # by its address, as a tag feed names it
    suppress(store, "author", keyed_fingerprint(SECRET, "bert@b.example"))
    posts = [
        post(1, "anna@a.example", mentions=("bert@b.example", "carla@c.example"),
             in_reply_to="https://b.example/@bert/9"),
        post(2, "anna@a.example"),
        post(3, "bert@b.example"),
        post(4, "dirk@d.example"),
        post(5, "carla@c.example"),
    ]
    kept = KeepCheck.load(store, "HARVESTER_SECRET").filter(posts, opted_out=("Dirk@D.example",))
    assert [p.key.rsplit("/", 1)[1] for p in kept] == ["1", "5"]
    assert kept[0].mentions == ("carla@c.example",) and kept[0].in_reply_to is None


def test_links_to_a_suppressed_authors_statuses_or_profile_are_left_out(store, monkeypatch):
    monkeypatch.setenv("HARVESTER_SECRET", SECRET.decode())
    suppress(store, "author", keyed_fingerprint(SECRET, "bert@b.example"))
    hers = ("https://b.example/@bert/9", "https://b.example/users/bert/statuses/9", "https://c.example/@bert@b.example",
            "https://b.example/@bert")
    others = ("https://c.example/@carla/9", "https://example.nl/plan")
    kept = KeepCheck.load(store, "HARVESTER_SECRET").filter([post(1, "anna@a.example", links=hers + others)])
    assert kept[0].links == others


def test_without_the_key_suppressed_authors_stop_the_harvest(store, monkeypatch):
    monkeypatch.delenv("HARVESTER_SECRET", raising=False)
    suppress(store, "post", fingerprint("https://a.example/users/anna/statuses/1"))
    assert KeepCheck.load(store, "HARVESTER_SECRET").filter([post(1, "anna@a.example")]) == []
    suppress(store, "author", "ab" * 32)
    with pytest.raises(SecretMissing, match="HARVESTER_SECRET"):
        KeepCheck.load(store, "HARVESTER_SECRET")


def test_a_bluesky_author_is_known_by_the_did_also_under_a_new_handle(store, monkeypatch):
    monkeypatch.setenv("HARVESTER_SECRET", SECRET.decode())
    anne, bert = "did:plc:annexxxxxxxxxxxxxxxxxxxx", "did:plc:bertxxxxxxxxxxxxxxxxxxxx"
    suppress(store, "author", keyed_fingerprint(SECRET, anne))      # forgotten by DID only

    def bsky(did: str, handle: str, rkey: str, **kw) -> Post:
        return Post(key=f"at://{did}/app.bsky.feed.post/{rkey}", kind="bluesky", content_html="", text="idee",
                    url=f"https://bsky.app/profile/{handle}/post/{rkey}", author=Author(handle), **kw)

    posts = [
        bsky(anne, "anne.example.nl", "3la"),           # a new handle, and no profile URL to go by
        bsky(bert, "bert.bsky.social", "3lb", mentions=(anne, "carla.bsky.social"),
             in_reply_to=f"at://{anne}/app.bsky.feed.post/3lz"),
    ]
    kept = KeepCheck.load(store, "HARVESTER_SECRET").filter(posts, opted_out=())
    assert [p.key.rsplit("/", 1)[1] for p in kept] == ["3lb"]
    assert kept[0].mentions == ("carla.bsky.social",) and kept[0].in_reply_to is None
