"""Forgetting an author, and keeping them forgotten.

`harvester forget AUTHOR` and an opt-out seen after posts were stored both come here: find
everything of the author (their rows, their posts, notes that name or quote them, mentions of
them in other posts), remove it in one transaction, and keep only keyed fingerprints in
`suppressions` (see harvester.privacy.hashing), so the keep-check (harvester.privacy.keep) knows them again
without the database saying who it was. Posts deleted at their source are not a forget (the
author stays), but notes lose their quotes of them too (`scrub_quotes`).

Who an author is, is every key the collectors could store for them: the Mastodon acct
(`name@instance`, as the Mastodon collector stores it), a feed author's profile URL or
`Name (site)` (as the feed collector stores it), the profile URL of their row, and the row the
retention job pseudonymised (`pseudonyms.pseudonymous_key`). Mastodon statuses
harvested through a tag feed carry no author, only their URL (`https://instance/@name/123`), so
an acct also matches posts by URL. A Bluesky author is stored by DID, with the profile URL of
that DID (`https://bsky.app/profile/did:plc:...`) and the handle last seen: a DID or its profile URL
finds them directly; a handle (or a bsky.app address with one) is first looked up in what the
store holds, the handle their row has now or the address of a post stored under an old one, and
must lead to one DID. The DID and its profile URL are suppressed, the handle only when no DID is
known (a forget of a handle nothing is stored of): a handle can pass to someone else. It is still
scrubbed from notes and other posts' mentions. `handle.invalid`, what
Bluesky shows for any handle that does not verify, names no one and is refused. Posts retention
pseudonymised while authors were keyed by handle hang on a pseudonym of that handle, so a DID
also brings the handles V_BLUESKY_DIDS found for it (`bluesky_former_handles`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from ..collectors.bluesky import INVALID_HANDLE
from ..errors import UsageError
from ..store import Store
from ..store.mastodon import DeletedPost
from ..store.privacy import ForgetCounts, ForgetPlan, PostText
from .hashing import canonical, fingerprint, keyed_fingerprint
from .pseudonyms import PREFIX as PSEUDONYM_PREFIX
from .pseudonyms import pseudonymous_key
from .scrub import REMOVED, Scrubber

# any name@host a Mastodon URL can name (`acct_from_url` takes a host without a dot, as localhost)
ACCT_KEY = re.compile(r"^[\w.-]+@[\w.-]+$")
ACCT = re.compile(r"^@?([\w.-]+)@([\w-]+(?:\.[\w-]+)+)$")
FEED_NAME_KEY = re.compile(r"^(.+) \(([^()\s]+)\)$")       # how the feed collector stores a bare name
# a Mastodon profile or status URL: https://host/@name[@domain][/id] or https://host/users/name[/statuses/id]
_MASTODON_URL = re.compile(
    r"^https?://([\w-]+(?:\.[\w-]+)*)(?::\d+)?"
    r"/(?:@([\w.-]+)(?:@([\w-]+(?:\.[\w-]+)+))?|users/([\w.-]+))(?:/(?:statuses/)?\d+)?/?$", re.IGNORECASE)
# Bluesky: a DID, a handle (a domain name: letters, digits and '-' in labels, the last not numeric),
# and the web addresses of profiles and posts (harvester.collectors.bluesky)
DID = re.compile(r"^did:(?:plc|web):[a-z0-9._:%-]+$", re.IGNORECASE)
BSKY_HANDLE = re.compile(r"^@?((?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+[a-z](?:[a-z0-9-]*[a-z0-9])?)$", re.IGNORECASE)
_BSKY_URL = re.compile(r"^https?://bsky\.app/profile/([^/?#]+)(?:/post/[^/?#]+)?/?$", re.IGNORECASE)
BSKY_PROFILE = "https://bsky.app/profile/"
_BSKY_UNDER = re.compile(r"^https?://bsky\.app/profile/([^/?#]+)(?:[/?#]|$)", re.IGNORECASE)


class BadAuthor(UsageError):
    """AUTHOR cannot be understood, or names no single author; the message is Dutch."""


@dataclass(frozen=True)
class AuthorRequest:
    keys: frozenset[str]              # canonical identities as the collectors store them
    name: str | None = None           # a bare feed author name: the site is looked up in the store


@dataclass(frozen=True)
class ForgetResult:
    counts: ForgetCounts
    keys: tuple[str, ...]             # the identities found and suppressed: shown to the operator, never stored


class _DryRun(Exception):
    """Raised inside the transaction to roll a dry run back."""


def acct_from_url(url: str | None) -> str | None:
    """`name@host` for a Mastodon profile or status URL (`https://host/@name[/id]`, `/users/name[/statuses/id]`)."""
    m = _MASTODON_URL.match(url.strip()) if url else None
    if not m:
        return None
    host, name, domain, user = m.groups()
    return canonical(f"{name or user}@{domain or host}")


def _invalid_handle(value: str) -> bool:
    """`handle.invalid` (also as `@handle.invalid` or in a bsky.app address): every account whose
    handle does not verify is shown so, so it names no one."""
    m = _BSKY_URL.match(value.strip())
    actor = m.group(1) if m else value.strip().removeprefix("@")
    return canonical(actor) == INVALID_HANDLE


def bluesky_keys(value: str | None) -> set[str]:
    """A Bluesky author's keys in a DID, a handle or a bsky.app address: the handle, or the DID and
    its profile URL (how the collector stores them); empty for anything else."""
    if not value:
        return set()
    m = _BSKY_URL.match(value.strip())
    actor = m.group(1) if m else value.strip().removeprefix("@") if DID.match(value.strip()) else None
    if actor is None:
        return set()
    if DID.match(actor):
        return {canonical(actor), canonical(BSKY_PROFILE + actor)}
    return {canonical(actor)} if BSKY_HANDLE.match(actor) and canonical(actor) != INVALID_HANDLE else set()


def bluesky_profile_of(link: str | None) -> str | None:
    """The bsky.app profile a link sits at or under (a post, a feed, with a query or not), for
    `bluesky_keys`: whose a quote or a pasted address is."""
    m = _BSKY_UNDER.match(link.strip()) if link else None
    return BSKY_PROFILE + m.group(1) if m else None


def link_keys(link: str) -> set[str]:
    """Whose a link in a post is, as keys to test against suppressed authors: a Mastodon status or
    profile address names its account, a bsky.app address (a quote) the profile it sits under. The
    keep-check and forget's scrub both use it, so a re-harvest keeps out what a forget removed."""
    return {k for k in (acct_from_url(link), *bluesky_keys(bluesky_profile_of(link))) if k}


def did_of_at_uri(uri: str | None) -> str | None:
    """The DID in a Bluesky post's at:// uri (where a reply points)."""
    if not uri or not uri.startswith("at://did:"):
        return None
    return canonical(uri.removeprefix("at://").split("/", 1)[0])


def parse_author(value: str) -> AuthorRequest:
    """AUTHOR as typed: an acct (`name@instance`, `@name@instance`), a Bluesky handle or DID, a profile
    URL, `Name (site)` or a name."""
    value = value.strip()
    if not value:
        raise BadAuthor("geef een auteur op: een Mastodon-account (naam@instance), een Bluesky-handle of -DID, "
                        "een profiel-URL of een feedauteur")
    if _invalid_handle(value):
        raise BadAuthor("'handle.invalid' is geen auteur: Bluesky toont zo elk account waarvan de handle niet "
                        "klopt; geef de DID (did:plc:...) of het adres van een post van die auteur")
    if value.lower().startswith(("http://", "https://")):
        # not normalize.http_url: that refuses an address with a space, and the feed collector keyed
        # an author by their feed's address as it stood before it took web addresses only; such an
        # author is found by it only (stored keys are not migrated)
        if not urlsplit(value).hostname:
            raise BadAuthor(f"geen geldige URL: {value!r}")
        keys = {canonical(value)} | bluesky_keys(value)
        acct = acct_from_url(value)
        return AuthorRequest(frozenset(keys | ({acct} if acct else set())))
    m = ACCT.match(value)
    if m:
        return AuthorRequest(frozenset({canonical(f"{m.group(1)}@{m.group(2)}")}))
    if DID.match(value):
        return AuthorRequest(frozenset(bluesky_keys(value)))
    m = BSKY_HANDLE.match(value)
    if m:
        return AuthorRequest(frozenset({canonical(m.group(1))}))
    if "@" in value:
        raise BadAuthor(f"geen geldig Mastodon-account: {value!r} (verwacht naam@instance, bijvoorbeeld anne@mastodon.nl)")
    if FEED_NAME_KEY.match(value):
        return AuthorRequest(frozenset({canonical(value)}))
    return AuthorRequest(frozenset(), name=value)


def forget(store: Store, secret: bytes, request: AuthorRequest, *, min_authors: int,
           dry_run: bool = False) -> ForgetResult:
    """Remove everything of one author and suppress them; with `dry_run`, count it and roll back.
    `min_authors`: the candidates' threshold (`[initiatives]`), for the counts made anew without them."""
    keys = set(request.keys)
    if request.name:
        rows = store.forget.feed_authors_named(request.name)
        if not rows:
            raise BadAuthor(
                f"geen feedauteur met de naam {request.name!r} opgeslagen; geef de site erbij zoals de harvester "
                f"een naam bewaart, bijvoorbeeld '{request.name} (blog.example.nl)', of de profiel-URL")
        if len(rows) > 1:
            raise BadAuthor(f"de naam {request.name!r} komt bij meer dan één site voor; kies er één: "
                            + ", ".join(repr(r.key) for r in rows))
        keys.add(canonical(rows[0].key))
    for handle in sorted(k for k in request.keys if _is_bluesky_handle(k)):
        dids = store.forget.bluesky_dids(handle)
        if len(dids) > 1:
            raise BadAuthor(f"de Bluesky-handle {handle!r} hoorde hier bij meer dan één account; kies er één: "
                            + ", ".join(dids))
        keys |= {k for did in dids for k in bluesky_keys(did)}
    # here, not at the top: the recount needs networkx, which start-up does not load
    from ..initiatives.step import summarise_if_stale

    try:
        with store.atomic():
            result = _forget(store, secret, keys, reason="forget")
            if dry_run:
                raise _DryRun
            summarise_if_stale(store, min_authors)
    except _DryRun:
        return result
    store.privacy.compact()
    return result


def optout(store: Store, secret: bytes | None, acct: str) -> ForgetCounts | None:
    """An account seen opting out: forget it like `harvester forget` if anything of it is stored.

    Without the secret the posts still go (with their tombstones), but no author suppression can
    be written; the caller reports that. Whoever runs the collection or the recheck compacts the
    file afterwards and makes the initiatives' counts anew once after all the opt-outs it saw
    (`RunResult.forgot_authors`, `initiatives.step.recount`): a recount per account, each holding
    the write lock, would add up for a batch of them.
    """
    key = canonical(acct)
    names = [key, *store.forget.former_handles([key])]
    if not store.forget.author_exists([*names, *([pseudonymous_key(secret, k) for k in names] if secret else [])]):
        return None
    with store.atomic():
        return _forget(store, secret, {key}, reason="optout").counts


def scrub_quotes(store: Store, post_ids: list[int]) -> None:
    """Posts about to be deleted at the source: notes elsewhere lose their quotes of them, and the
    audit trail the notes on them (the author is not forgotten, so names stay)."""
    posts = store.forget.post_texts(post_ids)
    if posts:
        with store.atomic():
            store.forget.scrub_notes({p.id for p in posts}, Scrubber(REMOVED, quoted=_texts(posts)), REMOVED)


def deleted_at_source(store: Store, post_id: int, key: str, source_names: list[str]) -> None:
    """A post its author deleted at the source goes, leaving tombstones of its key and of each web
    address it is known by (a tag feed names a status by its address), so no harvest brings it back."""
    addresses = store.mastodon.addresses(post_id, key)
    tombstones = [fingerprint(value) for value in (key, *addresses)]
    store.mastodon.delete_at_source(DeletedPost(post_id, addresses, tombstones), source_names)


def _forget(store: Store, secret: bytes | None, keys: set[str], *, reason: str) -> ForgetResult:
    while True:     # a matched row may name more identities (its profile URL); follow them
        lookup = keys | {_profile_url(k) for k in keys if ACCT.match(k)}
        lookup |= {pseudonymous_key(secret, k) for k in keys} if secret else set()
        authors = store.forget.authors_matching(lookup)
        found = {canonical(v) for a in authors for v in (a.key, a.profile_url, a.handle)
                 if v and not v.startswith(PSEUDONYM_PREFIX)}
        found |= {acct for acct in map(acct_from_url, found | keys) if acct}
        found |= {k for v in found if v.startswith(BSKY_PROFILE) for k in bluesky_keys(v)}
        found |= set(store.forget.former_handles(sorted(k for k in found | keys if DID.match(k))))
        if found <= keys:
            break
        keys |= found
    accts = sorted(k for k in keys if ACCT.match(k))
    posts = store.forget.posts_of([a.id for a in authors], accts)
    names = {a.display_name for a in authors if a.display_name}
    names |= {m.group(1) for k in keys if (m := FEED_NAME_KEY.match(k))}
    bluesky = sorted(k for k in keys if DID.match(k) or _is_bluesky_handle(k))
    handles = [a.split("@")[0] for a in accts] + [k for k in bluesky if not DID.match(k)]   # as @mentions
    suppressed = _suppressed(keys) if secret else set()
    plan = ForgetPlan(
        posts=posts, author_ids=[a.id for a in authors], accts=accts, bluesky=bluesky,
        # the links the keep-check drops from later harvests as well (a Bluesky handle only when it
        # is suppressed; none without the secret, which writes no suppression): a link it would let
        # back in at the next re-read is left as written
        drops_link=lambda link: bool(link_keys(link) & suppressed),
        link_names=sorted({k.split("@", 1)[0] if ACCT_KEY.match(k) else k for k in suppressed
                           if ACCT_KEY.match(k) or DID.match(k) or _is_bluesky_handle(k)}),
        author_hashes=sorted(keyed_fingerprint(secret, k) for k in suppressed),
        tombstones=sorted({fingerprint(p.key) for p in posts}),
        scrub=Scrubber(REMOVED, keys=keys, names=names, handles=handles, quoted=_texts(posts)),
        blank=REMOVED,
    )
    return ForgetResult(store.forget.apply(plan, reason=reason), tuple(sorted(keys)))


def _suppressed(keys: set[str]) -> set[str]:
    """The keys to suppress: a Bluesky handle only when no DID is known, for a handle passes on to
    whoever registers it next, and that person was never asked to be forgotten."""
    if any(DID.match(k) for k in keys):
        return {k for k in keys if not _is_bluesky_handle(k)}
    return keys


def _is_bluesky_handle(key: str) -> bool:
    """A canonical key that is a Bluesky handle (a bare domain name: no other collector stores one)."""
    return bool(BSKY_HANDLE.match(key)) and not key.startswith("@")


def _texts(posts: Iterable[PostText]) -> list[str | None]:
    """What notes might quote from the posts."""
    return [text for p in posts for text in (p.title, p.text, p.spoiler_text)]


def _profile_url(acct: str) -> str:
    """Where Mastodon shows an account: its row may carry a different acct domain (WebFinger) than the web host."""
    name, host = acct.split("@", 1)
    return f"https://{host}/@{name}"
