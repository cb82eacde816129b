"""The contract between collectors and the harvest loop.

A collector fetches and normalises, nothing more: it reads the state the store handed it and
yields `Batch`es. What may be stored is not its business: every batch passes one privacy check on
its way into the store (harvester.privacy.keep: tombstones, suppressed and opted-out authors).
The harvest loop (harvester.jobs.harvest) stores each batch, with the state changes it carries, in
one transaction, so a crash between batches loses nothing and repeats nothing.
A collector raises `FetchError` when the source failed as a whole; problems that leave a partial
result (one malformed page, one entry that could not be read) go into `Batch.problems`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Protocol

from ..config import Config, Source
from ..dutch import counted
from ..models import Cursor, Post, SourceRow
from ..timeutil import dutch_time, to_utc_iso
from .http import Fetcher

# how far ahead of our clock a source's time may be: clocks drift and a time zone may be misread by
# hours, but a post dated days ahead is a typo (2099) or scheduled, and would head every list for ever
FUTURE_MARGIN = timedelta(days=1)


@dataclass(frozen=True)
class SourceState:
    """What the store knows about a source when a run starts."""

    row: SourceRow
    cursors: dict[str, Cursor] = field(default_factory=dict)   # Mastodon: by tag group


@dataclass
class Batch:
    posts: list[Post] = field(default_factory=list)
    skipped: int = 0                       # entries left out on purpose (untagged, not public)
    problems: list[str] = field(default_factory=list)   # partial failures, in Dutch, for `status`
    not_modified: bool = False             # a 304: nothing to do
    validators: tuple[str | None, str | None] | None = None   # (ETag, Last-Modified) to store
    moved_to: str | None = None            # permanent redirect: the new URL
    gone: bool = False                     # 410: disable the source
    auth_required: bool | None = None      # Mastodon: instance wants a token (None: unknown)
    ratelimit: tuple[int | None, str | None] | None = None     # (remaining, reset) as last seen
    cursor: Cursor | None = None           # moves only together with these posts
    opted_out: tuple[str, ...] = ()        # author keys (acct, DID) seen opting out: their posts stay out,
                                           # what is stored of them is forgotten


class Collector(Protocol):
    def __call__(self, source: Source, state: SourceState, fetcher: Fetcher, config: Config) -> Iterator[Batch]: ...


# what comes after a stop for the rate limit: a collection's next run, or the next recheck
NEXT_RUN = "de volgende run gaat verder waar deze stopte"
NEXT_RECHECK = "de recheck gaat de volgende keer verder"


def rate_limit_stop(base: str, last: tuple[int | None, str | None] | None, then: str = NEXT_RUN) -> str:
    """The problem a collection or a recheck records when it stops because the rate limit is nearly
    used up (`last`: the limit's remaining requests and reset, as the rate-limit watch saw them last).
    `harvester status` shows it as the run's error, beside the limit's reset in Dutch time, so the
    reset here is in Dutch time too."""
    remaining, reset = last or (None, None)
    return (f"rate limit van {base} bijna op (nog {counted(remaining or 0, 'verzoek', 'verzoeken')} tot "
            f"{dutch_time(reset) or 'onbekend'}); {then}")


def read_page(items: list, convert: Callable[[object], Post | None], what: str) -> tuple[list[Post], int, list[str]]:
    """A page of API items as Posts, how many were left out on purpose (`convert` gave None), and a
    problem (Dutch) for each item that could not be read; the rest of the page is kept.

    The problem names the item (`what`, e.g. "status") by its place on the page, never by its id or
    address: those lead to the author, and the runs that keep the problems are not cleaned when that
    author is forgotten or opts out. So the errors of `convert` name fields, not their values.
    """
    posts: list[Post] = []
    skipped = 0
    problems: list[str] = []
    for place, item in enumerate(items, 1):
        try:
            post = convert(item)
        except (KeyError, TypeError, ValueError, AttributeError) as e:
            problems.append(f"{what} {place} van {len(items)} op de pagina overgeslagen: onleesbaar "
                            f"({type(e).__name__}: {e})")
            continue
        if post is None:
            skipped += 1
        else:
            posts.append(post)
    return posts, skipped, problems


def without_future_times(posts: list[Post], where: str) -> tuple[list[Post], list[str]]:
    """The posts with each publication or edit time more than FUTURE_MARGIN ahead of now taken out,
    and a problem (Dutch) saying how many posts that touched, if any.

    Taken out rather than set to now, which would move on every run: a post without a publication
    time sorts by when it was first seen, and a run that sees it once its time has come stores it.
    """
    limit = to_utc_iso(datetime.now(UTC) + FUTURE_MARGIN)   # stored times compare as text
    checked: list[Post] = []
    held_back = 0
    for post in posts:
        published = post.published_at if (post.published_at or "") <= limit else None
        edited = post.edited_at if (post.edited_at or "") <= limit else None
        if (published, edited) != (post.published_at, post.edited_at):
            post = replace(post, published_at=published, edited_at=edited)
            held_back += 1
        checked.append(post)
    if not held_back:
        return checked, []
    when = ("het staat op het moment waarop het gevonden is" if held_back == 1 else
            "ze staan op het moment waarop ze gevonden zijn")
    return checked, [f"{counted(held_back, 'bericht', 'berichten')} in {where} gedateerd meer dan een dag na nu: "
                     f"opgeslagen zonder die datum ({when})"]
