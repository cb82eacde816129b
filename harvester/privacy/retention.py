"""The retention policy in one call: what `harvester purge` and the scheduler's purge job both run.

Two steps, then one compaction: posts no editor accepted go after `[privacy] retention_days`,
leaving tombstones so that a source still listing them (a blog's feed keeps old entries) does not
store them again as new posts; accepted ones get a pseudonym instead of their author after
`pseudonymize_accepted_after_days` (both counted from the first harvest, `posts.first_seen_at`). The first step never needs the
secret, so a missing secret stops only the second, which is then recorded as failed.
The compaction (FTS optimize, VACUUM) takes the database's write lock for as long as it rewrites
the file, so it runs only when a step changed something; the scheduler holds its other jobs back
while this runs (harvester.jobs.gate.WriteGate).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from ..config import Config
from ..dutch import counted
from ..store import Store
from ..store.privacy import DuePost, ExpiredPost, Pseudonymized, PseudonymPlan, Words
from ..timeutil import to_utc_iso
from .hashing import SecretMissing, fingerprint, load_secret, pseudonym
from .pseudonyms import Identity, pseudonymous_key


@dataclass
class PurgeResult:
    deleted: list[int]                    # ids of the posts removed (or, in a dry run, that would be)
    pseudonymized: Pseudonymized          # accepted posts that got a pseudonym (or would)
    compacted: bool = False
    problems: list[str] = field(default_factory=list)   # in Dutch; no names in them


def cutoffs(config: Config, now: datetime | None = None) -> tuple[str, str]:
    """(purge before, pseudonymise before): the first-harvest times older than the two periods."""
    now = now or datetime.now(UTC)
    privacy = config.privacy
    return (to_utc_iso(now - timedelta(days=privacy.retention_days)),
            to_utc_iso(now - timedelta(days=privacy.pseudonymize_accepted_after_days)))


def purge(store: Store, config: Config, *, dry_run: bool = False) -> PurgeResult:
    """Apply the retention policy (dry run: only say what it would do, and whether the secret is there)."""
    purge_before, pseudonymize_before = cutoffs(config)
    due = store.privacy.due_for_pseudonym(pseudonymize_before)
    secret, problems = None, []
    if due.posts:
        try:
            secret = load_secret(config.privacy.secret_env)
        except SecretMissing as e:
            waits = "wacht" if len(due.posts) == 1 else "wachten"
            waiting = counted(len(due.posts), "geaccepteerde post", "geaccepteerde posts")
            problems.append(f"pseudonimiseren mislukt: {waiting} {waits} op een pseudoniem, maar de geheime sleutel "
                            f"ontbreekt: {e}")
    if dry_run:
        return PurgeResult([p.id for p in store.privacy.expired_posts(purge_before)], due, problems=problems)
    deleted = purge_expired(store, purge_before, min_authors=config.initiatives.min_authors)
    if secret is not None:
        done = pseudonymize(store, pseudonymize_before, secret)
    else:
        done = Pseudonymized([], 0)
        if due.posts:
            store.privacy.pseudonymize_failed(len(due.posts), f"geheime sleutel ontbreekt ({config.privacy.secret_env})")
    result = PurgeResult(deleted, done, problems=problems)
    if deleted or done.posts:
        store.privacy.compact()
        result.compacted = True
    return result


def purge_expired(store: Store, cutoff: str, *, min_authors: int) -> list[int]:
    """Remove the posts first seen before `cutoff` that no editor accepted, with their tombstones,
    in one transaction (an editor's acceptance meanwhile keeps a post), and the initiatives' counts
    made anew without them (`min_authors`: the candidates' threshold); returns their ids."""
    # here, not at the top: the recount needs networkx, which start-up does not load
    from ..initiatives.step import summarise_if_stale

    with store.atomic():
        expired = store.privacy.expired_posts(cutoff)
        buried = {t for p in expired for t in tombstones(p.kind, p.key, p.addresses)}
        store.privacy.purge([p.id for p in expired], sorted(buried))
        summarise_if_stale(store, min_authors)
    return [p.id for p in expired]


def tombstones(kind: str, key: str, addresses: Iterable[str | None]) -> set[str]:
    """What keeps a removed or renamed post out of later harvests: plain fingerprints, as a deletion
    at the source leaves, of its key and of a Mastodon or Bluesky post's web addresses (a tag feed
    names a status by its address). A feed entry's link is not its own: entries of one feed may
    share one, and its tombstone would keep them all out."""
    own = addresses if kind in ("mastodon", "bluesky") else ()
    return {fingerprint(a) for a in (key, *own) if a}


def pseudonymize(store: Store, cutoff: str, secret: bytes) -> Pseudonymized:
    """Give the accepted posts first seen before `cutoff` a pseudonym instead of their author,
    all in one transaction: planned here, applied by the store."""
    with store.atomic():
        return store.privacy.apply_pseudonyms([plan(post, secret) for post in store.privacy.due_posts(cutoff)])


def plan(post: DuePost, secret: bytes) -> PseudonymPlan:
    """One post's pseudonym (by the convention in harvester.privacy.pseudonyms).

    The author's name, acct, @handle and addresses in title, text, HTML, content warning and the
    editor's note become the pseudonym; links that name the author go; mentions of the author become
    the pseudonym; tombstones of the old key (and addresses, see `tombstones`) keep a new harvest
    from storing the post again. A post without an author gets a pseudonym of its own:
    an unknown participant.
    """
    identity = Identity(post.author_key, post.display_name, post.profile_url,
                        tuple(u for u in (post.key, post.url, *post.sighted) if u), post.handle)
    name = pseudonym(secret, post.author_key or post.key)
    scrub = identity.scrubber(name)
    own = {m.lower() for m in (post.author_key, identity.handle, post.handle) if m}
    words = post.words
    return PseudonymPlan(
        post_id=post.id, key=pseudonymous_key(secret, post.key), original_author_id=post.author_id,
        author_key=pseudonymous_key(secret, post.author_key) if post.author_key else None, author_name=name,
        bot=post.bot, scrub=scrub, words=Words(
            title=scrub(words.title) if words.title else words.title, text=scrub(words.text),
            content_html=scrub(words.content_html),
            spoiler_text=scrub(words.spoiler_text) if words.spoiler_text else words.spoiler_text,
            links=tuple(link for link in words.links if scrub(link) == link),
            mentions=tuple(name if m.lower() in own else m for m in words.mentions)),
        tombstones=frozenset(tombstones(post.kind, post.key, (post.url, *post.sighted))),
    )
