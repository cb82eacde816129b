"""The Bluesky collector against a fake Bluesky service on 127.0.0.1, through the real harvest loop and store."""

from __future__ import annotations

import json
import math
import re
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from harvester.cli import main
from harvester.collectors import bluesky
from harvester.collectors.http import Fetcher
from harvester.config import ConfigError, load_config
from harvester.export import author_cell
from harvester.models import ExportQuery
from harvester.privacy.hashing import fingerprint
from harvester.jobs.harvest import run_source
from harvester.jobs.mastodon_recheck import recheck
from harvester.store import Store
from harvester.store.schema import MIGRATIONS, V_BLUESKY, V_BLUESKY_DIDS
from harvester.store.reviews.search import lemma_text

from .bluesky_fake import FakeBluesky, did_of, make_post
from .localserver import Reply
from .test_mastodon import kill_in_third_page

SECRET = "een-geheime-sleutel-van-de-tests"


@pytest.fixture(autouse=True)
def _credentials(monkeypatch):
    monkeypatch.setenv("BSKY_TEST_HANDLE", "harvester.bsky.social")
    monkeypatch.setenv("BSKY_TEST_PASSWORD", "abcd-efgh-ijkl-mnop")
    monkeypatch.setenv("HARVESTER_SECRET", SECRET)
    bluesky.forget_sessions()
    yield
    bluesky.forget_sessions()


@pytest.fixture
def fake(server):
    return FakeBluesky(server)


def source_toml(url: str, name: str = "bsky") -> str:
    return (f'\n[[sources]]\nname = "{name}"\ntype = "bluesky"\nservice = "{url}"\n'
            'handle_env = "BSKY_TEST_HANDLE"\napp_password_env = "BSKY_TEST_PASSWORD"\n')


@pytest.fixture
def harvest(write_config, store, fake):
    """One run of the Bluesky source through the harvest loop."""

    def run(*, harvest: str = "", sleep=time.sleep):
        config = load_config(write_config(source_toml(fake.url), harvest=harvest))
        with Fetcher(config.harvest, sleep=sleep) as fetcher:
            (result,) = [run_source(store, config, s, fetcher) for s in config.sources]
        return result

    return run


def searches(fake: FakeBluesky) -> list:
    return fake.calls("app.bsky.feed.searchPosts")


def keys(store) -> list[str]:
    return [r[0] for r in store.db.execute("SELECT key FROM posts ORDER BY key")]


def minutes_ago(n: float) -> datetime:
    return datetime.now(UTC) - timedelta(minutes=n)


def test_a_post_with_facets_becomes_tags_mentions_links_and_html(fake, harvest, store):
    text = "Wat als elke gemeente één loket deelt? Met @bert.overheid.nl https://example.nl/plan #Innoverheid"
    quoted = f"at://{did_of('carla.bsky.social')}/app.bsky.feed.post/3kquoted"
    parent = f"at://{did_of('carla.bsky.social')}/app.bsky.feed.post/3kparent"
    view = make_post("3lbidee", text=text, display_name="Marieke van Dam", created_at=minutes_ago(30), record={
        "reply": {"root": {"uri": parent, "cid": "bafy1"}, "parent": {"uri": parent, "cid": "bafy1"}},
        "embed": {"$type": "app.bsky.embed.record", "record": {"uri": quoted, "cid": "bafy2"}},
        "tags": ["lanceerplatform"]})
    fake.add(view)
    result = harvest()
    assert result.status == "ok" and result.counts.new == 1
    row = store.db.execute(
        "SELECT p.key, p.kind, p.url, p.text, p.content_html, p.language, p.links, p.mentions, p.in_reply_to,"
        " p.replies_count, p.reblogs_count, p.favourites_count, a.key, a.display_name, a.profile_url, g.remote_id,"
        " a.handle"
        " FROM posts p JOIN authors a ON a.id = p.author_id JOIN sightings g ON g.post_id = p.id").fetchone()
    did = did_of("marieke.bsky.social")
    assert row[:4] == (view["uri"], "bluesky", "https://bsky.app/profile/marieke.bsky.social/post/3lbidee", text)
    assert '<a href="https://bsky.app/hashtag/Innoverheid">#Innoverheid</a>' in row[4]
    assert f'<a href="https://bsky.app/profile/{did_of("bert.overheid.nl")}">@bert.overheid.nl</a>' in row[4]
    assert row[4].startswith("<p>Wat als elke gemeente één loket deelt?")
    assert row[5] == "nl"
    assert json.loads(row[6]) == ["https://example.nl/plan", f"https://bsky.app/profile/{did_of('carla.bsky.social')}/post/3kquoted"]
    assert json.loads(row[7]) == ["bert.overheid.nl"]
    assert row[8] == parent and row[9:12] == (2, 5, 11)
    assert row[12:] == (did, "Marieke van Dam", f"https://bsky.app/profile/{did}", view["uri"], "marieke.bsky.social")
    tags = [r[0] for r in store.db.execute("SELECT tag FROM post_tags ORDER BY tag")]
    assert tags == ["innoverheid", "lanceerplatform"]      # facet tag and the record's own tags


def test_facets_that_point_outside_the_text_or_into_a_character_are_left_out(fake, harvest, store):
    text = "één idee #innoverheid"
    good = {"index": {"byteStart": 11, "byteEnd": 23}, "features": [{"$type": "app.bsky.richtext.facet#tag", "tag": "innoverheid"}]}
    fake.add(make_post("3lkapot", text=text, facets=[
        {"index": {"byteStart": 1, "byteEnd": 3}, "features": [{"$type": "app.bsky.richtext.facet#link", "uri": "https://x.example"}]},
        {"index": {"byteStart": 20, "byteEnd": 400}, "features": [{"$type": "app.bsky.richtext.facet#tag", "tag": "te-ver"}]},
        good]))
    assert text.encode()[11:23] == b"#innoverheid"
    result = harvest()
    assert result.status == "ok"
    links, html_text = store.db.execute("SELECT links, content_html FROM posts").fetchone()
    assert json.loads(links) == [] and html_text == '<p>één idee <a href="https://bsky.app/hashtag/innoverheid">#innoverheid</a></p>'
    assert [r[0] for r in store.db.execute("SELECT tag FROM post_tags")] == ["innoverheid"]


def test_a_link_is_kept_by_the_same_rule_as_a_posts_link(fake, harvest, store):
    """A link facet or a link card whose address has a space in it is no web address: it is neither
    kept as a link nor made into one in the HTML; a scheme in capitals is no reason to drop one."""
    text = "Een plan #innoverheid"

    def link(start: int, end: int, uri: str) -> dict:
        return {"index": {"byteStart": start, "byteEnd": end}, "features": [{"$type": "app.bsky.richtext.facet#link", "uri": uri}]}

    fake.add(make_post("3llinks", text=text, facets=[link(0, 3, "https://example.nl/een plan"), link(4, 8, "HTTPS://Example.nl/Plan")],
                       record={"tags": ["innoverheid"], "embed": {"$type": "app.bsky.embed.external",
                                         "external": {"uri": "https://example.nl/kaart\x01", "title": "t", "description": ""}}}))
    assert harvest().status == "ok"
    links, html_text = store.db.execute("SELECT links, content_html FROM posts").fetchone()
    assert json.loads(links) == ["HTTPS://Example.nl/Plan"]
    assert html_text == '<p>Een <a href="HTTPS://Example.nl/Plan">plan</a> #innoverheid</p>'


def test_one_search_per_tag_and_a_post_with_both_tags_is_stored_once(fake, harvest, store):
    fake.add(make_post("3la", text="Alleen #innoverheid"), make_post("3lb", text="Alleen #lanceerplatform"),
             make_post("3lc", text="Allebei #innoverheid #lanceerplatform"), make_post("3ld", text="Iets anders #koffie"))
    result = harvest()
    assert result.counts.new == 3 and result.counts.unchanged == 1 and store.posts.count() == 3
    assert [r.query["tag"] for r in searches(fake)] == [["innoverheid"], ["lanceerplatform"]]
    first = searches(fake)[0].query
    assert first["sort"] == ["latest"] and first["limit"] == ["100"] and first["q"] == ["#innoverheid"]
    assert searches(fake)[0].headers["Authorization"] == "Bearer access-1"


@pytest.mark.parametrize("n", [0, 99, 100, 250])
def test_first_run_backfills_through_cursors_and_the_second_asks_only_for_what_is_new(fake, harvest, store, n):
    fake.add(*(make_post(f"3l{i:04d}", created_at=minutes_ago(60 * 24 * 20 - i)) for i in range(n)))
    fake.add(make_post("3loud", created_at=datetime.now(UTC) - timedelta(days=40)))      # before backfill_days
    first = harvest()
    assert first.status == "ok" and first.counts.new == n and store.posts.count() == n
    assert len(searches(fake)) <= 2 * (math.ceil(n / 100) + 1)       # per tag at most one more than the floor
    full_last = n > 0 and n % 100 == 0     # a full last page without a cursor: one fresh search below it
    assert len(searches(fake)) == max(1, math.ceil(n / 100)) + full_last + 1   # the second tag: one request
    assert first.counts.requests == len(searches(fake)) + 1           # and one sign-in
    since = datetime.fromisoformat(searches(fake)[0].query["since"][0])
    assert timedelta(days=29, hours=23) < datetime.now(UTC) - since <= timedelta(days=30, minutes=1)
    newest = store.cursors.load(1)["innoverheid"].newest_id
    before = len(searches(fake))
    fake.add(*(make_post(f"3lnieuw{i}", created_at=minutes_ago(1)) for i in range(3)))
    second = harvest()
    assert second.counts.new == 3 and store.posts.count() == n + 3
    asked = searches(fake)[before:]
    assert len(asked) == 2 and second.counts.requests == 2            # one per tag, and the session is kept
    if n:   # from the newest post stored, less the overlap
        assert datetime.fromisoformat(asked[0].query["since"][0]) == datetime.fromisoformat(newest) - timedelta(minutes=10)


def test_a_post_the_index_took_in_late_is_found_by_the_overlap(fake, harvest, store):
    fake.add(make_post("3lnieuwste", created_at=minutes_ago(2)))
    harvest()
    fake.add(make_post("3llaat", created_at=minutes_ago(5)))          # older than the newest, seen only now
    result = harvest()
    assert result.counts.new == 1 and store.posts.count() == 2


def test_max_pages_leaves_a_window_the_next_run_reads_first(fake, harvest, store):
    fake.add(*(make_post(f"3l{i:04d}", created_at=minutes_ago(600 - i)) for i in range(350)))
    first = harvest(harvest="max_pages = 1")
    cursor = store.cursors.load(1)["innoverheid"]
    assert first.counts.new == 200 and not cursor.backfill_done and cursor.backfill_since and cursor.backfill_max_id
    fake.add(make_post("3lvers", created_at=minutes_ago(1)))
    second = harvest(harvest="max_pages = 1")
    assert second.counts.new == 150 and store.posts.count() == 350
    third = harvest(harvest="max_pages = 1")
    assert third.counts.new == 1 and store.posts.count() == 351
    assert store.cursors.load(1)["innoverheid"].backfill_done


@pytest.mark.parametrize("max_pages", [50, 1])
def test_a_cursor_that_stops_early_is_followed_by_a_fresh_search_below_the_oldest_post(fake, harvest, store, max_pages):
    fake.page_depth = 200      # the search's cursor ends after 200 results, with 250 in the window
    fake.add(*(make_post(f"3l{i:04d}", created_at=minutes_ago(120 + i)) for i in range(250)))
    first = harvest(harvest=f"max_pages = {max_pages}")
    assert first.status == "ok"
    if max_pages == 1:         # the fresh search did not fit: the window is left for the next run
        cursor = store.cursors.load(1)["innoverheid"]
        assert store.posts.count() == 200 and not cursor.backfill_done and cursor.backfill_max_id
        assert harvest(harvest="max_pages = 1").status == "ok"
    assert store.posts.count() == 250 and store.cursors.load(1)["innoverheid"].backfill_done
    fresh = [r for r in searches(fake) if r.query["tag"] == ["innoverheid"] and "until" in r.query]
    assert fresh and "cursor" not in fresh[0].query      # a fresh search, with `until`, not the cursor


def test_a_fresh_search_that_gets_no_further_back_ends_with_a_problem_not_a_loop(fake, harvest, store, tmp_path):
    fake.page_depth, fake.honours_until = 100, False     # the same 100 newest posts, however asked
    fake.add(*(make_post(f"3l{i:04d}", created_at=minutes_ago(120 + i)) for i in range(250)))
    result = harvest()
    assert result.status == "partial" and "#innoverheid" in result.error and "niet opgehaald" in result.error
    asked = [r for r in searches(fake) if r.query["tag"] == ["innoverheid"]]
    assert len(asked) == 2 and "until" in asked[1].query
    assert store.posts.count() == 100 and store.cursors.load(1)["innoverheid"].backfill_done
    output = CliRunner().invoke(main, ["--config", str(tmp_path / "harvester.toml"), "status"]).output
    assert "niet verder terug" in output


def test_opted_out_authors_are_never_stored_and_their_stored_posts_are_forgotten(fake, harvest, store):
    fake.add(make_post("3lwel", handle="welkom.bsky.social"),
             make_post("3lniet", handle="prive.bsky.social", author_labels=("!no-unauthenticated",)))
    first = harvest()
    assert first.counts.new == 1 and first.counts.skipped == 1
    assert [r[0] for r in store.db.execute("SELECT handle FROM authors")] == ["welkom.bsky.social"]
    # the author sets the label later: what was stored of them goes, and they stay suppressed
    fake.add(make_post("3lwel2", handle="welkom.bsky.social", created_at=minutes_ago(1),
                       author_labels=("!no-unauthenticated",)))
    harvest()
    assert store.posts.count() == 0 and store.db.execute("SELECT count(*) FROM authors").fetchone()[0] == 0
    reasons = store.db.execute("SELECT kind, reason FROM suppressions WHERE kind = 'author'").fetchall()
    assert reasons and all(r == ("author", "optout") for r in reasons)


def test_an_expired_token_is_refreshed_once_and_the_session_kept(fake, harvest, store):
    fake.add(make_post("3la"))
    harvest()
    fake.expire_access_tokens()
    fake.add(make_post("3lb", created_at=minutes_ago(1)))
    result = harvest()
    assert result.status == "ok" and result.counts.new == 1
    assert len(fake.calls("com.atproto.server.createSession")) == 1
    (refresh,) = fake.calls("com.atproto.server.refreshSession")
    assert refresh.headers["Authorization"] == "Bearer refresh-1"
    assert searches(fake)[-1].headers["Authorization"] == "Bearer access-2"


def test_a_refresh_token_that_no_longer_works_leads_to_one_new_sign_in(fake, harvest, store):
    fake.add(make_post("3la"))
    harvest()
    fake.expire_access_tokens()
    fake.refresh.clear()
    result = harvest()
    assert result.status == "ok"
    assert len(fake.calls("com.atproto.server.createSession")) == 2
    assert len(fake.calls("com.atproto.server.refreshSession")) == 1


def test_a_wrong_password_fails_the_run_once_naming_the_variables(fake, harvest, store, monkeypatch, tmp_path):
    monkeypatch.setenv("BSKY_TEST_PASSWORD", "fout-fout-fout-fout")
    fake.add(make_post("3la"))
    result = harvest()
    assert result.status == "failed"
    assert "BSKY_TEST_HANDLE" in result.error and "BSKY_TEST_PASSWORD" in result.error
    assert "Invalid identifier or password" in result.error and "fout-fout" not in result.error
    assert len(fake.calls("com.atproto.server.createSession")) == 1 and searches(fake) == []
    assert store.sources.get("bsky").auth_required
    output = CliRunner().invoke(main, ["--config", str(tmp_path / "harvester.toml"), "status"]).output
    assert "bsky [bluesky] " + fake.url in output and "BSKY_TEST_PASSWORD" in output
    assert "inloggegevens" in output
    monkeypatch.setenv("BSKY_TEST_PASSWORD", "abcd-efgh-ijkl-mnop")
    again = harvest()
    assert again.status == "ok" and again.counts.new == 1 and not store.sources.get("bsky").auth_required


def test_missing_credentials_are_named_without_a_request(fake, harvest, monkeypatch):
    monkeypatch.delenv("BSKY_TEST_PASSWORD")
    result = harvest()
    assert result.status == "failed" and "BSKY_TEST_PASSWORD" in result.error and "app-wachtwoord" in result.error
    assert fake.server.requests == []


def test_429_is_waited_for_until_the_reset_on_the_servers_clock(fake, harvest, store):
    server_now = datetime.now(UTC) + timedelta(hours=2)      # the server's clock is far off ours
    fake.scripted = [Reply(429, json.dumps({"error": "RateLimitExceeded", "message": "Rate Limit Exceeded"}), {
        "Date": format_datetime(server_now, usegmt=True), "RateLimit-Limit": "3000", "RateLimit-Remaining": "0",
        "RateLimit-Reset": str(int(server_now.timestamp()) + 2), "RateLimit-Policy": "3000;w=300"})]
    fake.add(make_post("3la"))
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        time.sleep(seconds)

    result = harvest(sleep=sleep)
    assert result.status == "ok" and result.counts.new == 1
    assert len(waits) == 1 and 1.0 <= waits[0] <= 3.5


def test_a_429_too_far_off_fails_the_source_and_status_shows_it(fake, harvest, store, tmp_path):
    fake.scripted = [Reply(429, json.dumps({"error": "RateLimitExceeded"}), {
        "RateLimit-Remaining": "0", "RateLimit-Reset": str(int(time.time()) + 3600)})]
    result = harvest()
    assert result.status == "failed" and "HTTP 429" in result.error
    output = CliRunner().invoke(main, ["--config", str(tmp_path / "harvester.toml"), "status"]).output
    assert "laatste fout: te veel verzoeken (HTTP 429)" in output


def test_a_rate_limit_reset_in_milliseconds_is_no_internal_error(fake, harvest, store):
    """A server that writes its RateLimit-Reset in milliseconds names a moment past year 9999: it was
    an OverflowError on every answer ("interne fout"), and the source never collected again."""
    plain = fake.headers
    fake.headers = lambda: {**plain(), "RateLimit-Reset": str(int(time.time() * 1000))}
    fake.add(make_post("3la"))
    result = harvest()
    assert result.status == "ok" and result.counts.new == 1
    assert store.db.execute("SELECT ratelimit_reset FROM sources").fetchone() == (None,)


def test_rate_limit_headers_are_recorded_and_a_nearly_spent_limit_stops_paging(fake, harvest, store, tmp_path):
    fake.add(*(make_post(f"3l{i:03d}", created_at=minutes_ago(300 - i)) for i in range(150)))
    fake.remaining = 6       # the first search says 4 are left: below the reserve, the reset minutes away
    first = harvest()
    assert first.status == "partial" and "rate limit" in first.error and len(searches(fake)) == 1
    assert store.sources.get("bsky").ratelimit_remaining == 4
    output = CliRunner().invoke(main, ["--config", str(tmp_path / "harvester.toml"), "status"]).output
    assert "bsky [bluesky]" in output and "rate limit: nog 4 verzoeken, reset 20" in output
    fake.remaining = 3000
    second = harvest()
    assert second.status == "ok" and store.posts.count() == 150


@pytest.mark.parametrize("fault", [Reply(reset=True), Reply(delay=3.0), Reply(stream_bytes=11 * 1024 * 1024)])
def test_dropped_connections_time_outs_and_huge_answers_are_survived_or_reported(fake, harvest, store, fault):
    fake.add(make_post("3la"))
    fake.scripted = [fault]
    result = harvest()
    if fault.stream_bytes:      # too large is not retried: the run fails with the reason
        assert result.status == "failed" and "te groot" in result.error and store.posts.count() == 0
        assert harvest().status == "ok" and store.posts.count() == 1
    else:                       # retried, then collected
        assert result.status == "ok" and store.posts.count() == 1


def test_server_errors_and_bad_json_are_survived(fake, harvest, store):
    fake.scripted = [Reply(502, "<html>Bad Gateway</html>")]
    fake.add(make_post("3la"))
    assert harvest().status == "ok" and store.posts.count() == 1
    fake.scripted = [Reply(200, '{"posts": [', {"Content-Type": "application/json"})]
    broken = harvest()
    assert broken.status == "failed" and "geen geldige JSON" in broken.error and store.posts.count() == 1


def test_an_unreadable_post_is_a_problem_and_the_rest_of_the_page_is_kept(fake, harvest, store):
    bad = make_post("3lb", handle="anne.bsky.social")
    del bad["record"]["createdAt"]
    odd = make_post("3ld", handle="anne.bsky.social")
    odd["uri"] = odd["uri"].replace("app.bsky.feed.post", "app.bsky.feed.like")
    fake.add(make_post("3la"), bad, make_post("3lc"), odd)
    result = harvest()
    assert result.status == "partial" and result.counts.new == 2
    # named by place, not by address: the address holds the DID, and the runs outlive a forget or opt-out
    assert re.search(r"post \d van 4 op de pagina overgeslagen: onleesbaar \(KeyError: 'createdAt'\)", result.error)
    assert re.search(r"post \d van 4 op de pagina overgeslagen: onleesbaar \(ValueError: geen at://-adres van een "
                     r"post\)", result.error)
    errors = " ".join(e for (e,) in store.db.execute("SELECT error FROM runs"))
    for trace in (did_of("anne.bsky.social"), "anne", "3lb", "3ld"):
        assert trace not in errors, trace


def test_a_creation_time_more_than_a_day_ahead_is_not_believed(fake, harvest, store):
    """A client sets `createdAt` as it likes: a post dated 2099 keeps no date and sorts by when it was
    found (the same rule as for feeds); one a few hours ahead keeps its own."""
    now = datetime.now(UTC)
    far, soon = datetime(2099, 12, 7, 8, tzinfo=UTC), now + timedelta(hours=3)
    fake.add(make_post("3lver", created_at=far, indexed_after=now - far),
             make_post("3lbijna", created_at=soon, indexed_after=now - soon), make_post("3lnu"))
    result = harvest()
    assert result.status == "partial" and result.counts.new == 3
    assert "1 bericht in " in result.error and "(het staat op het moment waarop het gevonden is)" in result.error and "meer dan een dag na nu" in result.error
    dates = {key.rpartition("/")[2]: published for key, published in store.db.execute("SELECT key, published_at FROM posts")}
    assert dates["3lver"] is None
    assert dates["3lbijna"] == soon.isoformat(timespec="seconds")
    assert [p.url.rpartition("/")[2] for p in store.posts.latest()][0] == "3lbijna"


def test_recheck_removes_deleted_posts_keeps_a_tombstone_and_forgets_who_opted_out(fake, harvest, store, write_config):
    views = [make_post(f"3l{i}", handle=f"auteur{i}.bsky.social", text=f"Idee nummer{i} #innoverheid") for i in range(30)]
    fake.add(*views)
    harvest()
    assert store.posts.count() == 30
    fake.delete(views[3]["uri"])
    fake.delete(views[27]["uri"])
    views[5]["author"]["labels"] = [{"src": "x", "uri": "x", "val": "!no-unauthenticated", "cts": "2026-01-01T00:00:00Z"}]
    config = load_config(write_config(source_toml(fake.url)))
    with Fetcher(config.harvest) as fetcher:
        result = recheck(store, config, fetcher)
    assert (result.checked, result.deleted, result.opted_out, result.problems) == (30, 2, 1, [])
    asked = fake.calls("app.bsky.feed.getPosts")
    assert [len(r.query["uris"]) for r in asked] == [25, 5]
    assert views[3]["uri"] not in keys(store) and views[5]["uri"] not in keys(store) and store.posts.count() == 27
    assert store.db.execute("SELECT reason FROM suppressions WHERE hash = ?", [fingerprint(views[3]["uri"])]).fetchone() == ("deleted",)
    assert store.db.execute("SELECT count(*) FROM posts_fts WHERE posts_fts MATCH 'nummer3'").fetchone()[0] == 0
    fake.add(views[3])                               # served again by a search: never stored again
    again = harvest()
    assert views[3]["uri"] not in keys(store) and again.counts.skipped >= 1


def test_a_refused_recheck_names_the_call_not_the_posts_it_asked_for(fake, harvest, store, write_config):
    view = make_post("3la", handle="anne.bsky.social")
    fake.add(view)
    harvest()
    fake.server.route("/xrpc/app.bsky.feed.getPosts", Reply(400, json.dumps(
        {"error": "InvalidRequest", "message": "te veel"}), {"Content-Type": "application/json"}))
    config = load_config(write_config(source_toml(fake.url)))
    with Fetcher(config.harvest) as fetcher:
        result = recheck(store, config, fetcher)
    # the uris asked for hold the authors' DIDs; the job's outcome and the log outlive a forget
    assert result.problems == [f"bsky: HTTP 400 bij {fake.url}/xrpc/app.bsky.feed.getPosts: InvalidRequest: te veel"]
    assert store.posts.count() == 1


@pytest.mark.parametrize("form", ["handle", "did", "url"])
def test_forget_a_bluesky_author_by_handle_did_or_address(fake, harvest, store, tmp_path, form):
    anne = "anne.bsky.social"
    fake.add(make_post("3la", handle=anne), make_post("3lb", handle=anne, text="Tweede #innoverheid"),
             make_post("3lc", handle="bert.bsky.social", text=f"Eens met @{anne} #innoverheid"))
    harvest()
    did = did_of(anne)
    author = {"handle": "@" + anne, "did": did, "url": f"https://bsky.app/profile/{anne}/post/3la"}[form]
    result = CliRunner().invoke(main, ["--config", str(tmp_path / "harvester.toml"), "forget", author])
    assert result.exit_code == 0, result.output
    assert "posts verwijderd: 2" in result.output
    assert keys(store) == [make_post("3lc", handle="bert.bsky.social")["uri"]]
    assert json.loads(store.db.execute("SELECT mentions FROM posts").fetchone()[0]) == []
    # a new handle for the same account: still recognised by the DID
    fake.add(make_post("3ld", handle="anne.example.nl", created_at=minutes_ago(1)))
    fake.posts[f"at://{did_of('anne.example.nl')}/app.bsky.feed.post/3ld"]["author"]["did"] = did
    again = harvest()
    assert again.counts.new == 0 and store.posts.count() == 1


def test_a_mention_of_a_forgotten_author_is_known_by_the_did_of_its_facet(fake, harvest, store, tmp_path):
    """The forget suppresses Anne's DID, not her handle; a later post shows the handle, and its facet the DID."""
    anne = "anne.bsky.social"
    fake.add(make_post("3la", handle=anne, created_at=minutes_ago(30)))
    harvest()
    result = CliRunner().invoke(main, ["--config", str(tmp_path / "harvester.toml"), "forget", did_of(anne)])
    assert result.exit_code == 0, result.output
    fake.add(make_post("3lb", handle="bert.bsky.social", created_at=minutes_ago(1),
                       text=f"Goed idee van @{anne} en @carla.bsky.social #innoverheid"))
    assert harvest().counts.new == 1
    mentions, text = store.db.execute("SELECT mentions, text FROM posts").fetchone()
    assert json.loads(mentions) == ["carla.bsky.social"]
    assert text.startswith(f"Goed idee van @{anne}")     # Bert's words stay his, as for Mastodon


def quoting(rkey: str, quoted: str, **kwargs) -> dict:
    """Bert's post `rkey` quoting the post at the at:// uri `quoted`."""
    return make_post(rkey, handle="bert.bsky.social", record={
        "embed": {"$type": "app.bsky.embed.record", "record": {"uri": quoted, "cid": "bafyquote"}}}, **kwargs)


def test_a_quote_of_a_forgotten_author_loses_its_link_stored_before_or_harvested_after(fake, harvest, store, tmp_path):
    """A quote is stored as a link to the quoted post's bsky.app address, which holds its author's DID."""
    anne = did_of("anne.bsky.social")
    quoted = f"at://{anne}/app.bsky.feed.post/3la"
    fake.add(make_post("3la", handle="anne.bsky.social", created_at=minutes_ago(30)),
             quoting("3lb", quoted, created_at=minutes_ago(20), text="Zie https://example.nl/plan #innoverheid"))
    harvest()
    result = CliRunner().invoke(main, ["--config", str(tmp_path / "harvester.toml"), "forget", anne])
    assert result.exit_code == 0 and "links: 1" in result.output, result.output
    assert [json.loads(r[0]) for r in store.db.execute("SELECT links FROM posts")] == [["https://example.nl/plan"]]
    fake.add(quoting("3lc", quoted, created_at=minutes_ago(1)))
    assert harvest().counts.new == 1
    assert [json.loads(r[0]) for r in store.db.execute("SELECT links FROM posts ORDER BY key")] == [
        ["https://example.nl/plan"], []]


def post_of(rkey: str, did: str, handle: str, **kwargs) -> dict:
    """A post view of the account `did` while the AppView shows it with `handle` (`handle.invalid`
    while its handle does not verify)."""
    view = make_post(rkey, handle=handle, **kwargs)
    view["uri"] = f"at://{did}/app.bsky.feed.post/{rkey}"
    view["author"]["did"] = did
    for label in view["author"]["labels"]:
        label.update(src=did, uri=f"at://{did}/app.bsky.actor.profile/self")
    return view


def test_accounts_shown_as_handle_invalid_stay_apart_and_opt_out_alone(fake, harvest, store, tmp_path):
    anna, bert = did_of("anna.example.nl"), did_of("bert.example.nl")
    fake.add(post_of("3la", anna, "handle.invalid", text="Idee van Anna #innoverheid", display_name="Anna"),
             post_of("3lb", bert, "handle.invalid", text="Idee van Bert #innoverheid", display_name="Bert"))
    assert harvest().counts.new == 2
    assert store.db.execute("SELECT key, display_name, handle FROM authors ORDER BY key").fetchall() == sorted(
        [(anna, "Anna", None), (bert, "Bert", None)])
    # Bert opts out: his post goes; Anna's stays, and so do her posts in that run and after it
    fake.add(post_of("3lb2", bert, "handle.invalid", created_at=minutes_ago(3), author_labels=("!no-unauthenticated",)),
             post_of("3la2", anna, "handle.invalid", created_at=minutes_ago(2), text="Nog een idee #innoverheid"))
    second = harvest()
    assert second.status == "ok" and second.counts.new == 1
    fake.add(post_of("3la3", anna, "handle.invalid", created_at=minutes_ago(1), text="Een derde idee #innoverheid"))
    assert harvest().counts.new == 1
    assert keys(store) == [f"at://{anna}/app.bsky.feed.post/{rkey}" for rkey in ("3la", "3la2", "3la3")]
    assert [r[0] for r in store.db.execute("SELECT key FROM authors")] == [anna]
    # 'handle.invalid' names no one: forgetting it is refused, and nothing goes
    refused = CliRunner().invoke(main, ["--config", str(tmp_path / "harvester.toml"), "forget", "handle.invalid"])
    assert refused.exit_code != 0 and "DID" in refused.output and store.posts.count() == 3


def test_a_new_handle_keeps_one_author_and_the_old_handle_still_finds_them(fake, harvest, store, tmp_path):
    did = did_of("anne.bsky.social")
    fake.add(post_of("3la", did, "anne.bsky.social", display_name="Anne de Boer", created_at=minutes_ago(300)),
             make_post("3lx", handle="bert.bsky.social", created_at=minutes_ago(100)))
    harvest()          # the next run starts after Bert's post: Anne's first one is not seen again
    fake.add(post_of("3lb", did, "anne.example.nl", display_name="Anne de Boer", created_at=minutes_ago(1)))
    assert harvest().counts.new == 1
    assert store.db.execute("SELECT key, display_name, handle FROM authors WHERE display_name = 'Anne de Boer'"
                            ).fetchall() == [(did, "Anne de Boer", "anne.example.nl")]
    assert {p.author for p in store.posts.latest() if p.key.startswith(f"at://{did}/")} == {"anne.example.nl"}
    assert {author_cell(r.author_key, r.author_name, None, r.author_handle)
            for r in store.exports.rows(ExportQuery()) if r.author_key == did} == {"Anne de Boer (anne.example.nl)"}
    # the old handle is in the address of the post stored under it: it leads to the DID
    result = CliRunner().invoke(main, ["--config", str(tmp_path / "harvester.toml"), "forget", "anne.bsky.social"])
    assert result.exit_code == 0, result.output
    assert "posts verwijderd: 2" in result.output and store.posts.count() == 1


def test_forget_refuses_a_handle_that_named_two_accounts(fake, harvest, store, tmp_path):
    first, second = did_of("eerste"), did_of("tweede")
    fake.add(post_of("3la", first, "anne.bsky.social", created_at=minutes_ago(90)),
             post_of("3lb", second, "anne.bsky.social", created_at=minutes_ago(30)))   # the handle passed on
    harvest()
    result = CliRunner().invoke(main, ["--config", str(tmp_path / "harvester.toml"), "forget", "anne.bsky.social"])
    assert result.exit_code == 2 and first in result.output and second in result.output
    assert store.posts.count() == 2 and not store.forget.suppressed_authors()

def test_the_migration_rekeys_bluesky_authors_by_did_and_old_suppressions_hold(fake, write_config, tmp_path):
    from harvester.privacy.hashing import keyed_fingerprint

    anne, bert, carla, dave, zoe = (did_of(f"{n}.bsky.social") for n in ("anne", "bert", "carla", "dave", "zoe"))
    path = tmp_path / "harvester.db"
    with Store(path, migrate=False) as old:
        old.migrate(MIGRATIONS[:MIGRATIONS.index(V_BLUESKY_DIDS)])
        # as the collector keyed them by handle: Anne split by a change of handle, and one
        # 'handle.invalid' row holding the posts of Bert and Carla, last seen as Carla
        for key, name, did in (("anne.bsky.social", "Anne", anne), ("anne.example.nl", "Anne de Boer", anne),
                               ("handle.invalid", "Carla", carla)):
            old.db.execute("INSERT INTO authors (key, display_name, profile_url) VALUES (?, ?, ?)",
                           [key, name, f"https://bsky.app/profile/{did}"])
        for rkey, did, actor, author in (("3la", anne, "anne.bsky.social", 1), ("3lb", anne, "anne.example.nl", 2),
                                         ("3lc", bert, bert, 3), ("3ld", carla, carla, 3)):
            old.db.execute(
                "INSERT INTO posts (key, kind, url, text, author_id, content_hash, first_seen_at, last_seen_at,"
                " changed_at) VALUES (?, 'bluesky', ?, 'Een idee', ?, 'h', 't', 't', 't')",
                [f"at://{did}/app.bsky.feed.post/{rkey}", f"https://bsky.app/profile/{actor}/post/{rkey}", author])
        # suppressions keyed by handle: a forget of a handle nothing was stored of, and the one the
        # old opt-out of a 'handle.invalid' account left
        old.db.conn.executemany("INSERT INTO suppressions (hash, kind, reason, created_at) VALUES (?, 'author', ?, 't')",
                                [(keyed_fingerprint(SECRET.encode(), "zoe.bsky.social"), "forget"),
                                 (keyed_fingerprint(SECRET.encode(), "handle.invalid"), "optout")])
        old.db.conn.commit()
    with Store(path) as store:
        assert store.db.execute("SELECT key, display_name, handle FROM authors ORDER BY key").fetchall() == sorted(
            [(anne, "Anne de Boer", "anne.example.nl"), (bert, None, None), (carla, "Carla", None)])
        assert store.db.execute(
            "SELECT count(*) FROM posts p JOIN authors a ON a.id = p.author_id WHERE p.key LIKE 'at://' || a.key || '/%'"
        ).fetchone()[0] == 4
        fake.add(post_of("3le", zoe, "zoe.bsky.social"), post_of("3lf", dave, "handle.invalid"),
                 post_of("3lg", anne, "anne.example.nl"))
        config = load_config(write_config(source_toml(fake.url)))
        with Fetcher(config.harvest) as fetcher:
            (result,) = [run_source(store, config, s, fetcher) for s in config.sources]
        assert result.counts.new == 2 and result.counts.skipped == 1
        assert store.db.execute("SELECT count(*) FROM authors").fetchone()[0] == 4
        forgot = CliRunner().invoke(main, ["--config", str(tmp_path / "harvester.toml"), "forget", "anne.bsky.social"])
        assert forgot.exit_code == 0, forgot.output
        assert "posts verwijderd: 3" in forgot.output
        assert sorted(k.split("/")[2] for k in keys(store)) == sorted([bert, carla, dave])


def _old_bluesky_store(path: Path) -> Store:
    """A database as it was before V_BLUESKY_DIDS, when Bluesky authors were keyed by handle."""

    old = Store(path, migrate=False)
    old.migrate(MIGRATIONS[:MIGRATIONS.index(V_BLUESKY_DIDS)])
    return old


def _old_post(old: Store, key: str, url: str | None, author_id: int, last_seen: str = "t") -> None:
    old.db.execute("INSERT INTO posts (key, kind, url, text, author_id, content_hash, first_seen_at, last_seen_at,"
                   " changed_at) VALUES (?, 'bluesky', ?, 'Een idee', ?, 'h', 't', ?, 't')",
                   [key, url, author_id, last_seen])


def test_an_optout_by_did_after_the_migration_finds_posts_pseudonymised_by_handle(tmp_path):
    from harvester.privacy.forget import optout
    from harvester.privacy.hashing import keyed_fingerprint, pseudonym
    from harvester.privacy.pseudonyms import pseudonymous_key

    secret, alice = SECRET.encode(), did_of("alice.nl")
    with _old_bluesky_store(tmp_path / "h.db") as old:
        # Alice, keyed by her handle: a post as alice.nl that retention pseudonymised (a row keyed
        # by a keyed hash of that handle, the post without its addresses), one as alice.nl it left,
        # and one after she became alice.example
        for key in ("alice.nl", "alice.example"):
            old.db.execute("INSERT INTO authors (key, display_name, profile_url) VALUES (?, 'Alice', ?)",
                           [key, f"https://bsky.app/profile/{alice}"])
        old.db.execute("INSERT INTO authors (key, display_name, pseudonymized_at) VALUES (?, ?, 't')",
                       [pseudonymous_key(secret, "alice.nl"), pseudonym(secret, "alice.nl")])
        _old_post(old, pseudonymous_key(secret, f"at://{alice}/app.bsky.feed.post/3la"), None, 3)
        _old_post(old, f"at://{alice}/app.bsky.feed.post/3lb", "https://bsky.app/profile/alice.nl/post/3lb", 1)
        _old_post(old, f"at://{alice}/app.bsky.feed.post/3lc", "https://bsky.app/profile/alice.example/post/3lc", 2)
        old.db.conn.commit()
    with Store(tmp_path / "h.db") as store:
        counts = optout(store, secret, alice)
        assert counts is not None and counts.posts == 3 and counts.authors == 2
        assert store.posts.count() == 0 and store.db.execute("SELECT count(*) FROM authors").fetchone()[0] == 0
        assert keyed_fingerprint(secret, alice) in store.forget.suppressed_authors()
        assert store.db.execute("SELECT count(*) FROM bluesky_former_handles").fetchone()[0] == 0


def test_forgetting_a_did_leaves_its_handle_free_for_the_next_owner(tmp_path):
    from harvester.privacy.forget import forget, parse_author
    from harvester.privacy.keep import KeepCheck

    secret, alice, next_owner = SECRET.encode(), did_of("alice.nl"), did_of("opvolger")

    def view(did: str, handle: str, rkey: str) -> dict:
        return post_of(rkey, did, handle, text="Een idee #innoverheid")

    with Store(tmp_path / "h.db") as store:
        store.posts.upsert(bluesky.post(view(alice, "alice.nl", "3la")), store.sources.sync("b", "bluesky", "x").id)
        assert forget(store, secret, parse_author(alice), min_authors=2).counts.posts == 1
        forget(store, secret, parse_author("zoe.bsky.social"), min_authors=2)      # nothing stored: only the handle is known
        check = KeepCheck(secret, store.forget.suppressed_authors(), store.forget.tombstoned)
        kept = check.filter([bluesky.post(view(next_owner, "alice.nl", "3lb")),     # alice.nl passed on
                             bluesky.post(view(alice, "alice.example", "3lc")),     # Alice, with a new handle
                             bluesky.post(view(did_of("zoe"), "zoe.bsky.social", "3ld"))])
        assert [p.key for p in kept] == [f"at://{next_owner}/app.bsky.feed.post/3lb"]


def test_the_migration_takes_the_handle_last_seen(tmp_path):
    bob = did_of("bob")
    with _old_bluesky_store(tmp_path / "h.db") as old:
        for key in ("bob.old", "bob.new"):
            old.db.execute("INSERT INTO authors (key, display_name, profile_url) VALUES (?, ?, ?)",
                           [key, f"Bob ({key})", f"https://bsky.app/profile/{bob}"])
        # Bob posted as bob.old, then as bob.new, then as bob.old again: the older row was seen last
        for rkey, handle, author, seen in (("1", "bob.old", 1, "2026-01-01"), ("2", "bob.new", 2, "2026-02-01"),
                                           ("3", "bob.old", 1, "2026-03-01")):
            _old_post(old, f"at://{bob}/app.bsky.feed.post/{rkey}", f"https://bsky.app/profile/{handle}/post/{rkey}",
                      author, seen)
        old.db.conn.commit()
    with Store(tmp_path / "h.db") as store:
        assert store.db.execute("SELECT key, display_name, handle FROM authors").fetchall() == [
            (bob, "Bob (bob.old)", "bob.old")]


def _migration_steps(path: Path, posts: int) -> int:
    """How much work (thousands of SQLite VM steps) V_BLUESKY_DIDS does for `posts` posts of
    `posts // 10` authors: counted, not timed, so the figure does not depend on the machine."""
    with _old_bluesky_store(path) as old:
        authors = posts // 10
        old.db.conn.executemany("INSERT INTO authors (key, display_name, profile_url) VALUES (?, ?, ?)",
                                [(f"u{i}.bsky.social", f"U {i}", f"https://bsky.app/profile/{did_of(str(i))}")
                                 for i in range(authors)])
        for i in range(posts):
            _old_post(old, f"at://{did_of(str(i % authors))}/app.bsky.feed.post/{i}",
                      f"https://bsky.app/profile/u{i % authors}.bsky.social/post/{i}", i % authors + 1)
        old.db.conn.commit()
        steps = []
        old.db.conn.set_progress_handler(lambda: steps.append(1), 1000)
        assert old.migrate(MIGRATIONS[:MIGRATIONS.index(V_BLUESKY_DIDS) + 1]) == 1
        assert old.db.execute("SELECT count(DISTINCT author_id) FROM posts").fetchone()[0] == authors
        return len(steps)


def test_the_migration_grows_with_the_posts_not_with_their_square(tmp_path):
    # it runs under the write lock while the file is opened: a quadratic plan held 40,000 posts for 38 s
    small, large = _migration_steps(tmp_path / "small.db", 2000), _migration_steps(tmp_path / "large.db", 4000)
    assert large < 3 * small, (small, large)


def test_sigkill_between_pages_then_a_new_run_no_duplicate_no_gap(fake, write_config, tmp_path):
    n = 450
    fake.add(*(make_post(f"3l{i:04d}", text=f"idee {i} #innoverheid", created_at=minutes_ago(900 - i)) for i in range(n)))
    fake.delay = 0.3
    path = write_config(source_toml(fake.url))
    command = [str(Path(sys.executable).with_name("harvester")), "--config", str(path), "collect"]
    kill_in_third_page(command, lambda: len(searches(fake)), tmp_path / "harvester.db")
    with Store(tmp_path / "harvester.db") as store:
        kept = store.posts.count()
        cursor = store.cursors.load(1)["innoverheid"]
    assert 0 < kept < n and not cursor.backfill_done and cursor.backfill_max_id is not None
    fake.delay = 0.0
    done = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    with Store(tmp_path / "harvester.db") as store:
        assert sorted(keys(store)) == sorted(f"at://{did_of('marieke.bsky.social')}/app.bsky.feed.post/3l{i:04d}"
                                             for i in range(n))
        assert store.db.execute("SELECT count(*) FROM sightings").fetchone()[0] == n
        assert store.cursors.load(1)["innoverheid"].backfill_done


def test_config_keys_and_a_secret_written_in_by_mistake(write_config):
    config = load_config(write_config('\n[[sources]]\nname = "b"\ntype = "bluesky"\n'))
    (source,) = config.sources
    assert (source.service, source.handle_env, source.app_password_env, source.interval_minutes, source.enabled) == (
        "https://bsky.social", "BLUESKY_HANDLE", "BLUESKY_APP_PASSWORD", 15.0, True)
    with pytest.raises(ConfigError) as raised:
        load_config(write_config('\n[[sources]]\nname = "b"\ntype = "bluesky"\napp_password_env = "abcd-efgh-ijkl-mnop"\n'))
    assert "app_password_env" in str(raised.value) and "abcd" not in str(raised.value)
    with pytest.raises(ConfigError):
        load_config(write_config('\n[[sources]]\nname = "b"\ntype = "bluesky"\nservice = "bsky.social"\n'))


def test_the_migration_widens_the_checks_in_place_for_every_connection(tmp_path):

    path = tmp_path / "h.db"
    before = MIGRATIONS[:MIGRATIONS.index(V_BLUESKY)]
    with Store(path, migrate=False) as old:
        old.migrate(before)
        source = old.sources.sync("blog", "feed", "https://example.org/feed")
        old.db.execute("INSERT INTO posts (key, kind, text, content_hash, first_seen_at, last_seen_at, changed_at)"
                       " VALUES ('k', 'feed', 'Een idee', 'h', 't', 't', 't')")
        old.db.conn.commit()
        with pytest.raises(sqlite3.IntegrityError):
            old.db.execute("INSERT INTO sources (name, type, configured_url, url, created_at)"
                           " VALUES ('b', 'bluesky', 'u', 'u', 't')")
    bystander = sqlite3.connect(path, isolation_level=None)      # open before the migration, used after it
    bystander.execute("SELECT count(*) FROM sources").fetchone()
    # a later migration's lemma index calls this on every insert into posts, as Store's connections do
    bystander.create_function("harvester_lemmas", 2, lemma_text, deterministic=True)
    with Store(path) as s:
        assert s.schema_version == len(MIGRATIONS)
        s.sources.sync("bsky", "bluesky", "https://bsky.social")
        assert s.db.execute("SELECT key, text FROM posts").fetchall() == [("k", "Een idee")]
        assert s.db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert s.sources.get("blog").id == source.id
    bystander.execute("INSERT INTO posts (key, kind, text, content_hash, first_seen_at, last_seen_at, changed_at)"
                      " VALUES ('at://x', 'bluesky', '', 'h', 't', 't', 't')")
    with pytest.raises(sqlite3.IntegrityError):
        bystander.execute("INSERT INTO posts (key, kind, text, content_hash, first_seen_at, last_seen_at, changed_at)"
                          " VALUES ('y', 'threads', '', 'h', 't', 't', 't')")
    bystander.close()


def test_links_under_a_forgotten_authors_profile_go_for_good_and_one_by_handle_stays_as_written(
        fake, harvest, store, tmp_path):
    """The forget's scrub and the keep-check of later harvests drop the same links: any address
    under the DID's profile (a post with a query, a feed). A link that names the author by handle
    is left as written by both, as the handle is not suppressed once the DID is known (a handle
    passes on); dropped by one and not the other, it came back at the next re-read."""
    anne = did_of("anne.bsky.social")
    under = [f"https://bsky.app/profile/{anne}/post/3la?ref=x", f"https://bsky.app/profile/{anne}/feed/f"]
    by_handle = "https://bsky.app/profile/anne.bsky.social/post/3la"
    fake.add(make_post("3la", handle="anne.bsky.social", created_at=minutes_ago(30)),
             make_post("3lb", handle="bert.bsky.social", created_at=minutes_ago(5),
                       text=f"Zie {under[0]} en {under[1]} en {by_handle} #innoverheid"))
    harvest()
    result = CliRunner().invoke(main, ["--config", str(tmp_path / "harvester.toml"), "forget", anne])
    assert result.exit_code == 0 and "links: 1" in result.output, result.output
    assert [json.loads(r[0]) for r in store.db.execute("SELECT links FROM posts")] == [[by_handle]]
    harvest()      # the post is read again within the overlap, and stored again
    assert [json.loads(r[0]) for r in store.db.execute("SELECT links FROM posts")] == [[by_handle]]
