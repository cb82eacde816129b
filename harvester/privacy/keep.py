"""Whether a harvested post may be stored: the one check every batch passes on its way into the store.

Collectors fetch and normalise and hand over batches; they decide nothing about privacy. The
harvest loop runs each batch through `KeepCheck.filter`, inside the transaction that stores it,
so a tombstone or suppression written while a run goes on holds for its next batch. A post is
left out when

- a tombstone names it: the fingerprint of its key, its former key or its address (deleted at the
  source, forgotten, purged, pseudonymised; a Mastodon tag feed names a status by its address, not its
  uri; a feed entry forgotten while keys were bare ids is known by that id);
- its author is suppressed (forgotten or opted out earlier): their key, profile URL, Bluesky
  handle, the acct in the post's address or the DID in a Bluesky post's at:// uri matches a keyed
  fingerprint (harvester.privacy.hashing); a Bluesky author who changed handle is still known by
  the DID, and one suppressed by handle alone (forgotten by a handle no DID was known for) by
  the handle while they have it; a forget that knows the DID leaves the handle free. `handle.invalid` is no one's handle and never tested;
- its author opted out in this very batch (`Batch.opted_out`: the collector read the signal,
  e.g. #nobot in a Mastodon bio, `!no-unauthenticated` on a Bluesky account).

The posts kept lose suppressed authors from `mentions` (a Bluesky mention by the DID its facet
carries), `in_reply_to` (a Mastodon status address, or a Bluesky at:// uri by its DID) and `links`
(`link_keys`: a Mastodon status or profile address, a bsky.app address under their profile, such as a quote).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace

from ..models import Post
from ..store import Store
from .forget import acct_from_url, bluesky_keys, did_of_at_uri, link_keys
from .hashing import SecretMissing, canonical, fingerprint, keyed_fingerprint, load_secret


@dataclass(frozen=True)
class KeepCheck:
    secret: bytes | None
    authors: frozenset[str]           # keyed fingerprints of suppressed authors
    tombstoned: Callable[[Iterable[str]], frozenset[str]]   # which of these post fingerprints are tombstones

    @classmethod
    def load(cls, store: Store, secret_env: str) -> KeepCheck:
        """What the store says must stay out, and the key to test authors with.

        The suppressed authors are read at once (they are few); the tombstones, one per post the
        purge removed, are asked for per batch, only those of its posts.
        SecretMissing when authors are suppressed but the key is not set: without it their posts
        cannot be recognised, and storing nothing is better than storing them.
        """
        authors = store.forget.suppressed_authors()
        try:
            secret = load_secret(secret_env)
        except SecretMissing:
            if authors:
                raise
            secret = None
        return cls(secret, authors, store.forget.tombstoned)

    def filter(self, posts: Iterable[Post], opted_out: Iterable[str] = ()) -> list[Post]:
        """The posts that may be stored, cleaned of suppressed authors."""
        gone = {canonical(acct) for acct in opted_out}
        named = [(p, {fingerprint(a) for a in (p.key, p.former_key, p.url) if a}) for p in posts]
        buried = self.tombstoned(set().union(*(prints for _, prints in named)))
        return [self.clean(p) for p, prints in named
                if not prints & buried and not self._by_suppressed_author(p)
                and not (p.author and canonical(p.author.key) in gone)]

    def _by_suppressed_author(self, post: Post) -> bool:
        """By key, profile URL, Bluesky handle, the acct in the post's address, or the DID in its at:// uri."""
        if not self.authors:
            return False
        author = post.author
        candidates = {acct_from_url(post.url), acct_from_url(post.key), *bluesky_keys(did_of_at_uri(post.key))}
        if author:
            candidates |= {author.key, author.profile_url, acct_from_url(author.profile_url), author.handle}
        return any(self._hit(c) for c in {canonical(c) for c in candidates if c})

    def _hit(self, value: str | None) -> bool:
        return bool(value) and keyed_fingerprint(self.secret, value) in self.authors  # type: ignore[arg-type]

    def clean(self, post: Post) -> Post:
        """Another author's post, without suppressed authors in `mentions` and `in_reply_to`, nor in
        `links` as the address of a status, a post (a quote is noted as the quoted post's address) or
        a profile of theirs: forget's scrub drops the same ones from stored posts. A Bluesky
        mention shows a handle, but a forgotten author is suppressed by DID: the facet's DID says who it is."""
        if not self.authors:
            return post
        named = dict(post.mention_keys)
        mentions = tuple(m for m in post.mentions
                         if not any(self._hit(k) for k in {m, *bluesky_keys(named.get(m))}))
        replied = {acct_from_url(post.in_reply_to), *bluesky_keys(did_of_at_uri(post.in_reply_to))}
        reply = None if any(self._hit(r) for r in replied if r) else post.in_reply_to
        links = tuple(link for link in post.links if not any(self._hit(k) for k in link_keys(link)))
        if mentions == post.mentions and reply == post.in_reply_to and links == post.links:
            return post
        return replace(post, mentions=mentions, in_reply_to=reply, links=links)
