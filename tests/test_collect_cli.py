"""`harvester collect` and `harvester up` end to end: real feeds on 127.0.0.1, a real database file,
and a real `kill -9` in the middle of a run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

from click.testing import CliRunner

from harvester.cli import main
from harvester.store import Store

from .conftest import DATA
from .localserver import Reply

FEEDS = DATA / "feeds"
RSS = {"Content-Type": "application/rss+xml; charset=utf-8"}


def feed_source(name: str, url: str) -> str:
    return f'\n[[sources]]\nname = "{name}"\ntype = "feed"\nurl = "{url}"\n'


def invoke(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_collect_stores_what_succeeds_reports_what_failed_and_exits_1(server, write_config, tmp_path):
    server.route("/blog.rss", Reply(200, (FEEDS / "blog-rss2.xml").read_bytes(), RSS))
    server.route("/tags/innoverheid.rss", Reply(200, (FEEDS / "mastodon-tag.rss").read_bytes(), RSS))
    server.route("/broken.rss", Reply(500, b"oeps"))
    config = write_config(
        feed_source("blog", server.url("/blog.rss"))
        + feed_source("stuk", server.url("/broken.rss"))
        + feed_source("tagfeed", server.url("/tags/innoverheid.rss")),
        retries=1,
    )

    result = invoke("--config", str(config), "collect")

    assert result.exit_code == 1
    assert "blog: gelukt (3 nieuw, 0 bijgewerkt, 0 ongewijzigd, 2 overgeslagen)" in result.stdout
    assert "tagfeed: gelukt (3 nieuw" in result.stdout
    assert "stuk: MISLUKT" in result.stdout and "serverfout HTTP 500" in result.stdout
    assert "Klaar: 3 bronnen, 6 nieuwe posts, 1 mislukt." in result.stdout
    log = result.stderr.splitlines()
    assert len(log) == 3 and log[1].startswith("source=stuk status=failed new=0")
    assert 'error="serverfout HTTP 500' in log[1]

    status = json.loads(invoke("--config", str(config), "status", "--json").stdout)["sources"]
    by_name = {s["name"]: s for s in status}
    assert by_name["stuk"]["last_run_status"] == "failed" and by_name["stuk"]["consecutive_failures"] == 1
    assert "serverfout HTTP 500" in by_name["stuk"]["last_error"]
    assert by_name["blog"]["last_run_status"] == "ok" and by_name["blog"]["new_in_last_run"] == 3
    text_status = invoke("--config", str(config), "status").stdout
    assert "laatste fout: serverfout HTTP 500" in text_status
    posts = json.loads(invoke("--config", str(config), "posts", "--json", "--limit", "50").stdout)
    assert len(posts) == 6


ONE_ITEM = """<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel><title>Blog van het netwerk</title><link>https://blog.example/</link>
<item><title>Een loket voor alles</title><link>https://blog.example/loket</link>
<guid isPermaLink="true">https://blog.example/loket</guid><pubDate>Thu, 14 Mar 2013 09:30:00 +0000</pubDate>
<description>Waarom niet een loket voor alle vragen? #innoverheid</description><category>innoverheid</category></item>
</channel></rss>"""


def test_the_closing_line_counts_in_dutch_singular_and_plural(server, write_config):
    server.route("/een.rss", Reply(200, ONE_ITEM, RSS))
    server.route("/nieuws.atom", Reply(200, (FEEDS / "news-atom.xml").read_bytes(), {"Content-Type": "application/atom+xml"}))
    one = write_config(feed_source("blog", server.url("/een.rss")))
    result = invoke("--config", str(one), "collect")
    assert result.exit_code == 0, result.output
    assert "Klaar: 1 bron, 1 nieuwe post, 0 mislukt." in result.stdout
    # published in winter at 09:30 UTC: 10:30 in Dutch time; --json keeps UTC
    assert "\t2013-03-14 10:30\t" in invoke("--config", str(one), "posts").stdout
    assert json.loads(invoke("--config", str(one), "posts", "--json").stdout)[0]["published_at"] == "2013-03-14T09:30:00+00:00"
    two = write_config(feed_source("blog", server.url("/een.rss")) + feed_source("netwerk", server.url("/nieuws.atom")))
    result = invoke("--config", str(two), "collect")
    assert result.exit_code == 0, result.output
    assert "Klaar: 2 bronnen, 2 nieuwe posts, 0 mislukt." in result.stdout


def test_second_collect_is_cheap_and_exits_0(server, write_config):
    def conditional(request):
        if request.headers.get("If-None-Match") == '"v1"':
            return Reply(304)
        return Reply(200, (FEEDS / "news-atom.xml").read_bytes(), {"Content-Type": "application/atom+xml", "ETag": '"v1"'})

    server.route("/nieuws.atom", conditional)
    config = write_config(feed_source("netwerk", server.url("/nieuws.atom")))
    first = invoke("--config", str(config), "collect")
    second = invoke("--config", str(config), "collect")
    assert first.exit_code == 0 and "netwerk: gelukt (2 nieuw" in first.stdout
    assert second.exit_code == 0 and "netwerk: ongewijzigd sinds vorige keer (0 nieuw" in second.stdout


def test_collect_only_the_named_sources(server, write_config):
    server.route("/a.rss", Reply(200, (FEEDS / "blog-rss2.xml").read_bytes(), RSS))
    server.route("/b.rss", Reply(200, (FEEDS / "mastodon-tag.rss").read_bytes(), RSS))
    config = write_config(feed_source("a", server.url("/a.rss")) + feed_source("b", server.url("/b.rss")))
    result = invoke("collect", "--source", "b", "--config", str(config))
    assert result.exit_code == 0
    assert server.requests_to("/a.rss") == [] and len(server.requests_to("/b.rss")) == 1


def test_unknown_source_name_is_a_usage_error(write_config):
    config = write_config(feed_source("a", "https://example.org/feed"))
    result = invoke("--config", str(config), "collect", "--source", "a", "--source", "bestaatniet")
    assert result.exit_code == 2
    assert result.stderr.strip() == "onbekende bron: bestaatniet (bekend: a)"


def many_items_feed(n: int) -> bytes:
    items = "".join(
        f"<item><guid isPermaLink='true'>https://mastodon.example/@veel/{i}</guid>"
        f"<link>https://mastodon.example/@veel/{i}</link><pubDate>Thu, 14 Mar 2013 11:42:07 +0000</pubDate>"
        f"<description>&lt;p&gt;Idee nummer {i} #innoverheid&lt;/p&gt;</description>"
        "<category>innoverheid</category><category>lanceerplatform</category></item>"
        for i in range(n)
    )
    return f"<?xml version='1.0' encoding='UTF-8'?><rss version='2.0'><channel><title>#innoverheid</title>{items}</channel></rss>".encode()


def harvester_process(config) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if k not in ("HARVESTER_DB", "HARVESTER_CONFIG")}
    return subprocess.Popen(
        [sys.executable, "-c", "from harvester.cli import main; main()", "--config", str(config), "collect"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
    )


def wait_for(condition, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.02)


def assert_consistent(db_path, expected_counts: set[int]) -> int:
    """No half-written post: every post has its tags and its sighting, and batches land whole."""
    with Store(db_path) as store:
        count = store.posts.count()
        assert count in expected_counts
        assert store.db.execute(
            "SELECT count(*) FROM posts p WHERE NOT EXISTS (SELECT 1 FROM post_tags t WHERE t.post_id = p.id)"
            " OR NOT EXISTS (SELECT 1 FROM sightings g WHERE g.post_id = p.id)").fetchone() == (0,)
        assert store.db.execute("SELECT count(*) FROM posts_fts").fetchone() == (count,)
        assert store.db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    return count


def test_kill_9_mid_run_then_run_again_loses_and_duplicates_nothing(server, write_config, tmp_path):
    n = 800
    server.route("/veel.rss", Reply(200, many_items_feed(n), RSS))
    server.route("/traag.rss", Reply(200, (FEEDS / "blog-rss2.xml").read_bytes(), RSS, delay=30))
    config = write_config(
        feed_source("veel", server.url("/veel.rss")) + feed_source("traag", server.url("/traag.rss")),
        timeout_seconds=60,
    )
    db = tmp_path / "harvester.db"

    # killed while the slow second source is being fetched: the first source is stored whole
    process = harvester_process(config)
    wait_for(lambda: server.requests_to("/traag.rss"))
    process.send_signal(signal.SIGKILL)
    assert process.wait() == -signal.SIGKILL
    assert assert_consistent(db, {n}) == n
    with Store(db) as store:
        assert {s.name: s.last_run_status for s in store.runs.status()} == {"veel": "ok", "traag": "running"}

    # killed at some moment while the big feed is read, parsed or written: all of it or none of it
    for pause in (0.1, 0.5):
        server.route("/veel.rss", Reply(200, many_items_feed(n + 10), RSS))
        before = server.requests_to("/veel.rss")
        process = harvester_process(config)
        wait_for(lambda: len(server.requests_to("/veel.rss")) > len(before))
        time.sleep(pause)
        process.send_signal(signal.SIGKILL)
        process.wait()
        assert_consistent(db, {n, n + 10})

    # a run to the end: nothing twice, the interrupted runs shown as such
    server.route("/traag.rss", Reply(200, (FEEDS / "blog-rss2.xml").read_bytes(), RSS))
    process = harvester_process(config)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 0, err.decode()
    assert assert_consistent(db, {n + 10 + 3}) == n + 13
    with Store(db) as store:
        runs = store.db.execute(
            "SELECT s.name, r.status, r.error FROM runs r JOIN sources s ON s.id = r.source_id ORDER BY r.id").fetchall()
        assert runs[-2:] == [("veel", "ok", None), ("traag", "ok", None)]
        assert ("traag", "failed") in [(name, status) for name, status, _ in runs]
        assert all(status in ("ok", "failed") for _, status, _ in runs)
        assert all(error for _, status, error in runs if status == "failed")
        # the first kill interrupted "traag"; a later one may too, when "veel" was stored within the pause
        interrupted = [error for name, status, error in runs if name == "traag" and status == "failed"]
    status = invoke("--config", str(config), "status").stdout
    assert f"laatste fout: {interrupted[-1]}" in status


def test_on_a_terminal_a_progress_bar_replaces_the_log_lines(server, write_config, monkeypatch):
    from harvester.cli import collect as collect_module

    monkeypatch.setattr(collect_module, "interactive", lambda: True)
    server.route("/a.rss", Reply(200, (FEEDS / "blog-rss2.xml").read_bytes(), RSS))
    config = write_config(feed_source("a", server.url("/a.rss")))
    result = invoke("--config", str(config), "collect")
    assert result.exit_code == 0
    assert "a: gelukt (3 nieuw" in result.stdout
    assert "Bronnen ophalen" in result.stderr and "source=a" not in result.stderr
