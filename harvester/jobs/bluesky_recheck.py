"""Asking Bluesky which stored posts still exist (the deciding and forgetting is harvester.jobs.mastodon_recheck's)."""

from __future__ import annotations

from ..collectors.base import NEXT_RECHECK, rate_limit_stop
from ..collectors.bluesky import GET_POSTS_LIMIT, BlueskyClient
from ..collectors.http import FetchError


def ask(client: BlueskyClient, uris: list[str]) -> dict[str, dict]:
    """The post views among `uris` that Bluesky still shows, by uri: getPosts, 25 uris at a time.

    A post left out of the answer is gone (deleted, or its account taken down or deactivated).
    """
    found: dict[str, dict] = {}
    for start in range(0, len(uris), GET_POSTS_LIMIT):
        chunk = uris[start:start + GET_POSTS_LIMIT]
        if not client.watch.room_for_more():
            raise FetchError(rate_limit_stop(client.base, client.watch.last, NEXT_RECHECK))
        body = client.query("app.bsky.feed.getPosts", [("uris", uri) for uri in chunk])
        views = body.get("posts")
        if not isinstance(views, list):
            raise FetchError(f"onverwacht antwoord van {client.base} op getPosts: geen lijst met posts")
        found.update((v["uri"], v) for v in views if isinstance(v, dict) and v.get("uri") in chunk)
    return found
