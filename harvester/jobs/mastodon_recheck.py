"""Finding Mastodon and Bluesky posts their authors deleted, and honouring that.

Posts younger than `recheck_days` are asked for again on every instance they were seen on, twenty
at a time with `GET /api/v1/statuses?id[]=` (Mastodon 4.3+); an instance without that route (404)
is asked status by status with `GET /api/v1/statuses/:id`. A status missing from the answer, or a
404 for it alone in Mastodon's words (not a web server's error page), is gone there. A post gone on
an instance and present on none is deleted from the store with a tombstone (see
harvester.privacy.forget.deleted_at_source), so no later harvest brings it back. An instance that could not be asked (network, rate limit, token) decides nothing. A source whose
token_env names a variable holding no token is asked without one, as the collector does, and the
pass is partial and names the variable in the collector's words (`InstanceClient.missing_token`).
Bluesky posts are asked for by their at:// uri with `app.bsky.feed.getPosts`, 25 at a time
(harvester.jobs.bluesky_recheck); a post the answer leaves out was deleted (or its account taken
down) and is handled the same way; an author who set `!no-unauthenticated` since is forgotten.
Bluesky posts cannot be edited, so there are no edits to pick up.

Editors' notes that quote a deleted post lose the quote first (harvester.privacy.forget.scrub_quotes).
A status that is still there and was edited since it was stored (`edited_at`) updates the post, so
edits of posts older than a collector run's newest page are picked up too. A status whose author
has opted out since (harvester.collectors.mastodon, `opted_out`) makes the store forget that author
(harvester.privacy.forget.optout). When anything was removed (`RecheckResult.removed`), the
initiatives' counts are made anew without it, once for the pass (a database that refuses that is
one of the pass's problems: the summary stays stale for the next pass), and the caller
compacts the file, so the text is gone from the search index and the file too: the job does
that behind its write gate, as VACUUM holds the write lock for seconds.

`recheck(store, config, fetcher)` is what the background job's pass calls (`Jobs.recheck_pass`),
which the scheduler and `harvester recheck` run.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from ..collectors import bluesky
from ..collectors.base import NEXT_RECHECK, rate_limit_stop
from ..collectors.http import FetchError, Fetcher
from ..collectors.mastodon import InstanceClient, Normalizer, mastodon_error
from ..config import BlueskySource, Config, MastodonSource
from ..privacy.forget import deleted_at_source, optout, scrub_quotes
from ..privacy.hashing import SecretMissing, load_secret
from ..store import Store
from ..store.mastodon import Sighting
from ..timeutil import to_utc_iso
from .bluesky_recheck import ask as ask_bluesky

BATCH_SIZE = 20      # Mastodon's limit for id[] on GET /api/v1/statuses


@dataclass
class RecheckResult:
    checked: int = 0                      # posts asked about on at least one instance
    deleted: int = 0
    updated: int = 0                      # edited at the source since they were stored
    opted_out: int = 0                    # authors who opted out since: their posts were removed
    problems: list[str] = field(default_factory=list)   # per instance, in Dutch: the recheck failed there
    # per source, in Dutch: asked, but not as the config meant (no token in token_env's variable)
    warnings: list[str] = field(default_factory=list)

    @property
    def removed(self) -> bool:
        """Whether posts were removed: the file wants compacting."""
        return bool(self.deleted or self.opted_out)

    @property
    def outcome(self) -> tuple[str, str | None]:
        """The pass's status and problem for `harvester status`: partial when there is anything to say."""
        said = self.problems + self.warnings
        return ("partial" if said else "ok"), "; ".join(said) or None


def recheck(store: Store, config: Config, fetcher: Fetcher) -> RecheckResult:
    since = to_utc_iso(datetime.now(UTC) - timedelta(days=config.harvest.recheck_days))
    by_source: dict[int, list[Sighting]] = defaultdict(list)
    for sighting in store.mastodon.sightings_since(since):
        by_source[sighting.source_id].append(sighting)
    present: set[int] = set()
    gone: dict[int, list[str]] = defaultdict(list)      # post id -> instances where it is gone
    keys: dict[int, str] = {}
    opted_out: set[str] = set()
    result = RecheckResult()
    for source in config.sources:
        row = store.sources.get(source.name)
        if not isinstance(source, (MastodonSource, BlueskySource)) or not source.enabled or row is None \
                or not by_source[row.id]:
            continue
        sightings = by_source[row.id]
        normalizer = None
        try:
            if isinstance(source, BlueskySource):
                found = ask_bluesky(bluesky.BlueskyClient(source, fetcher), [s.remote_id for s in sightings])
                opted = bluesky.opted_out
            else:
                client = InstanceClient(source, fetcher, config)
                normalizer = Normalizer(client, config)
                opted = normalizer.opted_out_accts
                found = _ask(client, [s.remote_id for s in sightings])
                if missing := client.missing_token():   # said as the collector says it
                    result.warnings.append(f"{source.name}: {missing}")
        except FetchError as e:
            result.problems.append(f"{source.name}: {e}")
            found = None
        for s in sightings:
            keys[s.post_id] = s.key
            if found is None:
                continue
            if s.remote_id in found:
                present.add(s.post_id)
                accts = opted([found[s.remote_id]])
                opted_out.update(accts)
                # an opted-out author's posts are forgotten below, not updated; Bluesky posts have no edits
                if normalizer is not None and not accts:
                    result.updated += _update_if_edited(store, row.id, s, found, normalizer)
            else:
                gone[s.post_id].append(source.name)
    result.checked = len(present | set(gone))
    deleted = {post_id: sources for post_id, sources in gone.items() if post_id not in present}
    scrub_quotes(store, list(deleted))
    for post_id, sources in deleted.items():
        deleted_at_source(store, post_id, keys[post_id], sources)
        result.deleted += 1
    if opted_out:
        result.opted_out = _forget_opted_out(store, config, sorted(opted_out), result.problems)
    if result.removed:      # once for the pass's deletions and opt-outs: each recount holds the write lock
        from ..initiatives.step import recount   # here: networkx, which start-up does not load

        problem = recount(store, config.initiatives.min_authors)   # the deletions stand; the file still wants compacting
        if problem:
            result.problems.append(problem)
    return result


def _forget_opted_out(store: Store, config: Config, accts: list[str], problems: list[str]) -> int:
    """Forget the authors who opted out; without the key their posts still go, without a suppression."""
    try:
        secret: bytes | None = load_secret(config.privacy.secret_env)
    except SecretMissing as e:
        secret = None
        problems.append(f"posts van afgemelde auteurs verwijderd, maar zonder suppressie: {e}")
    return sum(optout(store, secret, acct) is not None for acct in accts)


def _update_if_edited(store: Store, source_id: int, sighting: Sighting, found: dict[str, dict],
                      normalizer: Normalizer) -> int:
    """Store a newer edit of a post the instance still shows; 1 if the post changed."""
    status = found[sighting.remote_id]
    if not status.get("edited_at"):
        return 0
    uris = {status_id: s.get("uri") for status_id, s in found.items()}
    try:
        post = normalizer.post(status, uris)
    except (KeyError, TypeError, ValueError, AttributeError):
        return 0
    if post is None or post.key != sighting.key or post.edited_at == sighting.edited_at:
        return 0
    return int(store.posts.upsert(post, source_id) == "updated")


def _ask(client: InstanceClient, ids: list[str]) -> dict[str, dict]:
    """The statuses among `ids` the instance still shows: batches of 20, else one by one on older servers."""
    found: dict[str, dict] = {}
    batch_route = True
    for start in range(0, len(ids), BATCH_SIZE):
        chunk = ids[start:start + BATCH_SIZE]
        if batch_route:
            if not client.room_for_more():
                raise FetchError(rate_limit_stop(client.base, client.ratelimit, NEXT_RECHECK))
            body, _ = client.get_json("/api/v1/statuses", [("id[]", i) for i in chunk], allow=(404,))
            if body is not None:
                if not isinstance(body, list):
                    raise FetchError(f"onverwacht antwoord van {client.base}/api/v1/statuses: geen lijst")
                found.update((s["id"], s) for s in body if isinstance(s, dict) and s.get("id") in chunk)
                continue
            batch_route = False      # an older server: no batch route
        for status_id in chunk:
            if not client.room_for_more():
                raise FetchError(rate_limit_stop(client.base, client.ratelimit, NEXT_RECHECK))
            try:
                body, response = client.get_json(f"/api/v1/statuses/{status_id}", allow=(404, 410))
            except FetchError as e:
                # the id leads to the post's author; the job's outcome and the log, where this ends up,
                # outlive a forget: name the route only
                raise type(e)(str(e).replace(f"/api/v1/statuses/{status_id}", "/api/v1/statuses/:id")) from None
            if isinstance(body, dict):
                found[status_id] = body
            # only Mastodon's own 404 says the status is gone: a web server's or proxy's error page
            # (the domain serves something else now) would have every recent post deleted and tombstoned
            elif body is None and mastodon_error(response) is None:
                raise FetchError(f"onverwacht antwoord van {client.base}/api/v1/statuses/:id: HTTP {response.status} "
                                 "zonder de foutmelding van Mastodon; niets als verwijderd beschouwd")
    return found

