"""The matching step: pending posts from the store, through the Matcher, back into the store.

The only place that knows both sides (like harvester.jobs.classify for themes). `update` is what the
background job runs after each harvest and what `harvester initiatives` runs first: it notices a
changed catalogue (the file or an editor's decision), other consultation tags or newer matching
rules by the Matcher's digest and then matches every post again; otherwise only new and edited
posts. When anything changed it makes the counts, the network and the candidates anew.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import networkx as nx

from ..config import Config
from ..dutch import database_condition
from ..store import Store
from ..store.initiatives import PendingPost, PostMatch
from ..timeutil import to_utc_iso
from .catalogue import Catalogue, CandidateDecision, Decision, load_catalogue
from .matching import Matcher, PostFacts
from .network import graph, summarise

PAGE = 5_000        # posts read, matched and written at a time
LOOK_BACK = timedelta(hours=1)

Progress = Callable[[int, int], None]   # (done, total)


@dataclass(frozen=True)
class UpdateResult:
    rematched: bool         # the catalogue had changed: every post was matched again
    matched: int            # posts matched in this update
    summarised: bool        # the counts, network and candidates were made anew


def catalogue(store: Store, config: Config) -> Catalogue:
    """The configured file with the initiatives and aliases editors confirmed (dismissals change nothing)."""
    decisions = [CandidateDecision(d.kind, d.term, d.label, d.decision, d.initiative)
                 for d in store.initiatives.decisions() if d.decision != Decision.DISMISSED]
    return load_catalogue(config.initiatives.file).with_decisions(decisions)


def update(store: Store, config: Config, progress: Progress | None = None) -> UpdateResult:
    """Match what is pending (everything, when the catalogue changed), then summarise if needed."""
    matcher = Matcher(catalogue(store, config), config.tags)
    rematched = store.initiatives.digest() != matcher.digest
    if rematched:
        store.initiatives.reset(matcher.digest)
    total = store.initiatives.count_pending() if progress else 0
    # what this pass will have matched: every post changed before it started. A harvest's
    # transaction may commit a post stamped a little earlier, so the next pass looks an hour back.
    through = to_utc_iso(datetime.now(UTC) - LOOK_BACK)
    done, after = 0, 0
    while True:
        posts = store.initiatives.pending(limit=PAGE, after_id=after)
        if not posts:
            break
        after = posts[-1].id
        store.initiatives.save([match_post(matcher, p) for p in posts], seen={p.id: p.changed_at for p in posts})
        done += len(posts)
        if progress:
            progress(done, total)
    if through > store.initiatives.matched_through():
        store.initiatives.set_matched_through(through)
    summarised = summarise_if_stale(store, config.initiatives.min_authors)
    return UpdateResult(rematched, done, summarised)


def summarise_if_stale(store: Store, min_authors: int) -> bool:
    """Make the counts, the network and the candidates anew from the matches stored now, if they
    changed since (True then). Besides a pass, a forget and a purge call it in their own transaction,
    a recheck once after its deletions at the source and opt-outs, and `harvester collect` once after
    runs that forgot authors who opted out (the background job runs a pass then): the posts they
    delete must not live on in the pages' figures until the next pass, which may be days off without
    the background job.

    Reading the matches and saving what they add up to is one transaction (inside a forget's or a
    purge's, a savepoint of it): read outside it, a forget committing meanwhile would be undone by
    a save of the counts as they were before it. A staleness marker checked at the save would hold
    the lock for the save alone, but `summarised_at` goes from NULL to a time and back to NULL as
    passes and forgets follow each other, so it cannot tell that a forget came in between; a counter
    would need a column and triggers of its own. The check before the transaction keeps a pass with
    nothing to count from taking the write lock."""
    if not store.initiatives.needs_summary():
        return False
    with store.atomic():
        if not store.initiatives.needs_summary():      # another process counted meanwhile
            return False
        stats, edges = summarise(store.initiatives.match_rows(), store.initiatives.theme_counts())
        store.initiatives.save_summary(stats, edges, min_authors=min_authors)
    return True


def recount(store: Store, min_authors: int) -> str | None:
    """`summarise_if_stale` after posts were deleted (a collection that forgot authors who opted
    out, a recheck): a database that refuses (busy, full) must not undo or hide what was deleted,
    so its reason comes back in Dutch for the caller's problems or log, the summary stays marked
    stale, and the next pass counts. Any other SQLite error is a bug and goes on."""
    try:
        summarise_if_stale(store, min_authors)
    except sqlite3.Error as e:
        reason = database_condition(e)
        if reason is None:
            raise
        return f"tellingen van de initiatieven niet opnieuw gemaakt ({reason}); de achtergrondtaak of `harvester initiatives` telt opnieuw"
    return None


def match_post(matcher: Matcher, post: PendingPost) -> PostMatch:
    facts = PostFacts(post.id, f"{post.title}\n{post.text}" if post.title else post.text, tuple(post.tags),
                      tuple(post.mentions), tuple(post.links), post.author)
    matches, terms = matcher.read(facts)
    return PostMatch(post.id, post.published, [(m.initiative, m.via, m.evidence) for m in matches],
                     [(t.kind, t.key, t.label) for t in terms])


def network(store: Store) -> nx.Graph:
    """The network as it was last summarised."""
    return graph(store.initiatives.stats(), store.initiatives.edges())
