"""The Mastodon collector against a fake instance on 127.0.0.1, through the real harvest loop and store."""

from __future__ import annotations

import contextlib
import json
import math
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from harvester.cli import main
from harvester.collectors.http import Fetcher
from harvester.config import load_config
from harvester.jobs.harvest import run_source, run_sources
from harvester.models import Cursor
from harvester.store import Store
from harvester.timeutil import dutch_time

from .localserver import LocalServer, Reply
from .mastodon_fake import FakeInstance, make_status

BASE_ID = 113_500_000_000_000_000


def sid(n: int) -> str:
    """Status ids as Mastodon makes them: large numbers as text, growing with time."""
    return str(BASE_ID + n * 1000)


@pytest.fixture
def fake(server):
    return FakeInstance(server)


@pytest.fixture
def harvest(write_config, store):
    """Run named mastodon sources (name -> instance URL) once through the harvest loop."""

    def run(instances: dict[str, str], *, harvest: str = "", token_env: str = "", sleep=time.sleep,
            tags: list[str] | None = None):
        body = "".join(
            f'\n[[sources]]\nname = "{name}"\ntype = "mastodon"\ninstance = "{url}"\n'
            + (f'token_env = "{token_env}"\n' if token_env else "")
            for name, url in instances.items()
        )
        path = write_config(body, harvest=harvest)
        if tags:
            text = path.read_text(encoding="utf-8")
            path.write_text(text.replace('tags = ["innoverheid", "lanceerplatform"]', f"tags = {json.dumps(tags)}"))
        config = load_config(path)
        with Fetcher(config.harvest, sleep=sleep) as fetcher:
            return [run_source(store, config, source, fetcher) for source in config.sources]

    return run


def stored(store):
    return store.db.execute(
        "SELECT p.key, p.text, a.key, (SELECT group_concat(tag) FROM (SELECT tag FROM post_tags WHERE post_id = p.id"
        " ORDER BY tag)) FROM posts p LEFT JOIN authors a ON a.id = p.author_id ORDER BY p.published_at, p.key"
    ).fetchall()


def test_two_tags_in_one_any_query_and_every_field_stored(fake, harvest, store):
    created = datetime(2026, 11, 20, 9, 12, 33, tzinfo=UTC)
    fake.add(
        make_status(sid(1), tags=("innoverheid",), text="Eerste idee", created_at=created),
        make_status(sid(2), username="bert", origin="social.overheid.nl", tags=("Lanceerplatform",),
                    text="Tweede idee @annedv", created_at=created + timedelta(minutes=5), spoiler_text="Lang verhaal",
                    mentions=[{"id": "109348", "username": "annedv", "url": "https://mastodon.nl/@annedv",
                               "acct": "annedv"}], in_reply_to_id=sid(1), edited_at="2026-11-20T10:00:00.000Z"),
        make_status(sid(3), tags=("koffie",), text="Niet over ons onderwerp"),
    )
    (result,) = harvest({"nl": fake.url}, harvest="backfill_days = 3650")
    assert result.status == "ok" and result.counts.new == 2
    (request,) = fake.timeline_requests()
    assert request.path == "/api/v1/timelines/tag/innoverheid"
    assert request.query["any[]"] == ["lanceerplatform"] and request.query["limit"] == ["40"]
    host = "127.0.0.1"
    first_uri = f"https://mastodon.nl/users/annedv/statuses/{sid(1)}"
    row = store.db.execute(
        "SELECT p.url, p.content_html, p.text, p.spoiler_text, p.language, p.published_at, p.edited_at, p.mentions,"
        " p.in_reply_to, p.replies_count, p.reblogs_count, p.favourites_count, a.key, a.display_name, a.profile_url,"
        " a.bot, g.remote_id FROM posts p JOIN authors a ON a.id = p.author_id JOIN sightings g ON g.post_id = p.id"
        " WHERE p.key = ?", ["https://social.overheid.nl/users/bert/statuses/" + sid(2)],
    ).fetchone()
    assert row[0] == f"https://social.overheid.nl/@bert/{sid(2)}"
    assert row[1].startswith("<p>Tweede idee") and row[2] == "Tweede idee @annedv #Lanceerplatform"
    assert row[3:7] == ("Lang verhaal", "nl", "2026-11-20T09:17:33+00:00", "2026-11-20T10:00:00+00:00")
    assert json.loads(row[7]) == [f"annedv@{host}"]
    assert row[8] == first_uri          # the post it answers was on the same page: its uri is known
    assert row[9:12] == (2, 5, 11)
    assert row[12:16] == ("bert@social.overheid.nl", "Bert", "https://social.overheid.nl/@bert", 0)
    assert row[16] == sid(2)
    assert stored(store)[0][2] == f"annedv@{host}"      # a local account gets the instance's domain
    assert [r[3] for r in stored(store)] == ["innoverheid", "lanceerplatform"]


def test_status_seen_on_two_instances_is_one_post_with_two_sightings(harvest, store, server):
    other_server = LocalServer().start()
    try:
        nl, social = FakeInstance(server), FakeInstance(other_server, domain="mastodon.social")
        nl.add(make_status(sid(5)))
        social.add(make_status(sid(7), instance="mastodon.social", origin_id=sid(5)))   # same uri, own id
        results = harvest({"nl": nl.url, "social": social.url})
    finally:
        other_server.stop()
    assert [r.counts.new for r in results] == [1, 0] and results[1].counts.unchanged == 1
    assert store.posts.count() == 1
    sightings = store.db.execute(
        "SELECT s.name, g.remote_id FROM sightings g JOIN sources s ON s.id = g.source_id ORDER BY s.name"
    ).fetchall()
    assert sightings == [("nl", sid(5)), ("social", sid(7))]


def test_a_boost_stores_the_original_once(fake, harvest, store):
    original = make_status(sid(1), username="carla", origin="mastodon.social", text="Origineel idee")
    boost = make_status(sid(2), username="bert", tags=(), text="", reblog=original, content="", uri=
                        f"https://mastodon.nl/users/bert/statuses/{sid(2)}/activity")
    fake.add(original, boost)
    (result,) = harvest({"nl": fake.url})
    assert result.counts.new == 1 and result.counts.unchanged == 1
    assert stored(store) == [(original["uri"], "Origineel idee #innoverheid", "carla@mastodon.social", "innoverheid")]
    assert store.db.execute("SELECT remote_id FROM sightings").fetchall() == [(sid(1),)]


def test_an_edit_updates_the_text_and_makes_the_classification_stale(fake, harvest, store):
    status = make_status(sid(1), text="Eerste versie")
    fake.add(status)
    harvest({"nl": fake.url})
    before = store.db.execute("SELECT changed_at FROM posts").fetchone()[0]
    time.sleep(0.01)
    status["content"] = "<p>Verbeterde versie #innoverheid</p>"
    status["edited_at"] = "2026-11-21T08:00:00.000Z"
    (result,) = harvest({"nl": fake.url})
    assert result.counts.updated == 1 and store.posts.count() == 1
    text, edited, changed = store.db.execute("SELECT text, edited_at, changed_at FROM posts").fetchone()
    assert text == "Verbeterde versie #innoverheid" and edited == "2026-11-21T08:00:00+00:00" and changed > before


@pytest.mark.parametrize("honour_indexable", [False, True])
def test_opted_out_accounts_are_skipped_and_counted(fake, harvest, store, honour_indexable):
    fake.add(
        make_status(sid(1), username="nobot", note='<p>Geen bots a.u.b. <a href="https://mastodon.nl/tags/NoBot" '
                    'class="mention hashtag" rel="tag">#<span>NoBot</span></a></p>'),
        make_status(sid(2), username="noarchive", note="<p>#noarchive</p>"),
        make_status(sid(3), username="stil", account={"noindex": True}),
        make_status(sid(4), username="onvindbaar", account={"indexable": False}),
        make_status(sid(5), username="prive", visibility="unlisted"),
        make_status(sid(6), username="welkom", note="<p>Praat mee over #innoverheid</p>"),
    )
    (result,) = harvest({"nl": fake.url}, harvest=f"honour_indexable = {str(honour_indexable).lower()}")
    authors = sorted(r[2].split("@")[0] for r in stored(store))
    assert authors == (["welkom"] if honour_indexable else ["onvindbaar", "welkom"])
    assert result.counts.skipped == (5 if honour_indexable else 4)


def test_a_late_federated_post_below_the_cursor_is_found_by_the_overlap(fake, harvest, store):
    fake.add(*(make_status(sid(n * 10), text=f"idee {n}") for n in range(1, 11)))
    harvest({"nl": fake.url})
    assert store.cursors.load(1)["innoverheid+lanceerplatform"].newest_id == sid(100)
    fake.add(make_status(sid(55), username="laat", origin="verweg.example", text="laat binnen"))
    before = len(fake.timeline_requests())
    (result,) = harvest({"nl": fake.url})
    assert result.counts.new == 1 and len(fake.timeline_requests()) - before == 1
    assert store.posts.count() == 11


@pytest.mark.parametrize("n", [0, 39, 40, 100, 121])
def test_backfill_costs_at_most_one_request_more_than_the_floor_and_a_repeat_run_one(fake, harvest, store, n):
    fake.add(*(make_status(sid(i), tags=("innoverheid" if i % 2 else "lanceerplatform",), text=f"idee {i}")
               for i in range(1, n + 1)))
    (first,) = harvest({"nl": fake.url})
    assert first.counts.new == n and store.posts.count() == n
    backfill = len(fake.timeline_requests())
    assert backfill <= math.ceil(n / 40) + 1
    assert first.counts.requests == backfill + 1      # and once /api/v2/instance: are all posts public?
    (repeat,) = harvest({"nl": fake.url})
    assert len(fake.timeline_requests()) - backfill == 1 == repeat.counts.requests
    assert repeat.counts.new == 0


def test_more_than_four_tags_are_split_into_groups_each_with_one_request_per_repeat_run(harvest, store, server):
    tags = ["innoverheid", "lanceerplatform", "opendata", "govtech", "ambtenaar20"]
    fake = FakeInstance(server, tags=tuple(tags))
    fake.add(make_status(sid(1), tags=("ambtenaar20",)), make_status(sid(2), tags=("opendata",)))
    harvest({"nl": fake.url}, tags=tags)
    requests = fake.timeline_requests()
    assert [(r.path.rsplit("/", 1)[1], r.query.get("any[]")) for r in requests] == [
        ("innoverheid", ["lanceerplatform", "opendata", "govtech"]), ("ambtenaar20", None)]
    assert store.posts.count() == 2
    (repeat,) = harvest({"nl": fake.url}, tags=tags)
    assert repeat.counts.requests == 2


def test_many_new_posts_walk_the_gap_forward_without_loss(fake, harvest, store):
    fake.add(*(make_status(sid(i)) for i in range(1, 6)))
    harvest({"nl": fake.url})
    fake.add(*(make_status(sid(i), text=f"nieuw {i}") for i in range(10, 110)))
    (result,) = harvest({"nl": fake.url})
    assert result.counts.new == 100 and store.posts.count() == 105
    assert store.cursors.load(1)["innoverheid+lanceerplatform"].newest_id == sid(109)
    (repeat,) = harvest({"nl": fake.url})
    assert repeat.counts.requests == 1


def test_max_pages_leaves_a_backfill_that_the_next_run_finishes(fake, harvest, store):
    fake.add(*(make_status(sid(i)) for i in range(1, 131)))
    (first,) = harvest({"nl": fake.url}, harvest="max_pages = 2")
    cursor = store.cursors.load(1)["innoverheid+lanceerplatform"]
    assert first.counts.new == 120 and not cursor.backfill_done and cursor.backfill_max_id == sid(11)
    (second,) = harvest({"nl": fake.url}, harvest="max_pages = 2")
    assert second.counts.new == 10 and store.posts.count() == 130
    assert store.cursors.load(1)["innoverheid+lanceerplatform"].backfill_done


def test_a_server_ignoring_max_id_stops_the_backfill_with_a_problem_instead_of_rereading(
        fake, harvest, store, tmp_path):
    fake.honours_max_id = False
    fake.add(*(make_status(sid(i)) for i in range(1, 51)))
    for run in (1, 2):
        before = len(fake.timeline_requests())
        (result,) = harvest({"nl": fake.url}, harvest="max_pages = 5")
        assert len(fake.timeline_requests()) - before == 2       # the newest page and one page back, no more
        assert result.status == "partial" and result.counts.new == (40 if run == 1 else 0)
        assert f"{fake.url} negeert max_id: de pagina vóór de bewaarde positie gaf geen oudere posts" in result.error
        assert sid(11) not in result.error
        cursor = store.cursors.load(1)["innoverheid+lanceerplatform"]
        assert (cursor.backfill_max_id, cursor.backfill_done) == (sid(11), False)
    output = CliRunner().invoke(main, ["--config", str(tmp_path / "harvester.toml"), "status"]).output
    assert f"laatste fout: {fake.url} negeert max_id" in output


def test_backfill_stops_at_backfill_days(fake, harvest, store):
    now = datetime.now(UTC)
    fake.add(*(make_status(sid(i), created_at=now - timedelta(days=60 - i, hours=-1)) for i in range(1, 60)))
    (result,) = harvest({"nl": fake.url}, harvest="backfill_days = 10")
    assert result.counts.new == 10
    assert store.cursors.load(1)["innoverheid+lanceerplatform"] == Cursor(
        "innoverheid+lanceerplatform", sid(59), None, True)


@pytest.mark.parametrize("version", ["4.3.2", "4.5.0"])
def test_auth_required_names_the_instance_and_the_variable(server, harvest, store, monkeypatch, version):
    closed = FakeInstance(server, closed=True, token="geheim")
    closed.version = version      # 4.3: the timeline answers 422; 4.5: /api/v2/instance says so first
    closed.add(make_status(sid(1)))
    monkeypatch.delenv("NL_TOKEN", raising=False)
    (result,) = harvest({"nl": closed.url}, token_env="NL_TOKEN")
    assert result.status == "failed"
    assert closed.url in result.error and "NL_TOKEN" in result.error and "ingelogde" in result.error
    assert ("HTTP 422" in result.error) == (version == "4.3.2")
    assert store.sources.get("nl").auth_required
    assert store.runs.status()[0].last_error == result.error
    monkeypatch.setenv("NL_TOKEN", "geheim")
    (again,) = harvest({"nl": closed.url}, token_env="NL_TOKEN")
    assert again.status == "ok" and again.counts.new == 1
    assert closed.timeline_requests()[-1].headers["Authorization"] == "Bearer geheim"


def test_partly_closed_timelines_are_collected_with_a_warning(server, harvest, store):
    partly = FakeInstance(server)
    partly.hashtag_access = {"local": "public", "remote": "authenticated"}
    partly.add(make_status(sid(1)))
    (result,) = harvest({"nl": partly.url}, token_env="NL_TOKEN")
    assert result.status == "partial" and result.counts.new == 1
    assert "externe posts" in result.error and "NL_TOKEN" in result.error
    assert store.sources.get("nl").auth_required


def test_a_token_env_that_holds_no_token_is_collected_without_one_and_said_in_status(fake, harvest, store, monkeypatch,
                                                                                      tmp_path):
    """The config meant a token to be used: the public posts still come in, but the run is partial
    and says which variable is empty, until it holds a token."""
    fake.add(make_status(sid(1)))
    for unset in (None, "  "):
        if unset is None:
            monkeypatch.delenv("NL_TOKEN", raising=False)
        else:
            monkeypatch.setenv("NL_TOKEN", unset)
        (result,) = harvest({"nl": fake.url}, token_env="NL_TOKEN")
        assert result.status == "partial", result.error
        assert result.error == (f"de omgevingsvariabele NL_TOKEN uit token_env is niet gezet of leeg: opgehaald "
                                f"zonder token, dus alleen wat {fake.url} aan iedereen toont")
        assert "Authorization" not in fake.timeline_requests()[-1].headers
    assert len(stored(store)) == 1
    shown = CliRunner().invoke(main, ["--config", str(tmp_path / "harvester.toml"), "status"]).output
    assert "(deels gelukt)" in shown and "laatste fout: de omgevingsvariabele NL_TOKEN uit token_env" in shown
    monkeypatch.setenv("NL_TOKEN", "geheim")
    (again,) = harvest({"nl": fake.url}, token_env="NL_TOKEN")
    assert (again.status, again.error) == ("ok", None)
    assert fake.timeline_requests()[-1].headers["Authorization"] == "Bearer geheim"


def test_auth_required_on_an_older_server_without_token_env(server, harvest):
    closed = FakeInstance(server)
    closed.scripted = [Reply(401, json.dumps({"error": "This API requires an authenticated user"}))]
    (result,) = harvest({"nl": closed.url})
    assert result.status == "failed" and "token_env" in result.error and "nl" in result.error


@pytest.mark.parametrize("zone", ["GMT", "-0000"])   # -0000: UTC from a server that does not know its zone
def test_429_waits_until_the_reset_measured_on_the_servers_clock(fake, harvest, store, zone):
    server_now = datetime.now(UTC) + timedelta(hours=3)     # the server's clock is far off ours
    reset = server_now + timedelta(seconds=1)
    date = format_datetime(server_now, usegmt=True).replace("GMT", zone)
    fake.scripted = [Reply(429, json.dumps({"error": "Too many requests"}), {
        "Date": date, "X-RateLimit-Limit": "300",
        "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": reset.strftime("%Y-%m-%dT%H:%M:%S.%fZ")})]
    fake.add(make_status(sid(1)))
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        time.sleep(seconds)

    (result,) = harvest({"nl": fake.url}, sleep=sleep)
    assert result.status == "ok" and result.counts.new == 1
    assert len(waits) == 1 and 0.5 <= waits[0] <= 2.5


def test_5xx_is_retried_then_succeeds(fake, harvest):
    fake.scripted = [Reply(503, "<html>Service Unavailable</html>"), Reply(502, "")]
    fake.add(make_status(sid(1)))
    (result,) = harvest({"nl": fake.url})
    assert result.status == "ok" and result.counts.new == 1 and len(fake.timeline_requests()) == 3


def test_malformed_json_fails_that_source_only(fake, harvest, store, server):
    other_server = LocalServer().start()
    try:
        broken = FakeInstance(other_server)
        broken.scripted = [Reply(200, '[{"id": "1", "uri": ', {"Content-Type": "application/json"})]
        fake.add(make_status(sid(1)))
        bad, good = harvest({"kapot": broken.url, "nl": fake.url})
    finally:
        other_server.stop()
    assert bad.status == "failed" and "geen geldige JSON" in bad.error
    assert good.status == "ok" and store.posts.count() == 1


def test_rate_limit_state_is_recorded_with_the_reset_on_our_clock(server, harvest, store):
    skewed = FakeInstance(server, skew=timedelta(hours=-2))
    skewed.add(make_status(sid(1)))
    harvest({"nl": skewed.url})
    row = store.sources.get("nl")
    assert row.ratelimit_remaining == 298        # after /api/v2/instance and one timeline page
    reset = datetime.fromisoformat(row.ratelimit_reset)
    assert timedelta(0) <= reset - datetime.now(UTC) <= timedelta(minutes=5, seconds=5)


def test_nearly_exhausted_rate_limit_stops_paging_and_the_next_run_goes_on(fake, harvest, store):
    fake.add(*(make_status(sid(i)) for i in range(1, 101)))
    fake.remaining = 4       # the next answer says 3 are left: below the reserve, reset minutes away
    (first,) = harvest({"nl": fake.url})
    assert first.status == "partial" and "rate limit" in first.error and len(fake.timeline_requests()) == 1
    # the reset as `status` shows it beside this error: in Dutch time
    assert f"verzoeken tot {dutch_time(store.sources.get('nl').ratelimit_reset)});" in first.error
    fake.remaining = 300
    (second,) = harvest({"nl": fake.url})
    assert store.posts.count() == 100 and second.counts.new == 60


def test_runs_through_run_sources_with_other_sources(fake, store, write_config):
    fake.add(make_status(sid(1)))
    config = load_config(write_config(f'\n[[sources]]\nname = "nl"\ntype = "mastodon"\ninstance = "{fake.url}"\n'))
    (result,) = list(run_sources(store, config, config.sources))
    assert result.status == "ok" and result.counts.new == 1


def test_status_shows_token_needed_rate_limit_and_last_error(server, harvest, store, write_config, tmp_path):
    closed = FakeInstance(server, closed=True)
    closed.add(make_status(sid(1)))
    harvest({"nl": closed.url}, token_env="NL_TOKEN")
    output = CliRunner().invoke(main, ["--config", str(tmp_path / "harvester.toml"), "status"]).output
    assert "token nodig" in output and "laatste fout: " + closed.url in output and "NL_TOKEN" in output
    other = LocalServer().start()
    try:
        fake = FakeInstance(other)
        fake.add(make_status(sid(1)))
        harvest({"open": fake.url})
    finally:
        other.stop()
    output = CliRunner().invoke(main, ["--config", str(tmp_path / "harvester.toml"), "status"]).output
    assert "rate limit: nog 298 verzoeken, reset " in output and "laatste succes: 20" in output


def test_sigkill_in_the_middle_of_a_backfill_then_a_new_run_no_duplicate_no_gap(fake, write_config, tmp_path):
    n = 200
    command = kill_a_slow_backfill(fake, write_config, tmp_path, n)
    with Store(tmp_path / "harvester.db") as store:
        kept = store.posts.count()
        cursor = store.cursors.load(1)["innoverheid+lanceerplatform"]
    assert 0 < kept < n and not cursor.backfill_done and cursor.backfill_max_id is not None
    fake.delay = 0.0
    done = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    with Store(tmp_path / "harvester.db") as store:
        uris = [r[0] for r in store.db.execute("SELECT key FROM posts")]
        assert sorted(uris) == sorted(f"https://mastodon.nl/users/annedv/statuses/{sid(i)}" for i in range(1, n + 1))
        assert store.db.execute("SELECT count(*) FROM sightings").fetchone()[0] == n
        assert store.cursors.load(1)["innoverheid+lanceerplatform"].backfill_done



def test_a_killed_run_is_shown_as_interrupted_with_what_it_stored(fake, write_config, tmp_path):
    """A run killed mid-way keeps the posts of its committed batches, so its record must count them:
    `harvester status` showed it as "nieuw: 0" beside posts it had stored, and the runs no longer
    added up to the posts."""
    n = 200
    command = kill_a_slow_backfill(fake, write_config, tmp_path, n)
    with Store(tmp_path / "harvester.db") as store:
        kept = store.posts.count()
        (killed,) = store.runs.status()
    assert killed.last_run_status == "running" and killed.new_in_last_run == kept > 0

    fake.delay = 0.0
    done = subprocess.run(command, capture_output=True, text=True, timeout=60)

    assert done.returncode == 0, done.stdout + done.stderr
    with Store(tmp_path / "harvester.db") as store:
        runs = store.db.execute("SELECT status, error, new FROM runs ORDER BY id").fetchall()
        assert runs == [("failed", "onderbroken: het proces stopte tijdens deze run", kept), ("ok", None, n - kept)]
        assert store.posts.count() == n


def kill_a_slow_backfill(fake, write_config, tmp_path: Path, n: int) -> list[str]:
    """`n` statuses served slowly and `harvester collect` SIGKILLed in its third page; the command,
    to run again."""
    fake.add(*(make_status(sid(i), text=f"idee {i}") for i in range(1, n + 1)))
    fake.delay = 0.3
    path = write_config(f'\n[[sources]]\nname = "nl"\ntype = "mastodon"\ninstance = "{fake.url}"\n')
    command = [str(Path(sys.executable).with_name("harvester")), "--config", str(path), "collect"]
    kill_in_third_page(command, lambda: len(fake.timeline_requests()), tmp_path / "harvester.db")
    return command


def kill_in_third_page(command: list[str], pages_asked: Callable[[], int], db: Path) -> None:
    """Start `command`; once it asks for the third page and a batch is committed, SIGKILL it."""
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while pages_asked() < 3 and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert process.poll() is None, "harvester collect ended before the third page"
    # into the third page, with the first batches committed: a batch may be half-way through its transaction
    while stored_posts(db) == 0 and process.poll() is None:
        assert time.monotonic() < deadline, "no batch was committed in time"
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait()


def stored_posts(db: Path) -> int:
    """Posts committed so far, read beside the writer (WAL); 0 while the table is not there yet."""
    try:
        with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)) as conn:
            return conn.execute("SELECT count(*) FROM posts").fetchone()[0]
    except sqlite3.OperationalError:
        return 0


def test_paging_is_paced_per_host(monkeypatch):
    from harvester.collectors import mastodon

    monkeypatch.setattr(mastodon, "PACE_REQUESTS", 3)
    monkeypatch.setattr(mastodon._Pacer, "windows", {})
    waits: list[float] = []
    for _ in range(3):
        mastodon._Pacer.wait("mastodon.nl", waits.append)
    mastodon._Pacer.wait("social.overheid.nl", waits.append)
    assert waits == []                       # three in the window, and another host has its own
    mastodon._Pacer.wait("mastodon.nl", waits.append)
    assert len(waits) == 1 and 899 < waits[0] <= 900


def test_an_unreadable_status_is_a_problem_and_the_rest_of_the_page_is_kept(fake, harvest, store):
    broken = make_status(sid(2))
    del broken["uri"]
    fake.add(make_status(sid(1)), broken, make_status(sid(3)))
    (result,) = harvest({"nl": fake.url})
    assert result.status == "partial" and result.counts.new == 2
    # named by place, not by id: the id leads to the author, and the runs outlive a forget or opt-out
    assert "status 2 van 3 op de pagina overgeslagen: onleesbaar (KeyError: 'uri')" in result.error
    assert sid(2) not in " ".join(e for (e,) in store.db.execute("SELECT error FROM runs"))


@pytest.mark.parametrize(
    ("reply", "problem"),
    [
        # a login or maintenance page put in front of the instance by a proxy
        (Reply(200, "<html><body>Onderhoud</body></html>", {"Content-Type": "text/html; charset=utf-8"}),
         "regel 1, kolom 1; Content-Type text/html; charset=utf-8"),
        (Reply(200, '[{"id": ', {"Content-Type": "application/json"}), "regel 1, kolom 9; Content-Type application/json"),
    ],
    ids=["html-page", "cut-off-json"],
)
def test_an_answer_that_is_no_json_fails_the_source_in_dutch(fake, harvest, store, reply, problem):
    """json's own messages ("Expecting value: line 1 column 1 (char 0)") are English: the admin reads
    where the answer stops being JSON and what the server said it was."""
    fake.scripted = [reply]
    (result,) = harvest({"nl": fake.url})
    assert result.status == "failed"
    assert result.error.endswith(f": geen geldige JSON ({problem})")
    assert "Expecting" not in result.error


def test_an_error_object_instead_of_a_timeline_fails_the_source(fake, harvest, store):
    fake.scripted = [Reply(200, json.dumps({"error": "Record not found"}), {"Content-Type": "application/json"})]
    (result,) = harvest({"nl": fake.url})
    assert result.status == "failed" and "geen lijst met posts" in result.error
