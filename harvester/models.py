"""Plain dataclasses that cross module boundaries: collectors produce them, the store keeps them."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import NamedTuple
from urllib.parse import urlparse


class DomainWord(StrEnum):
    """A word of the domain, stored in the database as its (Dutch) value; compares equal to it."""

    @classmethod
    def has(cls, value: object) -> bool:
        """Whether `value` (a plain string from a form, a flag or a row) is one of these words."""
        return value in cls._value2member_map_


class Status(DomainWord):
    """Where an idea stands in review; a post without a review is NEW."""

    NEW = "nieuw"
    ACCEPTED = "geaccepteerd"
    REJECTED = "afgewezen"
    DUPLICATE = "duplicaat"


class Role(DomainWord):
    """What an account of the review app may do, each role including the ones before it."""

    READER = "lezer"
    EDITOR = "redacteur"
    ADMIN = "beheerder"

    def includes(self, other: str) -> bool:
        """True when this role is at least `other` (lezer < redacteur < beheerder)."""
        members = list(Role)
        return members.index(self) >= members.index(Role(other))


class Action(DomainWord):
    """An editor's decision on a post, as the audit trail records it."""

    ACCEPT = "accept"
    SET_THEMES = "set_themes"
    REJECT = "reject"
    DUPLICATE = "duplicate"
    NOTE = "note"
    REOPEN = "reopen"
    UNDO = "undo"


@dataclass(frozen=True)
class Author:
    key: str                      # Mastodon acct with domain, Bluesky DID, or a feed author's name or URL
    display_name: str | None = None
    profile_url: str | None = None
    bot: bool = False
    handle: str | None = None     # Bluesky: the handle as last seen (None while it does not verify)


def author_label(name: str | None, key: str | None, handle: str | None = None) -> str:
    """How an author is named to people: 'Kees (kees@mastodon.nl)'. A Bluesky author is keyed by
    their DID, which means nothing to a reader: the handle stands in for it while there is one
    ('Kees (kees.bsky.social)'). A feed author known only by name has the key
    'Kees van Dijk (blog.example.nl)', which already holds the name: then the key alone, not
    'Kees van Dijk (Kees van Dijk (blog.example.nl))'."""
    account = handle or key
    if name and account and name != account and not account.startswith(f"{name} ("):
        return f"{name} ({account})"
    return account or name or ""


@dataclass(frozen=True)
class Post:
    """One harvested post, normalised (see harvester.normalize), ready to store."""

    key: str                      # canonical identity: status uri, Bluesky at:// uri, feed entry id, else link
    kind: str                     # 'feed', 'mastodon' or 'bluesky'
    content_html: str
    text: str
    url: str | None = None
    title: str | None = None
    remote_id: str | None = None  # the id on the instance it was fetched from
    spoiler_text: str | None = None
    language: str | None = None
    published_at: str | None = None   # ISO 8601, UTC
    edited_at: str | None = None
    tags: tuple[str, ...] = ()        # lower-case, without '#'
    links: tuple[str, ...] = ()
    mentions: tuple[str, ...] = ()
    # each mention with the lasting key of the account it names (Bluesky: the DID its facet carries
    # beside the handle the text shows). Not stored: the keep-check tests it, as a forgotten
    # Bluesky author is suppressed by DID, not by handle
    mention_keys: tuple[tuple[str, str], ...] = ()
    in_reply_to: str | None = None
    replies_count: int | None = None
    reblogs_count: int | None = None
    favourites_count: int | None = None
    author: Author | None = None
    # a key the same post may be stored under from before keys had their present form (a feed
    # entry's bare id): the store takes that row over if only sources of the post's site saw it,
    # and a tombstone of it still holds
    former_key: str | None = None


@dataclass
class RunCounts:
    """What one run of one source did to the store."""

    new: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0
    requests: int = 0

    def add(self, outcome: str) -> None:
        setattr(self, outcome, getattr(self, outcome) + 1)


DEFAULT_PORTS = {"http": 80, "https": 443}


def site_key(entry_id: str, site: str) -> str:
    """The key of a feed entry whose id is unique within its site only: `42 (gemeente-a.nl)`."""
    return f"{entry_id} ({site})"


def site_of(url: str) -> str:
    """The site a source belongs to, as named in the keys of its feed's entries: the host without a
    leading `www.`, with the port if the URL names one other than its scheme's default.

    Entries numbered by a site are the same entries in every feed of that site, so the store also
    asks it when it decides whether a row under a bare id can only be one post. What a site's
    address may lose or gain without becoming another site (`www.`, http becoming https, a port
    written out) is left out, so that an administrator who edits the URL that way, for instance to
    where a permanent redirect leads, keeps the keys, and tombstones of them still hold.
    """
    parts = urlparse(url)
    host = (parts.hostname or url).removeprefix("www.")
    return f"{host}:{parts.port}" if parts.port not in (None, DEFAULT_PORTS.get(parts.scheme)) else host


@dataclass(frozen=True)
class SourceRow:
    """A source as the store knows it: identity, current URL and conditional-GET state."""

    id: int
    name: str
    type: str
    configured_url: str
    url: str
    etag: str | None
    last_modified: str | None
    gone_at: str | None
    auth_required: bool
    ratelimit_remaining: int | None
    ratelimit_reset: str | None


@dataclass(frozen=True)
class SourceStatus:
    """One line of `harvester status`."""

    name: str
    type: str
    url: str
    last_run_at: str | None
    last_run_status: str | None
    last_success_at: str | None
    new_in_last_run: int
    consecutive_failures: int
    last_error: str | None
    gone: bool = False
    auth_required: bool = False
    ratelimit_remaining: int | None = None
    ratelimit_reset: str | None = None
    last_run_pid: int | None = None    # the process that ran the last run (NULL: recorded before runs named it)
    last_run_host: str | None = None


@dataclass(frozen=True)
class Cursor:
    """Paging state for one (source, tag group); stored with the page it follows.

    Mastodon keeps status ids here; Bluesky (one tag per group) keeps times: `newest_id` is the
    newest post's time, and an unfinished walk leaves the window from `backfill_since` up to
    `backfill_max_id` still to read (harvester.collectors.bluesky).
    """

    tag_group: str
    newest_id: str | None = None          # min_id for the next incremental run
    backfill_max_id: str | None = None    # where an unfinished backfill goes on
    backfill_done: bool = False
    backfill_since: str | None = None     # Bluesky: the lower end of that unfinished window


@dataclass(frozen=True)
class Classification:
    """The NLP verdict on one text (produced by harvester.nlp, stored by the store)."""

    scores: dict[str, float]              # theme id -> 0..1
    assigned: tuple[str, ...]             # themes whose score passed their threshold (may be empty)
    reasons: dict[str, list[str]]         # theme id -> terms/features that weighed most
    language: str | None                  # detected
    is_dutch: bool
    confidence: float                     # 0..1, low means "review this first"
    model_version: str


@dataclass(frozen=True)
class ExportQuery:
    """Which posts an export holds; an empty filter lets everything through."""

    statuses: tuple[str, ...] = ()        # review states; a post without a review is 'nieuw'
    themes: tuple[str, ...] = ()          # theme ids: the editor's once reviewed, else the model's
    since: str | None = None              # UTC ISO 8601, inclusive, compared with published_at
    until: str | None = None              # UTC ISO 8601, exclusive
    sources: tuple[str, ...] = ()         # source names the post was seen on
    per_theme: bool = False               # one row per (idea, theme) instead of one per idea
    duplicates: bool = False              # duplicates as rows of their own, not only counted at their original


class ExportRow(NamedTuple):
    """One row of a workshop export as the store holds it; harvester.export makes the cells.
    (A tuple: a million stream by.)"""

    post_id: int
    themes: str                           # theme ids, ','-separated, in their order; one with per_theme
    score: float | None                   # rounded to 3 decimals: the model's score for the row's theme,
                                          # or the best of the idea's themes
    title: str | None
    text: str
    author_key: str | None
    author_name: str | None
    author_handle: str | None             # a Bluesky author's handle (the key is the DID)
    sources: str                          # source names, ', '-separated
    url: str | None
    published_at: str | None              # as stored (UTC)
    status: str
    note: str | None
    duplicates: int                       # posts marked as duplicates of this one
    idea_group: str | None = None         # 'group id:member ids' (','-separated) when editors grouped it


@dataclass
class RunResult:
    """How one source's run ended, for the CLI summary, the log line and the scheduler."""

    source: str
    # ok, partial, failed, not_modified, or skipped (no run row: gone, disabled, or being collected
    # by another process)
    status: str
    counts: RunCounts
    error: str | None = None      # Dutch, as `harvester status` shows it
    duration: float = 0.0         # seconds
    run_id: int | None = None
    # an author who opted out was forgotten: the caller compacts the file (Store.privacy.compact),
    # the scheduler behind its write gate, as VACUUM holds the write lock for seconds, and makes the
    # initiatives' counts anew without them (a matching pass, or `initiatives.step.recount`)
    forgot_authors: bool = False

    @property
    def failed(self) -> bool:
        return self.status == "failed"


@dataclass(frozen=True)
class InitiativeStats:
    """One initiative's line on the "Initiatieven" page (harvester.initiatives.network makes it)."""

    initiative: str
    posts: int
    authors: int
    first_seen: str | None                # the first and last post naming it (published, else first seen)
    last_seen: str | None
    themes: dict[str, int]                # theme id -> posts


@dataclass(frozen=True)
class InitiativeEdge:
    """A link between two initiatives in their network (source < target)."""

    source: str
    target: str
    posts: int                            # the weight: posts that carry the link
    together: int                         # posts that name both
    authors: int                          # authors who named both
