"""Replacing the author of a stored post by a pseudonym: the keys, and the author's name in the text.

Retention keeps an accepted idea's words but not who wrote it (docs/privacy.md, "Bewaartermijn").
The convention, shared with `harvester forget`: a pseudonymised author row has the key
`pseudoniem:` + keyed_fingerprint(secret, original key) and the display name
pseudonym(secret, original key), so the same person gets the same row and name in every run, and
whoever holds the secret (and only they) can still find that person's rows for an erasure request.

Pure functions: no database, no secret of their own.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from .hashing import keyed_fingerprint

PREFIX = "pseudoniem:"
# display names shorter than this are not looked for in the text ("Jo" is in too many words)
MIN_NAME_LENGTH = 3


def pseudonymous_key(secret: bytes, key: str) -> str:
    """The key that stands in for an author's or a post's original key."""
    return PREFIX + keyed_fingerprint(secret, key)


@dataclass(frozen=True)
class Identity:
    """What names the author of one post: their author row and the post's own addresses."""

    author_key: str | None          # authors.key: name@instance, a profile URL, or "Name (host)"
    display_name: str | None
    profile_url: str | None
    post_addresses: tuple[str, ...]  # the post's key, url and the sightings' urls (they hold @name)

    @property
    def handle(self) -> str | None:
        """The local part of a Mastodon acct (`anna` of `anna@mastodon.example`)."""
        key = self.author_key or ""
        if "@" in key and "://" not in key and " " not in key:
            return key.split("@", 1)[0]
        return None

    def scrubber(self, replacement: str) -> Callable[[str], str]:
        """A function that replaces every way this post names its author (in text or HTML) by `replacement`.

        Addresses and the acct are matched anywhere (case-insensitively); a display name only as
        whole words; the handle only as an @mention (`@anna`, or Mastodon's HTML `@<span>anna</span>`).
        """
        handle = self.handle
        literals = {s for s in (*self.post_addresses, self.profile_url, self.author_key) if s}
        if handle:
            literals.add("@" + (self.author_key or ""))
        name = (self.display_name or "").strip()
        names = {name} if len(name) >= MIN_NAME_LENGTH else set()
        patterns = [re.escape(s) for s in _with_escaped(literals)]
        patterns += [rf"(?<!\w){re.escape(s)}" for s in _with_escaped(names)]
        if handle:   # not when an @instance follows: that is someone of the same name elsewhere, or the acct
            patterns.append(rf"(?<![\w/@])@(?:<span[^>]*>)?{re.escape(handle)}(?:</span>)?(?!@\w)")
        if not patterns:
            return lambda text: text
        # longest first, so a post URL wins over the profile URL it starts with
        patterns.sort(key=len, reverse=True)
        regex = re.compile("(?:" + "|".join(patterns) + r")(?![\w-])", re.IGNORECASE)
        return lambda text: regex.sub(lambda match: replacement, text)


def _with_escaped(values: Iterable[str]) -> set[str]:
    """The values as they are and as they appear in HTML (`&` as `&amp;`)."""
    return {v for value in values for v in (value, html.escape(value, quote=False), html.escape(value))}
