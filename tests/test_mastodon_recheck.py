"""`harvester recheck`: posts deleted at the source are found, forgotten, and never harvested again."""

from __future__ import annotations

import json
import sqlite3
import threading
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner

from harvester.cli import main
from harvester.collectors.http import Fetcher
from harvester.config import load_config
from harvester.initiatives import step
from harvester.jobs.harvest import run_source, run_sources
from harvester.jobs.jobs import Jobs
from harvester.privacy.hashing import fingerprint
from harvester.jobs.mastodon_recheck import recheck
from harvester.store import BUSY_TIMEOUT_MS, Store

from .localserver import LocalServer, Reply
from .mastodon_fake import FakeInstance, make_status
from .test_mastodon import sid


@pytest.fixture
def setup(write_config, store):
    """Write a config for the given instances; return (config, collect, recheck) helpers."""

    def make(instances: dict[str, str], harvest: str = ""):
        body = "".join(f'\n[[sources]]\nname = "{n}"\ntype = "mastodon"\ninstance = "{u}"\n' for n, u in instances.items())
        config = load_config(write_config(body, harvest=harvest))

        def collect():
            with Fetcher(config.harvest) as fetcher:
                return [run_source(store, config, s, fetcher) for s in config.sources]

        def check():
            with Fetcher(config.harvest) as fetcher:
                return recheck(store, config, fetcher)

        return config, collect, check

    return make


def keys(store):
    return [r[0] for r in store.db.execute("SELECT key FROM posts ORDER BY key")]


def test_a_deletion_is_found_in_one_batch_request_and_never_harvested_again(server, setup, store):
    fake = FakeInstance(server)
    statuses = [make_status(sid(i), username=f"user{i}", text=f"Uniek idee nummer{i}") for i in range(1, 4)]
    fake.add(*statuses)
    _, collect, check = setup({"nl": fake.url})
    collect()
    fake.delete(sid(2))
    result = check()
    assert (result.checked, result.deleted, result.problems) == (3, 1, [])
    (batch,) = fake.server.requests_to("/api/v1/statuses")
    assert sorted(batch.query["id[]"]) == [sid(1), sid(2), sid(3)]
    gone = statuses[1]["uri"]
    assert gone not in keys(store) and len(keys(store)) == 2
    assert store.db.execute("SELECT count(*) FROM posts_fts WHERE posts_fts MATCH 'nummer2'").fetchone()[0] == 0
    assert store.db.execute("SELECT key FROM authors WHERE key LIKE 'user2@%'").fetchall() == []
    assert store.db.execute("SELECT kind, reason FROM suppressions WHERE hash = ?", [fingerprint(gone)]).fetchone() == (
        "post", "deleted")
    assert store.db.execute("SELECT actor, action FROM review_events").fetchall() == [("system", "deleted_at_source")]
    fake.add(statuses[1])            # another server still serves the deleted post
    (again,) = collect()
    assert gone not in keys(store) and again.counts.skipped == 1


def test_older_servers_are_asked_status_by_status(server, setup, store):
    fake = FakeInstance(server, batch_endpoint=False)
    fake.add(*(make_status(sid(i)) for i in range(1, 26)))
    _, collect, check = setup({"nl": fake.url})
    collect()
    fake.delete(sid(7))
    result = check()
    assert (result.checked, result.deleted) == (25, 1)
    assert len(fake.server.requests_to("/api/v1/statuses")) == 1      # the 404 that shows the route is missing
    singles = [r for r in fake.server.requests if r.path.startswith("/api/v1/statuses/")]
    assert len(singles) == 25
    assert len(keys(store)) == 24


def test_a_failed_status_request_names_the_route_not_the_status(server, setup, store):
    fake = FakeInstance(server, batch_endpoint=False)
    fake.add(make_status(sid(1)))
    _, collect, check = setup({"nl": fake.url})
    collect()
    server.route(f"/api/v1/statuses/{sid(1)}", Reply(500, "kapot"))
    result = check()
    # the problem goes to the job's outcome and the log, which a forget does not clean: no status id in it
    assert result.deleted == 0 and len(keys(store)) == 1
    assert result.problems == [f"nl: serverfout HTTP 500 bij {fake.url}/api/v1/statuses/:id (na 3 pogingen)"]


def test_a_404_that_is_not_mastodons_deletes_nothing(server, setup, store):
    """A 404 counts as "deleted" only as Mastodon words it ({"error": "Record not found"}): a web
    server's own 404 page (the domain now serves something else, a proxy lost the route during
    maintenance) answered every status so, and every recent post was deleted and tombstoned."""
    fake = FakeInstance(server, batch_endpoint=False)
    fake.add(*(make_status(sid(i)) for i in range(1, 4)))
    _, collect, check = setup({"nl": fake.url})
    collect()
    page = Reply(404, "<html><body><h1>404 Not Found</h1></body></html>", {"Content-Type": "text/html"})
    server.route("/api/v1/statuses", page)
    for i in range(1, 4):
        server.route(f"/api/v1/statuses/{sid(i)}", page)
    result = check()
    assert result.deleted == 0 and len(keys(store)) == 3
    assert result.problems == [f"nl: onverwacht antwoord van {fake.url}/api/v1/statuses/:id: HTTP 404 zonder de "
                               "foutmelding van Mastodon; niets als verwijderd beschouwd"]


def test_a_post_gone_on_one_instance_but_shown_on_another_is_kept(server, setup, store):
    other_server = LocalServer().start()
    try:
        nl, social = FakeInstance(server), FakeInstance(other_server, domain="mastodon.social")
        nl.add(make_status(sid(5)))
        social.add(make_status(sid(9), instance="mastodon.social", origin_id=sid(5)))
        _, collect, check = setup({"nl": nl.url, "social": social.url})
        collect()
        nl.delete(sid(5))                 # e.g. the instance stopped federating with the author's server
        result = check()
    finally:
        other_server.stop()
    assert (result.checked, result.deleted) == (1, 0) and len(keys(store)) == 1


def test_an_unreachable_instance_decides_nothing(server, setup, store):
    fake = FakeInstance(server)
    fake.add(make_status(sid(1)))
    _, collect, check = setup({"nl": fake.url})
    collect()
    fake.delete(sid(1))
    server.route("/api/v1/statuses", Reply(503, "down"))
    result = check()
    assert result.deleted == 0 and len(keys(store)) == 1
    assert result.problems and "nl" in result.problems[0] and "503" in result.problems[0]


def test_only_posts_younger_than_recheck_days_are_asked(server, setup, store):
    fake = FakeInstance(server)
    old, new = make_status(sid(1), created_at=datetime.now(UTC) - timedelta(days=20)), make_status(sid(2))
    fake.add(old, new)
    _, collect, check = setup({"nl": fake.url}, harvest="recheck_days = 14")
    collect()
    fake.delete(sid(1))
    fake.delete(sid(2))
    result = check()
    assert (result.checked, result.deleted) == (1, 1)
    assert keys(store) == [old["uri"]]


def test_recheck_command(server, setup, store, write_config, tmp_path):
    fake = FakeInstance(server)
    fake.add(make_status(sid(1)), make_status(sid(2), username="bert"))
    _, collect, _ = setup({"nl": fake.url})
    collect()
    fake.delete(sid(2))
    runner = CliRunner()
    result = runner.invoke(main, ["--config", str(tmp_path / "harvester.toml"), "recheck"])
    assert result.exit_code == 0, result.output
    assert "Gecontroleerd: 2 posts, verwijderd bij de bron: 1, bijgewerkt na een bewerking: 0." in result.output
    assert store.posts.count() == 1
    again = runner.invoke(main, ["--config", str(tmp_path / "harvester.toml"), "recheck"])
    assert "Gecontroleerd: 1 post, verwijderd bij de bron: 0, bijgewerkt na een bewerking: 0." in again.output
    server.route("/api/v1/statuses", Reply(500, "kapot"))
    failed = runner.invoke(main, ["--config", str(tmp_path / "harvester.toml"), "recheck"])
    assert failed.exit_code == 1 and "probleem: nl:" in failed.output


def test_an_edit_of_a_post_beyond_the_newest_page_is_picked_up_by_the_recheck(server, setup, store):
    fake = FakeInstance(server)
    statuses = [make_status(sid(i), text=f"idee {i}") for i in range(1, 46)]
    fake.add(*statuses)
    _, collect, check = setup({"nl": fake.url})
    collect()
    statuses[0]["content"] = "<p>idee 1, beter uitgewerkt #innoverheid</p>"
    statuses[0]["edited_at"] = "2026-11-22T12:00:00.000Z"
    (again,) = collect()
    assert again.counts.updated == 0          # the oldest post is not on the newest page
    result = check()
    assert (result.deleted, result.updated) == (0, 1)
    text, edited = store.db.execute("SELECT text, edited_at FROM posts WHERE key = ?", [statuses[0]["uri"]]).fetchone()
    assert text == "idee 1, beter uitgewerkt #innoverheid" and edited == "2026-11-22T12:00:00+00:00"
    assert check().updated == 0               # once stored, the same edit changes nothing


def test_a_recheck_without_the_token_named_in_token_env_says_so_like_the_collector(server, write_config, tmp_path,
                                                                                     monkeypatch):
    """The config meant a token to be used: the recheck still asks (what everyone may see needs
    none), but the command and the background job's outcome in status name the empty variable."""
    monkeypatch.delenv("NL_TOKEN", raising=False)
    fake = FakeInstance(server)
    fake.add(make_status(sid(1)), make_status(sid(2), username="bert"))
    path = write_config(f'[[sources]]\nname = "nl"\ntype = "mastodon"\ninstance = "{fake.url}"\n'
                        'token_env = "NL_TOKEN"\n')
    config = load_config(path)
    with Store(config.db_path) as store, Fetcher(config.harvest) as fetcher:
        collected = run_source(store, config, config.sources[0], fetcher)
    assert collected.status == "partial"
    fake.delete(sid(2))
    said = (f"nl: de omgevingsvariabele NL_TOKEN uit token_env is niet gezet of leeg: opgehaald zonder token, "
            f"dus alleen wat {fake.url} aan iedereen toont")
    result = CliRunner().invoke(main, ["--config", str(path), "recheck"])
    assert result.exit_code == 0, result.output   # partial, as the collector's run: nothing failed
    assert "verwijderd bij de bron: 1" in result.output and f"  probleem: {said}\n" in result.output
    assert "Authorization" not in fake.server.requests_to("/api/v1/statuses")[-1].headers
    jobs = Jobs(config, threading.Event())
    assert jobs.recheck()
    outcome = json.loads(CliRunner().invoke(main, ["--config", str(path), "status", "--json"]).output)["jobs"]["recheck"]
    assert (outcome["status"], outcome["error"], outcome["ok_at"]) == ("partial", said, None)

    monkeypatch.setenv("NL_TOKEN", "geheim")
    again = CliRunner().invoke(main, ["--config", str(path), "recheck"])
    assert (again.exit_code, again.stderr) == (0, "")
    assert fake.server.requests_to("/api/v1/statuses")[-1].headers["Authorization"] == "Bearer geheim"
    assert jobs.recheck()
    outcome = json.loads(CliRunner().invoke(main, ["--config", str(path), "status", "--json"]).output)["jobs"]["recheck"]
    assert (outcome["status"], outcome["error"]) == ("ok", None)


def test_a_recheck_that_nearly_spends_the_rate_limit_stops_and_names_the_reset(server, setup, store):
    fake = FakeInstance(server, batch_endpoint=False)
    fake.add(*(make_status(sid(i)) for i in range(1, 26)))
    _, collect, check = setup({"nl": fake.url})
    collect()
    fake.delete(sid(20))
    fake.remaining = 9       # the batch route's 404, then status by status until 5 are left
    result = check()
    asked = [r for r in fake.server.requests if r.path.startswith("/api/v1/statuses/")]
    assert len(asked) == 3 and result.deleted == 0 and len(keys(store)) == 25
    (problem,) = result.problems
    start, end = f"nl: rate limit van {fake.url} bijna op (nog 5 verzoeken tot ", "); de recheck gaat de volgende keer verder"
    assert problem.startswith(start) and problem.endswith(end)
    # the reset in Dutch time, as `harvester status` shows it: five minutes after the last answer
    reset = datetime.strptime(problem[len(start):-len(end)], "%Y-%m-%d %H:%M").replace(tzinfo=ZoneInfo("Europe/Amsterdam"))
    assert timedelta(minutes=3) <= reset - datetime.now(UTC) <= timedelta(minutes=6)


def recounts(store):
    """The summaries the store saves from now on (each holds the write lock while the counts are made)."""
    saved = []
    store.db.conn.set_trace_callback(lambda sql: saved.append(sql) if sql == "DELETE FROM initiative_stats" else None)
    return saved


def ynnovate_posts(server, setup, store, n):
    """`n` authors' posts naming Ynnovate, harvested and counted; (statuses, the instance, collect, check)."""
    fake = FakeInstance(server)
    statuses = [make_status(sid(i), username=f"user{i}", text=f"Goed gesprek bij Ynnovate, deel {i}") for i in range(1, n + 1)]
    fake.add(*statuses)
    config, collect, check = setup({"nl": fake.url})
    collect()
    step.update(store, config)
    assert [(s.initiative, s.posts, s.authors) for s in store.initiatives.stats()] == [("Ynnovate", n, n)]
    return statuses, fake, collect, check


def test_a_recheck_makes_the_initiatives_counts_anew_once_after_deletions_and_opt_outs(server, setup, store):
    """Without the background job no matching pass follows a recheck (`harvester recheck` from cron):
    a post deleted at the source, or by an author who opted out since, leaves the counts in the pass,
    once for all of them, not once per account."""
    statuses, fake, _, check = ynnovate_posts(server, setup, store, 4)
    fake.delete(sid(2))
    statuses[2]["account"]["noindex"] = True      # user3 and user4 opted out since
    statuses[3]["account"]["noindex"] = True
    saved = recounts(store)
    result = check()
    assert (result.deleted, result.opted_out) == (1, 2)
    assert [(s.initiative, s.posts, s.authors) for s in store.initiatives.stats()] == [("Ynnovate", 1, 1)]
    assert not store.initiatives.needs_summary() and len(saved) == 1


def recounts_in_the_file(store):
    """How many summaries any connection saves from now on (a job opens its own): a trigger notes each."""
    store.db.executescript(
        "CREATE TABLE test_recounts (at TEXT);"
        "CREATE TRIGGER test_recount AFTER UPDATE OF summarised_at ON initiative_matching"
        " WHEN NEW.summarised_at IS NOT NULL BEGIN INSERT INTO test_recounts VALUES (NEW.summarised_at); END;")
    return lambda: store.db.execute("SELECT count(*) FROM test_recounts").fetchone()[0]


def busy_at_the_recount(store):
    """Another writer takes the database just as `store`'s connection begins the recount (its first
    transaction after the staleness check) and holds it past the wait: a real "database is locked",
    after the deletions and opt-outs committed. Returns what lets it go."""
    store.db.execute("PRAGMA busy_timeout = 200")
    writer = sqlite3.connect(store.path, timeout=0, check_same_thread=False)
    steps = []

    def watch(sql: str) -> None:
        if writer.in_transaction:      # the recount met it: let go before whatever comes next
            writer.rollback()
        elif not steps and sql.startswith("SELECT summarised_at FROM initiative_matching"):
            steps.append("checked")
        elif steps == ["checked"] and sql == "BEGIN IMMEDIATE":
            steps.append("taken")
            writer.execute("BEGIN IMMEDIATE")

    store.db.conn.set_trace_callback(watch)

    def let_go() -> None:
        store.db.conn.set_trace_callback(None)
        writer.rollback()
        writer.close()
        store.db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        assert steps == ["checked", "taken"]

    return let_go


def collect_as_a_user(how, config, tmp_path):
    """One collection of every source as the scheduler runs it, or as `harvester collect` does."""
    if how == "scheduler":
        for source in config.sources:
            Jobs(config, threading.Event()).collect(source, respect_backoff=False)
        return None
    return CliRunner().invoke(main, ["--config", str(tmp_path / "harvester.toml"), "collect"])


@pytest.mark.parametrize("how", ["scheduler", "cli"])
def test_a_harvest_that_forgot_an_author_and_then_failed_leaves_them_out_of_the_counts(
        server, setup, store, tmp_path, how):
    """The opt-out comes on the newest page, the page after it fails: the run failed, but what it
    forgot is forgotten in the counts too. Nothing new was stored, so no pass would follow for that."""
    fake = FakeInstance(server)
    statuses = [make_status(sid(i), username=f"user{i}", text=f"Goed gesprek bij Ynnovate, deel {i}") for i in range(1, 41)]
    fake.add(*statuses)         # a full page: the backfill asks for the page after it, and that fails

    def older_pages_fail(request):
        return Reply(503, "<html>Service Unavailable</html>") if "max_id" in request.query else fake.timeline(request)

    server.route("/api/v1/timelines/tag/innoverheid", older_pages_fail)
    config, collect, _ = setup({"nl": fake.url})
    collect()
    step.update(store, config)
    assert [(s.initiative, s.posts, s.authors) for s in store.initiatives.stats()] == [("Ynnovate", 40, 40)]
    statuses[39]["account"]["noindex"] = True      # user40 opted out since
    collect_as_a_user(how, config, tmp_path)
    (run,) = store.db.execute("SELECT status, error FROM runs ORDER BY id DESC LIMIT 1").fetchall()
    assert run[0] == "partial" and "503" in run[1]     # the newest page was stored, the next one failed
    assert store.posts.count() == 39
    assert [(s.initiative, s.posts, s.authors) for s in store.initiatives.stats()] == [("Ynnovate", 39, 39)]
    assert not store.initiatives.needs_summary()


def test_the_scheduler_makes_the_counts_anew_once_after_new_posts_and_an_opt_out(server, setup, store, tmp_path):
    statuses, fake, _, _ = ynnovate_posts(server, setup, store, 3)
    config = load_config(tmp_path / "harvester.toml")
    statuses[1]["account"]["noindex"] = True       # user2 opted out since
    fake.add(make_status(sid(4), username="user9", text="Ook naar Ynnovate geweest"),
             make_status(sid(5), username="user3", text="En weer Ynnovate", account={"noindex": True}))
    saved = recounts_in_the_file(store)
    assert Jobs(config, threading.Event()).collect(config.sources[0], respect_backoff=False)
    assert [(s.initiative, s.posts, s.authors) for s in store.initiatives.stats()] == [("Ynnovate", 2, 2)]
    assert saved() == 1 and not store.initiatives.needs_summary()


def test_harvester_collect_says_so_when_the_recount_is_refused(server, setup, store, tmp_path, caplog):
    """As `harvester collect` runs the sources: the opt-out is honoured and the file compacted; the
    recount, refused by a busy database, is said as a warning (the command's log handler shows it)
    and left to the next pass."""
    statuses, _, _, _ = ynnovate_posts(server, setup, store, 3)
    statuses[1]["account"]["noindex"] = True
    config = load_config(tmp_path / "harvester.toml")
    let_go = busy_at_the_recount(store)
    try:
        (result,) = run_sources(store, config, config.sources)
    finally:
        let_go()
    assert result.forgot_authors
    assert ("tellingen van de initiatieven niet opnieuw gemaakt (de database is bezet: een ander proces hield haar langer vast dan de harvester wacht); "
            "de achtergrondtaak of `harvester initiatives` telt opnieuw") in caplog.messages
    assert store.posts.count() == 2 and store.initiatives.needs_summary()


def test_a_recheck_whose_recount_is_refused_keeps_its_deletions_and_says_so(server, setup, store):
    _, fake, _, check = ynnovate_posts(server, setup, store, 3)
    fake.delete(sid(2))
    let_go = busy_at_the_recount(store)
    try:
        result = check()
    finally:
        let_go()
    said = ("tellingen van de initiatieven niet opnieuw gemaakt (de database is bezet: een ander proces hield haar langer vast dan de harvester wacht); "
            "de achtergrondtaak of `harvester initiatives` telt opnieuw")
    assert (result.deleted, result.problems, result.outcome[0]) == (1, [said], "partial")
    assert store.posts.count() == 2 and store.initiatives.needs_summary()


def test_a_recount_that_fails_for_another_reason_than_the_database_is_a_bug_and_goes_on(server, setup, store):
    """Bad SQL or a broken table is no busy database: it must not hide as a problem in every pass."""
    _, fake, _, check = ynnovate_posts(server, setup, store, 3)
    fake.delete(sid(2))
    store.db.executescript(
        "CREATE TRIGGER test_refuse BEFORE UPDATE OF summarised_at ON initiative_matching"
        " WHEN NEW.summarised_at IS NOT NULL BEGIN SELECT RAISE(ABORT, 'een fout in de telling'); END;")
    with pytest.raises(sqlite3.IntegrityError, match="een fout in de telling"):
        check()
