"""Replacing the author of a stored post by a pseudonym: the keys, and the author's name in the text.

Retention keeps an accepted idea's words but not who wrote it (docs/privacy.md, "Bewaartermijn").
The convention, shared with `harvester forget`: a pseudonymised author row has the key
`pseudoniem:` + keyed_fingerprint(secret, original key) and the display name
pseudonym(secret, original key), so the same person gets the same row and name in every run, and
whoever holds the secret (and only they) can still find that person's rows for an erasure request.

Pure functions: no database, no secret of their own.
"""

from __future__ import annotations

from dataclasses import dataclass

from .hashing import keyed_fingerprint
from .scrub import Scrubber

PREFIX = "pseudoniem:"


def pseudonymous_key(secret: bytes, key: str) -> str:
    """The key that stands in for an author's or a post's original key."""
    return PREFIX + keyed_fingerprint(secret, key)


@dataclass(frozen=True)
class Identity:
    """What names the author of one post: their author row and the post's own addresses."""

    author_key: str | None          # authors.key: name@instance, a DID, a profile URL, or "Name (host)"
    display_name: str | None
    profile_url: str | None
    post_addresses: tuple[str, ...]  # the post's key, url and the sightings' urls (they hold @name)
    bluesky_handle: str | None = None   # authors.handle: a Bluesky author is keyed by DID, named by this

    @property
    def handle(self) -> str | None:
        """The local part of a Mastodon acct (`anna` of `anna@mastodon.example`)."""
        key = self.author_key or ""
        if "@" in key and "://" not in key and " " not in key:
            return key.split("@", 1)[0]
        return None

    def scrubber(self, replacement: str) -> Scrubber:
        """Replaces every way this post names its author (in text or HTML) by `replacement`."""
        return Scrubber(replacement, keys=(*self.post_addresses, self.profile_url or "", self.author_key or "",
                                           self.bluesky_handle or ""),
                        names=(self.display_name or "",), handles=(self.handle or "", self.bluesky_handle or ""))
