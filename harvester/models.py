"""Plain dataclasses that cross module boundaries: collectors produce them, the store keeps them."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import NamedTuple


@dataclass(frozen=True)
class Author:
    key: str                      # Mastodon acct with domain, or a feed author's name or URL
    display_name: str | None = None
    profile_url: str | None = None
    bot: bool = False


@dataclass(frozen=True)
class Post:
    """One harvested post, normalised (see harvester.normalize), ready to store."""

    key: str                      # canonical identity: status uri, feed entry id, else link
    kind: str                     # 'feed' or 'mastodon'
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
    in_reply_to: str | None = None
    replies_count: int | None = None
    reblogs_count: int | None = None
    favourites_count: int | None = None
    author: Author | None = None


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


@dataclass(frozen=True)
class Cursor:
    """Mastodon paging state for one (source, tag group); stored with the page it follows."""

    tag_group: str
    newest_id: str | None = None          # min_id for the next incremental run
    backfill_max_id: str | None = None    # where an unfinished backfill goes on
    backfill_done: bool = False


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


@dataclass(frozen=True)
class Pseudonyms:
    """Keyed stand-ins for the names in an export (harvester.hashing does the keying)."""

    name: Callable[[str], str]            # an author's key -> their pseudonym
    text: Callable[[str], str]            # a text with every @mention replaced by a pseudonym


@dataclass(frozen=True)
class ExportCells:
    """How the store turns a post into the cells of an export (it computes them in SQL)."""

    local_time: Callable[[str | None], str | None]  # a stored UTC time as ISO 8601 in Dutch time
    labels: Mapping[str, str] = field(default_factory=dict)   # theme id -> name shown (else the id)
    defuse: tuple[str, ...] = ()          # a text cell starting with one of these gets an apostrophe
    pseudonymize: Pseudonyms | None = None   # authors and @mentions pseudonymised, links left out


class ExportRow(NamedTuple):
    """One row of a workshop export, its cells as the file shows them (a tuple: a million stream by)."""

    post_id: int
    themes: str                           # labels, ', '-separated; exactly one with per_theme
    text: str                             # a feed entry's title, a blank line, then the text
    author: str                           # 'Name (account)', one of the two, or a pseudonym
    sources: str                          # source names, ', '-separated
    url: str
    published: str                        # ISO 8601 in Dutch time; '' when unknown
    status: str
    score: float | None                   # rounded to 3 decimals: the model's score for the theme, or
                                          # the best of the idea's themes
    note: str
    duplicates: int                       # posts marked as duplicates of this one


@dataclass
class RunResult:
    """How one source's run ended, for the CLI summary, the log line and the scheduler."""

    source: str
    status: str                   # ok, partial, failed, not_modified, or skipped (no run row: gone, disabled)
    counts: RunCounts
    error: str | None = None      # Dutch, as `harvester status` shows it
    duration: float = 0.0         # seconds
    run_id: int | None = None

    @property
    def failed(self) -> bool:
        return self.status == "failed"
