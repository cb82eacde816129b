"""The feed collector through the harvest loop: real feeds from a real server on 127.0.0.1, a real store.

Feed samples in tests/data/feeds/ were written for these tests in the shape of what WordPress
(RSS 2.0), Hugo (Atom 1.0) and Mastodon 4.2 (tag feed: no title, a category per tag, permalink
guid, media:content with alt text) publish.
"""

from __future__ import annotations

import html
import json
import time

import pytest

from harvester.collectors.http import Fetcher, FetchError
from harvester.config import load_config
from harvester.jobs.harvest import log_line, run_source, run_sources
from harvester.models import site_of
from harvester.privacy.forget import parse_author

from .conftest import DATA
from .localserver import LocalServer, Reply, Request

FEEDS = DATA / "feeds"
RSS = {"Content-Type": "application/rss+xml; charset=utf-8"}
ATOM = {"Content-Type": "application/atom+xml"}

BLOG_KEYS = {"https://blog.example.nl/?p=1201", "https://blog.example.nl/?p=1198", "https://blog.example.nl/?p=1187"}
ATOM_KEYS = {"tag:netwerk.example.org,2013:nieuws/open-agendas", "tag:netwerk.example.org,2013:nieuws/medewerkers"}
MASTODON_KEYS = {
    "https://mastodon.example/@gemeentejan/110012345678901234",
    "https://mastodon.example/@provincieanna/110012340000000001",
    "https://mastodon.example/@ictbeleid/110012330000000002",
}


def feed(name: str) -> bytes:
    return (FEEDS / name).read_bytes()


def sources_toml(server, *names_paths: tuple[str, str], match: str = "tags") -> str:
    return "".join(
        f'\n[[sources]]\nname = "{name}"\ntype = "feed"\nurl = "{server.url(path)}"\nmatch = "{match}"\n'
        for name, path in names_paths
    )


@pytest.fixture
def harvest(write_config, store):
    """Run the named sources (all by default) from a config body through the harvest loop."""

    def run(body: str, *names: str, **config_options):
        config = load_config(write_config(body, **config_options))
        chosen = [s for s in config.sources if not names or s.name in names]
        return {r.source: r for r in run_sources(store, config, chosen)}

    return run


def stored_keys(store, source: str | None = None) -> set[str]:
    if source is None:
        return {r[0] for r in store.db.execute("SELECT key FROM posts")}
    return {r[0] for r in store.db.execute(
        "SELECT p.key FROM posts p JOIN sightings g ON g.post_id = p.id JOIN sources s ON s.id = g.source_id"
        " WHERE s.name = ?", [source])}


def test_rss_atom_and_mastodon_tag_feed_store_exactly_the_tagged_entries(server, store, harvest):
    server.route("/blog/feed/", Reply(200, feed("blog-rss2.xml"), RSS))
    server.route("/nieuws.atom", Reply(200, feed("news-atom.xml"), ATOM))
    server.route("/tags/innoverheid.rss", Reply(200, feed("mastodon-tag.rss"), RSS))
    results = harvest(sources_toml(server, ("blog", "/blog/feed/"), ("netwerk", "/nieuws.atom"),
                                   ("tagfeed", "/tags/innoverheid.rss")))

    assert {name: r.status for name, r in results.items()} == {"blog": "ok", "netwerk": "ok", "tagfeed": "ok"}
    assert (results["blog"].counts.new, results["blog"].counts.skipped) == (3, 2)
    assert (results["netwerk"].counts.new, results["netwerk"].counts.skipped) == (2, 1)
    assert stored_keys(store, "blog") == BLOG_KEYS
    assert stored_keys(store, "netwerk") == ATOM_KEYS
    assert stored_keys(store, "tagfeed") == MASTODON_KEYS

    posts = {p.key: p for p in store.posts.latest(50)}
    # Mastodon tag feed: no title, no author, tags from the categories, the post and not its picture's alt text
    anna = posts["https://mastodon.example/@provincieanna/110012340000000001"]
    assert anna.title is None and anna.author is None
    assert anna.tags == ["innoverheid", "lanceerplatform"]
    assert anna.text.startswith("Samen met @gemeentejan een pilot gestart")
    assert "Foto van een werksessie" not in anna.text
    assert anna.published_at == "2013-03-13T20:05:31+00:00"
    # RSS: HTML kept, text extracted, #tag in the title counts, dates in UTC, author scoped to the site
    leader = posts["https://blog.example.nl/?p=1187"]
    assert leader.tags == ["innoverheid"] and leader.author == "Redactie (blog.example.nl)"
    row = store.db.execute(
        "SELECT content_html, text, published_at, links FROM posts WHERE key = ?", ["https://blog.example.nl/?p=1201"]
    ).fetchone()
    assert '<a href="https://blog.example.nl/oproep/">oproep</a>' in row[0]
    assert "ideeën in met #innoverheid" in row[1] and "&euml;" not in row[1]
    assert "\n\n" in row[1]
    assert row[2] == "2013-03-12T09:14:02+00:00"
    assert "https://blog.example.nl/oproep/" in row[3]
    # Atom: the author's profile URL is the key, the e-mail address is not kept; 'updated' is the edit time
    author = store.db.execute(
        "SELECT a.key, a.display_name, p.published_at, p.edited_at FROM posts p JOIN authors a ON a.id = p.author_id"
        " WHERE p.key = 'tag:netwerk.example.org,2013:nieuws/open-agendas'").fetchone()
    assert author == ("https://netwerk.example.org/mensen/fatima", "Fatima El Amrani",
                      "2013-03-14T09:00:00+00:00", "2013-03-14T11:00:00+00:00")
    assert store.db.execute("SELECT count(*) FROM authors WHERE key LIKE '%@%' OR display_name LIKE '%@%'").fetchone() == (0,)


def test_match_all_keeps_every_entry(server, store, harvest):
    server.route("/blog/feed/", Reply(200, feed("blog-rss2.xml"), RSS))
    results = harvest(sources_toml(server, ("blog", "/blog/feed/"), match="all"))
    assert (results["blog"].counts.new, results["blog"].counts.skipped) == (5, 0)


def test_second_run_is_conditional_gets_304_and_stores_nothing(server, store, harvest):
    etag, modified = 'W/"5f2-1363079642"', "Tue, 12 Mar 2013 09:14:02 GMT"

    def conditional(request: Request) -> Reply:
        if request.headers.get("If-None-Match") == etag:
            return Reply(304, headers={"ETag": etag})
        return Reply(200, feed("blog-rss2.xml"), {**RSS, "ETag": etag, "Last-Modified": modified})

    server.route("/blog/feed/", conditional)
    body = sources_toml(server, ("blog", "/blog/feed/"))
    first = harvest(body)["blog"]
    changed_at = store.db.execute("SELECT max(changed_at) FROM posts").fetchone()[0]
    second = harvest(body)["blog"]

    first_request, second_request = server.requests_to("/blog/feed/")
    assert "If-None-Match" not in first_request.headers
    assert second_request.headers["If-None-Match"] == etag            # exactly as received
    assert second_request.headers["If-Modified-Since"] == modified
    assert first.status == "ok" and first.counts.new == 3
    assert second.status == "not_modified"
    assert (second.counts.new, second.counts.updated, second.counts.unchanged, second.counts.requests) == (0, 0, 0, 1)
    assert store.posts.count() == 3
    assert store.db.execute("SELECT max(changed_at) FROM posts").fetchone()[0] == changed_at
    assert [s.last_run_status for s in store.runs.status()] == ["not_modified"]


def test_edited_entry_updates_in_place(server, store, harvest):
    original = feed("mastodon-tag.rss")
    edited = original.replace(b"Minder vergaderen, meer doen.", b"Minder vergaderen, meer doen, vaker bellen.")
    assert edited != original
    server.route("/tags/innoverheid.rss", Reply(200, original, {**RSS, "ETag": '"v1"'}),
                 Reply(200, edited, {**RSS, "ETag": '"v2"'}))
    body = sources_toml(server, ("tagfeed", "/tags/innoverheid.rss"))
    harvest(body)
    key = "https://mastodon.example/@ictbeleid/110012330000000002"
    (post_id, before) = store.db.execute("SELECT id, changed_at FROM posts WHERE key = ?", [key]).fetchone()
    time.sleep(0.01)
    result = harvest(body)["tagfeed"]

    assert (result.counts.new, result.counts.updated, result.counts.unchanged) == (0, 1, 2)
    assert store.posts.count() == 3
    (same_id, after, text) = store.db.execute("SELECT id, changed_at, text FROM posts WHERE key = ?", [key]).fetchone()
    assert same_id == post_id and after > before
    assert text == "Minder vergaderen, meer doen, vaker bellen. #innoverheid"
    assert store.db.execute("SELECT rowid FROM posts_fts WHERE posts_fts MATCH 'bellen'").fetchall() == [(post_id,)]
    assert store.db.execute("SELECT etag FROM sources").fetchone() == ('"v2"',)


BIG = 50 * 1024 * 1024
TRUNCATED = feed("mastodon-tag.rss")[: feed("mastodon-tag.rss").index(b"Minder vergaderen") + 5]
INVALID_UTF8 = feed("mastodon-tag.rss").replace(b"Openbare berichten", b"Openbare bericht\xe4\xff")
HTML_PAGE = b"<!DOCTYPE html><html lang='nl'><head><title>Gemeente</title></head><body><h1>Nieuws</h1></body></html>"


@pytest.mark.parametrize(
    ("reply", "status", "message"),
    [
        (Reply(200, feed("mastodon-tag.rss"), RSS, delay=1.0), "failed", "time-out"),
        (Reply(reset=True), "failed", "verbinding"),
        (Reply(500, b"Internal Server Error"), "failed", "serverfout HTTP 500"),
        (Reply(429, b"", {"Retry-After": "3600"}), "failed", "HTTP 429"),
        (Reply(200, TRUNCATED, RSS), "partial", "houdt halverwege op"),
        (Reply(200, b"<rss version='2.0'><channel>", RSS, stream_bytes=BIG), "failed", "antwoord te groot"),
        (Reply(302, b"", {"Location": "/loop"}), "failed", "te veel doorverwijzingen"),
        (Reply(200, INVALID_UTF8, RSS), "partial", "UTF-8"),
        (Reply(200, HTML_PAGE, {"Content-Type": "text/html; charset=utf-8"}), "failed", "webpagina"),
        (Reply(200, b"", RSS), "failed", "lege reactie"),
        (Reply(200, b"\x00\x9f\x92\x96 not xml at all \xff\xfe", {"Content-Type": "application/octet-stream"}),
         "failed", "geen leesbare RSS- of Atom-feed"),
        (Reply(404, b"Not Found"), "failed", "HTTP 404"),
    ],
    ids=["timeout", "reset", "500", "429-too-long", "truncated-xml", "50mb", "redirect-loop", "invalid-utf8",
         "html-page", "empty-body", "binary-garbage", "404"],
)
def test_a_bad_source_is_recorded_loses_nothing_and_others_still_succeed(server, store, harvest, reply, status, message):
    server.route("/loop", Reply(302, b"", {"Location": "/loop"}))
    server.route("/bad.rss", Reply(200, feed("mastodon-tag.rss"), RSS), reply)
    server.route("/good.xml", Reply(200, feed("news-atom.xml"), ATOM))
    body = sources_toml(server, ("bad", "/bad.rss"), ("good", "/good.xml"))
    harvest(body, "bad", timeout_seconds=0.5, retries=1)
    assert stored_keys(store) == MASTODON_KEYS

    results = harvest(body, timeout_seconds=0.5, retries=1)

    bad, good = results["bad"], results["good"]
    assert bad.status == status
    assert message in bad.error
    assert good.status == "ok" and good.counts.new == 2
    assert stored_keys(store) == MASTODON_KEYS | ATOM_KEYS     # nothing lost
    intact = store.db.execute(
        "SELECT text FROM posts WHERE key = 'https://mastodon.example/@ictbeleid/110012330000000002'").fetchone()[0]
    assert intact == "Minder vergaderen, meer doen. #innoverheid"      # nothing half-overwritten
    run = store.db.execute("SELECT status, error, finished_at FROM runs WHERE id = ?", [bad.run_id]).fetchone()
    assert run[0] == status and message in run[1] and run[2] is not None
    status_row = {s.name: s for s in store.runs.status()}["bad"]
    assert status_row.last_error == run[1]
    assert status_row.consecutive_failures == (1 if status == "failed" else 0)


def test_invalid_utf8_spoils_only_the_bad_bytes(server, store, harvest):
    doc = feed("mastodon-tag.rss").replace(b"Minder vergaderen", b"Minder verg\xe4\xffderen")
    server.route("/feed", Reply(200, doc, RSS))
    result = harvest(sources_toml(server, ("tagfeed", "/feed")))["tagfeed"]
    assert result.status == "partial" and "ongeldige UTF-8" in result.error and result.counts.new == 3
    texts = {p.key: p.text for p in store.posts.latest()}
    assert texts["https://mastodon.example/@ictbeleid/110012330000000002"].startswith("Minder verg\ufffd\ufffdderen,")
    assert "één regel schrappen" in texts["https://mastodon.example/@gemeentejan/110012345678901234"]


def test_500_then_200_is_retried_and_succeeds(server, store, harvest):
    server.route("/feed", Reply(500), Reply(503), Reply(200, feed("blog-rss2.xml"), RSS))
    result = harvest(sources_toml(server, ("blog", "/feed")), retries=2)["blog"]
    assert result.status == "ok" and result.counts.new == 3
    assert result.counts.requests == 3


def test_429_retry_after_is_waited_out(server, store, harvest):
    server.route("/feed", Reply(429, b"", {"Retry-After": "1"}), Reply(200, feed("blog-rss2.xml"), RSS))
    started = time.monotonic()
    result = harvest(sources_toml(server, ("blog", "/feed")))["blog"]
    assert result.status == "ok" and result.counts.new == 3
    assert time.monotonic() - started >= 1.0


def test_a_server_dripping_its_answer_times_out_after_max_request_seconds(server, store, harvest):
    """Every byte comes well within timeout_seconds, so only the limit on the whole request ends it;
    the 200 bytes would take 10 s, without the limit the run waits for them and succeeds."""
    doc = (b"<?xml version='1.0'?><rss version='2.0'><channel><title>t</title><item><guid>druppel-1</guid>"
           b"<description>Druppelsgewijs #innoverheid</description></item></channel></rss>").ljust(200)
    server.route("/feed", Reply(200, doc, RSS, trickle=0.05))
    result = harvest(sources_toml(server, ("traag", "/feed")), harvest="max_request_seconds = 0.5",
                     timeout_seconds=1, retries=1)["traag"]
    assert result.status == "failed" and result.counts.requests == 2
    assert result.error.startswith("time-out (antwoord niet binnen 0.5 s compleet) bij http://")
    assert {s.name: s for s in store.runs.status()}["traag"].last_error == result.error
    assert stored_keys(store) == set()


def test_a_server_that_never_sends_its_headers_times_out_after_max_request_seconds(server, store, harvest):
    """The server takes the request and stays silent: httpx would wait for the headers as long as
    timeout_seconds (10 s here), the whole request may take max_request_seconds (0.3 s)."""
    import threading

    release = threading.Event()
    arrived = []

    def silent(request: Request) -> Reply:
        arrived.append(request)
        release.wait(30)   # until the test is done (or the server would still be waiting at teardown)
        return Reply(200, feed("blog-rss2.xml"), RSS)

    server.route("/feed", silent)
    try:
        started = time.monotonic()
        result = harvest(sources_toml(server, ("stil", "/feed")), harvest="max_request_seconds = 0.3",
                         timeout_seconds=10, retries=1)["stil"]
        took = time.monotonic() - started
    finally:
        release.set()
    assert result.status == "failed" and result.counts.requests == 2 and arrived
    assert result.error.startswith("time-out (antwoord niet binnen 0.3 s compleet) bij http://")
    assert took < 10   # a limit, not a speed: one request alone would have taken timeout_seconds
    assert stored_keys(store) == set()


def test_a_body_that_does_not_unpack_fails_in_dutch_without_retrying(server, store, harvest):
    """A proxy that says gzip and sends something else: the same bytes would come again."""
    server.route("/feed", Reply(200, b"dit is geen gzip" * 10, {**RSS, "Content-Encoding": "gzip"}))
    result = harvest(sources_toml(server, ("blog", "/feed")), retries=2)["blog"]
    assert result.status == "failed" and result.counts.requests == 1
    assert result.error.startswith(f"onleesbare compressie bij {server.url('/feed')}: ")


def test_an_unusable_url_fails_in_dutch_without_retrying(server, write_config):
    """The config refuses a control character in a source's own URL (tests/test_config.py); a URL
    with one from anywhere else is refused by the fetcher, at once and in Dutch."""
    url = server.url("/fe") + "\x01ed"
    with Fetcher(load_config(write_config(retries=2)).harvest) as fetcher:
        with pytest.raises(FetchError) as raised:
            fetcher.get(url)
        assert fetcher.requests == 1
    assert str(raised.value) == f"ongeldige URL {url!r}: controleer de bron in de configuratie"
    assert server.requests == []


def test_permanent_redirect_moves_the_source(server, store, harvest):
    server.route("/old.rss", Reply(301, b"", {"Location": "/new.rss"}))
    server.route("/new.rss", Reply(200, feed("blog-rss2.xml"), RSS))
    body = sources_toml(server, ("blog", "/old.rss"))
    harvest(body)
    assert store.sources.get("blog").url == server.url("/new.rss")
    harvest(body)
    assert len(server.requests_to("/old.rss")) == 1 and len(server.requests_to("/new.rss")) == 2
    assert store.posts.count() == 3


def test_temporary_redirect_does_not_move_the_source(server, store, harvest):
    server.route("/feed", Reply(302, b"", {"Location": "/today.rss"}))
    server.route("/today.rss", Reply(200, feed("blog-rss2.xml"), RSS))
    harvest(sources_toml(server, ("blog", "/feed")))
    assert store.sources.get("blog").url == server.url("/feed")


def test_410_disables_the_source_until_the_config_changes(server, store, harvest):
    server.route("/gone.rss", Reply(410, b"Gone"))
    server.route("/other.rss", Reply(200, feed("blog-rss2.xml"), RSS))
    first = harvest(sources_toml(server, ("blog", "/gone.rss")))["blog"]
    assert first.status == "failed" and "410" in first.error
    [status] = store.runs.status()
    assert status.gone and "410" in status.last_error

    second = harvest(sources_toml(server, ("blog", "/gone.rss")))["blog"]
    assert second.status == "skipped" and "410" in second.error
    assert len(server.requests_to("/gone.rss")) == 1
    assert store.db.execute("SELECT count(*) FROM runs").fetchone() == (1,)

    moved = harvest(sources_toml(server, ("blog", "/other.rss")))["blog"]
    assert moved.status == "ok" and moved.counts.new == 3


def test_ill_formed_feed_keeps_what_could_be_read_and_is_fetched_in_full_next_time(server, store, harvest):
    # an unescaped '&' in the middle: feedparser's loose parser reads on
    broken = feed("blog-rss2.xml").replace(b"Vijftig ambtenaren", b"Vijftig ambtenaren & bestuurders", 1)
    broken = broken.replace(b"<![CDATA[Vijftig", b"Vijftig").replace(b"de gemeente.]]>", b"de gemeente.")
    server.route("/feed", Reply(200, broken, {**RSS, "ETag": '"broken"'}))
    result = harvest(sources_toml(server, ("blog", "/feed")))["blog"]
    assert result.status == "partial" and "geen geldige XML" in result.error
    assert stored_keys(store) == BLOG_KEYS
    # validators of a half-read document are not kept: the next run asks for all of it
    assert store.db.execute("SELECT etag FROM sources").fetchone() == (None,)


def test_comments_after_the_root_element_do_not_make_a_feed_cut_off(server, store, harvest):
    """A caching plugin signs the page after </rss>; an undefined entity (&nbsp;) makes the feed not
    well-formed, which is when the cut-off check runs: the last entry is whole, and is kept."""
    doc = feed("blog-rss2.xml").replace(b"Vijftig ambtenaren", b"Vijftig&nbsp;ambtenaren", 1).rstrip()
    doc = doc.replace(b"<![CDATA[Vijftig", b"Vijftig").replace(b"de gemeente.]]>", b"de gemeente.")
    signed = doc + (b"\n<!-- Dynamic page generated in 0.412 seconds. -->\n<?cache served-by='disk'?>\n"
                    b"<!-- Cached page generated by WP-Super-Cache on 2026-12-07 07:00:00 " + b"." * 200 + b" -->\n")
    cut_at_a_comment = doc[:doc.rindex(b"</item>")] + b"<!-- reactie -->"
    server.route("/signed", Reply(200, signed, RSS))
    server.route("/cut", Reply(200, cut_at_a_comment, RSS))
    results = harvest(sources_toml(server, ("signed", "/signed"), ("cut", "/cut"), match="all"))

    assert results["signed"].status == "partial" and "geen geldige XML" in results["signed"].error
    assert "halverwege" not in results["signed"].error
    assert len(stored_keys(store, "signed")) == 5
    assert "halverwege" in results["cut"].error and len(stored_keys(store, "cut")) == 4


ITEMS = "".join(f"<item><link>https://blog.example.nl/?p={n}</link><title>Idee {n}</title>"
                f"<description>Minder regels #innoverheid</description></item>\n" for n in (1, 2, 3))


@pytest.mark.parametrize(
    ("body", "status", "problem"),
    [
        (b'{"ideeen": []}\n', "failed", "geen leesbare RSS- of Atom-feed bij {url}: geen geldige XML (regel 1, kolom 1: ongeldig teken)"),
        # no XML declaration, so feedparser writes one on a line of its own: the line is still the feed's own
        (f'<rss version="2.0"><channel>\n{ITEMS}</channel></rss>'.replace("Idee 3", "Idee&nbsp;3").encode(), "partial",
         "feed is geen geldige XML (regel 4, kolom 59: onbekende entiteit (een &-code die XML niet kent, zoals &nbsp;)) in {url}; "
         "3 berichten wel gelezen"),
        (f'<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel>\n{ITEMS}</channel></rss>'
         .replace("Idee 2</title>", "Idee 2</titel>").encode(),
         "partial", "feed is geen geldige XML (regel 4, kolom 63: eindtag past niet bij de open tag) in {url}; 3 berichten wel gelezen"),
        # all on the line of a declaration feedparser replaces by its own, longer one: the column is still the feed's
        (b'<?xml version="1.0"?><rss version="2.0"><channel><item><link>https://blog.example.nl/?p=1</link>'
         b'<title>Idee&nbsp;1</title></item></channel></rss>', "partial",
         "feed is geen geldige XML (regel 1, kolom 108: onbekende entiteit (een &-code die XML niet kent, zoals &nbsp;)) in {url}; "
         "1 bericht wel gelezen"),
        # a rarer error of expat is not shown in English: where it is lets the admin find it
        (f'<rss version="2.0" xmlns:xmlns="http://example.org/"><channel>\n{ITEMS}</channel></rss>'.encode(), "partial",
         "feed is geen geldige XML (regel 1, kolom 1) in {url}; 3 berichten wel gelezen"),
    ],
    ids=["not-xml", "undefined-entity", "mismatched-tag", "one-line", "reserved-prefix"],
)
def test_xml_errors_are_told_in_dutch_with_the_line_and_column(server, store, harvest, body, status, problem):
    server.route("/feed", Reply(200, body, RSS))
    result = harvest(sources_toml(server, ("blog", "/feed"), match="all"))["blog"]
    assert result.status == status
    assert result.error == problem.format(url=server.url("/feed"))


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        # an API's answer in XML, served as text: feedparser notes that text/plain is no XML type
        (b'<?xml version="1.0"?>\n<fout><melding>Niet gevonden</melding></fout>\n', "text/plain; charset=utf-8"),
        # text/xml without a charset is US-ASCII (RFC 3023): feedparser notes that it read UTF-8 instead
        ('<?xml version="1.0" encoding="utf-8"?>\n<fout><melding>Geen toegang tot één bron</melding></fout>\n'.encode(),
         "text/xml"),
    ],
    ids=["xml-served-as-text", "charset-read-otherwise"],
)
def test_xml_that_is_no_feed_is_neither_called_ill_formed_nor_told_in_english(server, store, harvest, body, content_type):
    """What feedparser notes about a well-formed document it read is no XML error, and its words are English."""
    server.route("/feed", Reply(200, feed("blog-rss2.xml"), RSS), Reply(200, body, {"Content-Type": content_type}))
    config = sources_toml(server, ("blog", "/feed"))
    harvest(config)
    assert stored_keys(store) == BLOG_KEYS

    result = harvest(config)["blog"]

    assert result.status == "failed"
    assert result.error == f"geen RSS- of Atom-feed bij {server.url('/feed')} (Content-Type {content_type})"
    assert {s.name: s for s in store.runs.status()}["blog"].last_error == result.error
    assert stored_keys(store) == BLOG_KEYS      # nothing lost


GEO_ITEM = ('<item xmlns:georss="http://www.georss.org/georss" xmlns:gml="http://www.opengis.net/gml">'
            '<link>https://blog.example.nl/?p=4</link><georss:where><gml:Point srsName="EPSG:abc"><gml:pos>52 5</gml:pos>'
            '</gml:Point></georss:where></item>\n')
ENCODING_UNUSABLE = "de tekencodering die de feed of zijn Content-Type noemt is onbruikbaar"


@pytest.mark.parametrize(
    ("head", "items", "content_type", "reason"),
    [
        ('<?xml version="1.0" encoding="utf\x00-8"?>', ITEMS, "application/xml", ENCODING_UNUSABLE),
        ('<?xml version="1.0" encoding="undefined"?>', ITEMS, "application/xml", ENCODING_UNUSABLE),
        ('<?xml version="1.0"?>', ITEMS, "application/rss+xml; charset=undefined", ENCODING_UNUSABLE),
        ("", ITEMS.replace("Idee 2", "Idee &#99999999999;"), "application/xml",
         "feedparser loopt vast op de inhoud (OverflowError)"),
        ("", ITEMS + GEO_ITEM, "application/xml", "feedparser loopt vast op de inhoud (ValueError)"),
    ],
    ids=["nul-in-declaration", "undefined-in-declaration", "undefined-charset-header", "huge-character-reference",
         "gml-srsname-without-number"],
)
def test_a_feed_feedparser_stops_on_is_a_dutch_problem_of_the_feed(server, store, harvest, head, items, content_type,
                                                                    reason):
    """feedparser raises on some values in a feed (see `feed._feedparse`): the run records the
    feed's problem in Dutch, not an internal error of ours in English, and keeps what it had."""
    server.route("/feed", Reply(200, f'<rss version="2.0"><channel>\n{ITEMS}</channel></rss>\n'.encode(), RSS),
                 Reply(200, f'{head}\n<rss version="2.0"><channel>\n{items}</channel></rss>\n'.encode(),
                       {"Content-Type": content_type}))
    config = sources_toml(server, ("blog", "/feed"), match="all")
    harvest(config)

    result = harvest(config)["blog"]

    assert result.status == "failed"
    assert result.error == f"geen leesbare RSS- of Atom-feed bij {server.url('/feed')}: {reason}"
    assert {s.name: s for s in store.runs.status()}["blog"].last_error == result.error
    assert stored_keys(store) == {f"https://blog.example.nl/?p={n}" for n in (1, 2, 3)}


def test_a_body_naming_a_file_on_this_machine_is_not_read_from_it(server, store, harvest, tmp_path):
    """feedparser takes bytes that name a file for its file name: a served body must only be itself."""
    local = tmp_path / "local-feed.xml"
    local.write_bytes(f'<rss version="2.0"><channel>\n{ITEMS}</channel></rss>\n'.encode())
    server.route("/feed", Reply(200, str(local).encode(), RSS))
    result = harvest(sources_toml(server, ("blog", "/feed"), match="all"))["blog"]

    assert result.status == "failed"
    assert result.error.startswith(f"geen leesbare RSS- of Atom-feed bij {server.url('/feed')}: geen geldige XML")
    assert stored_keys(store) == set()


def test_an_error_feedparser_has_no_dutch_for_is_named_by_its_kind(server, store, harvest, monkeypatch):
    """feedparser 6 reports only expat's errors for a feed it read with trouble (the rest it notes are
    harmless, or are raised); should another version or XML parser report some other exception, its
    English message is not shown but its kind is, and the entries read are kept."""
    import feedparser

    real_parse = feedparser.parse

    def parse_reporting_another_error(*args, **kwargs):
        parsed = real_parse(*args, **kwargs)
        parsed.update(bozo=True, bozo_exception=ValueError("could not make sense of the document"))
        return parsed

    monkeypatch.setattr(feedparser, "parse", parse_reporting_another_error)
    server.route("/feed", Reply(200, f'<rss version="2.0"><channel>\n{ITEMS}</channel></rss>\n'.encode(), RSS))
    result = harvest(sources_toml(server, ("blog", "/feed"), match="all"))["blog"]

    assert result.status == "partial"
    assert result.error == (f"feed is geen geldige XML (onbekende fout: ValueError) in {server.url('/feed')}; "
                            "3 berichten wel gelezen")
    assert stored_keys(store) == {f"https://blog.example.nl/?p={n}" for n in (1, 2, 3)}


def test_a_cut_off_feed_counts_as_read_only_what_the_run_kept(server, store, harvest):
    """Three entries, the third cut off: the problem's count of entries read is the run's own (two)."""
    body = f'<rss version="2.0"><channel>\n{ITEMS}</channel></rss>\n'.encode()
    server.route("/feed", Reply(200, body[:body.index(b"Idee 3") + 4], RSS))
    result = harvest(sources_toml(server, ("blog", "/feed"), match="all"))["blog"]

    assert result.status == "partial"
    assert result.error == (f"feed is geen geldige XML (regel 4, kolom 59: het document houdt hier op) en houdt halverwege op in "
                            f"{server.url('/feed')}; 2 berichten wel gelezen; het laatste bericht is niet opgeslagen, "
                            "want dat kan afgebroken zijn")
    assert (result.counts.new, result.counts.skipped) == (2, 0)
    assert stored_keys(store) == {"https://blog.example.nl/?p=1", "https://blog.example.nl/?p=2"}


def test_entry_without_id_or_link_is_skipped_with_a_problem(server, store, harvest):
    doc = b"""<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>t</title>
    <item><description>Zonder adres #innoverheid</description></item>
    <item><link>https://example.org/a</link><description>Met adres #innoverheid</description></item>
    </channel></rss>"""
    server.route("/feed", Reply(200, doc, RSS))
    result = harvest(sources_toml(server, ("blog", "/feed")))["blog"]
    assert result.status == "partial" and "zonder id en zonder link" in result.error
    assert stored_keys(store) == {"https://example.org/a"}


def test_entries_that_share_an_id_within_a_feed_are_counted_not_dropped_silently(server, store, harvest):
    """A broken generator gives every entry the same guid: one of them can be stored, the run says
    how many were not. The same entry twice in one document is simply one post."""
    items = "".join(f"<item><title>Idee {n} #innoverheid</title><link>https://blog.example.nl/idee-{n}</link>"
                    f"<guid isPermaLink='false'>post</guid><description>Tekst {n}</description></item>"
                    for n in (1, 2, 3, 1))
    doc = f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>t</title>{items}</channel></rss>'
    server.route("/feed", Reply(200, doc.encode(), RSS))
    result = harvest(sources_toml(server, ("blog", "/feed")))["blog"]
    assert result.status == "partial" and result.counts.new == 1
    assert "2 berichten overgeslagen" in result.error and "hun id staat al bij een ander bericht" in result.error
    assert [p.url for p in store.posts.latest()] == ["https://blog.example.nl/idee-1"]
    assert store.runs.status()[0].last_error == result.error


def test_times_without_a_zone_or_with_a_central_european_name_are_local_times(server, store, harvest):
    """Dutch feeds write local time, often without a zone or as CET/CEST, which feedparser reads as
    UTC (or, in an RSS date without a zone, not at all). A time that names no zone is the source's
    `time_zone` (Europe/Amsterdam unless configured), summer time included; a written zone counts as
    written, and a name only feedparser knows (EST) as it reads it."""
    written = {  # pubDate: UTC
        "Sun, 07 Dec 2025 10:00:00 CET": "2025-12-07T09:00:00+00:00",
        "Mon, 07 Jul 2025 10:00:00 CEST": "2025-07-07T08:00:00+00:00",
        "Sun, 07 Dec 2025 10:00:00 MET": "2025-12-07T09:00:00+00:00",
        "Sun, 07 Dec 2025 10:00:00": "2025-12-07T09:00:00+00:00",
        "07 Jul 2025 10:00": "2025-07-07T08:00:00+00:00",
        "Sun, 07 Dec 2025": "2025-12-06T23:00:00+00:00",
        "Sun, 07 Dec 2025 10:00:00 +0100": "2025-12-07T09:00:00+00:00",
        "Sun, 07 Dec 2025 10:00:00 GMT": "2025-12-07T10:00:00+00:00",
        "Sun, 07 Dec 2025 10:00:00 EST": "2025-12-07T15:00:00+00:00",
        "Sun, 07 Dec 2025 10:00:00 +01:00": "2025-12-07T09:00:00+00:00",   # not RFC 822, but feedparser reads it
        "Sun, 07 Dec 2025 10:00:00 GMT-0500": "2025-12-07T15:00:00+00:00",
        # a UTC name with an offset after it, as JavaScript's Date.toString() writes: feedparser reads
        # "+0000" and "+00:00" there as no zone, and "+1" not at all
        "Sun Dec 07 2025 10:00:00 GMT+0000 (Coordinated Universal Time)": "2025-12-07T10:00:00+00:00",
        "Mon Jul 07 2025 10:00:00 GMT+0200 (Midden-Europese zomertijd)": "2025-07-07T08:00:00+00:00",
        "Sun, 07 Dec 2025 10:00:00 UTC+00:00": "2025-12-07T10:00:00+00:00",
        "Mon, 07 Jul 2025 10:00:00 UTC+1": "2025-07-07T09:00:00+00:00",
        "Mon, 07 Jul 2025 10:00:00 GMT+1": "2025-07-07T09:00:00+00:00",
        # IANA's Etc zones count as POSIX does, the other way: Etc/GMT+1 is an hour behind UTC
        "Sun, 07 Dec 2025 10:00:00 Etc/GMT+1": "2025-12-07T11:00:00+00:00",
        "2025-12-07T10:00:00 Etc/GMT-2": "2025-12-07T08:00:00+00:00",
        # an ISO week date, which feedparser reads as the first of the month
        "2025-W28-1T10:00": "2025-07-07T08:00:00+00:00",
        "2025-W28-1T10:00+01:00": "2025-07-07T09:00:00+00:00",
    }
    items = "".join(f"<item><guid>rss-{n}</guid><description>Idee</description><pubDate>{date}</pubDate></item>"
                    for n, date in enumerate(written))
    server.route("/feed", Reply(200, f"<rss version='2.0'><channel><title>t</title>{items}</channel></rss>".encode(), RSS))
    server.route("/nieuws.atom", Reply(200, b'<feed xmlns="http://www.w3.org/2005/Atom"><title>n</title><entry>'
                                        b"<id>atom-1</id><title>Idee</title><published>2025-07-07T10:00:00</published>"
                                        b"<updated>2025-12-07T10:00:00Z</updated><content>tekst</content></entry></feed>", ATOM))
    server.route("/ny", Reply(200, b"<rss version='2.0'><channel><title>t</title><item><guid>ny-1</guid>"
                              b"<description>Idee</description><pubDate>Sun, 07 Dec 2025 10:00:00</pubDate></item></channel></rss>", RSS))
    body = sources_toml(server, ("blog", "/feed"), ("netwerk", "/nieuws.atom"), match="all") + (
        f'\n[[sources]]\nname = "ny"\ntype = "feed"\nurl = "{server.url("/ny")}"\nmatch = "all"\n'
        'time_zone = "America/New_York"\n')
    assert {r.status for r in harvest(body).values()} == {"ok"}

    site = server.base_url.removeprefix("http://")
    times = {key.removesuffix(f" ({site})"): (published, edited) for key, published, edited
             in store.db.execute("SELECT key, published_at, edited_at FROM posts")}
    assert times == {
        **{f"rss-{n}": (utc, None) for n, utc in enumerate(written.values())},
        "atom-1": ("2025-07-07T08:00:00+00:00", "2025-12-07T10:00:00+00:00"),
        "ny-1": ("2025-12-07T15:00:00+00:00", None),
    }


def test_a_date_more_than_a_day_ahead_is_not_believed(server, store, harvest):
    """A typo (2099) or a post scheduled for later would head every list for ever: such a time is left
    out and the post sorts by when it was found. A few hours ahead (a clock, a time zone) is kept."""
    from datetime import UTC, datetime, timedelta

    now = datetime.now(UTC)

    def entry(name: str, published: datetime, updated: datetime) -> str:
        return (f"<entry><id>tag:netwerk.example.org,2013:{name}</id><title>{name} #innoverheid</title>"
                f"<published>{published.isoformat(timespec='seconds')}</published>"
                f"<updated>{updated.isoformat(timespec='seconds')}</updated><content>tekst</content></entry>")

    far, soon, yesterday = datetime(2099, 12, 7, 8, tzinfo=UTC), now + timedelta(hours=12), now - timedelta(days=1)
    doc = ('<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom"><title>Netwerk</title>'
           + entry("typfout", far, far) + entry("overmorgen", now + timedelta(days=2), now + timedelta(days=2))
           + entry("vanavond", soon, soon) + entry("bijgewerkt", yesterday, far)
           + entry("gisteren", yesterday, yesterday) + "</feed>")
    server.route("/nieuws.atom", Reply(200, doc.encode(), ATOM))
    result = harvest(sources_toml(server, ("netwerk", "/nieuws.atom")))["netwerk"]

    assert result.status == "partial" and result.counts.new == 5
    assert "3 berichten" in result.error and "meer dan een dag na nu" in result.error
    times = {title.split()[0]: (published, edited) for title, published, edited in
             store.db.execute("SELECT title, published_at, edited_at FROM posts")}
    assert times["typfout"] == times["overmorgen"] == (None, None)
    assert times["vanavond"] == (soon.isoformat(timespec="seconds"), None)
    assert times["bijgewerkt"] == (yesterday.isoformat(timespec="seconds"), None)
    # the undated two by when they were found (now), between tonight's post and yesterday's
    assert [p.title.split()[0] for p in store.posts.latest()] == [
        "vanavond", "overmorgen", "typfout", "gisteren", "bijgewerkt"]


def test_links_that_are_not_web_addresses_are_not_kept(server, store, harvest):
    """A document or spreadsheet makes a post's link clickable: javascript:, file:, smb:// or an
    office macro link from a feed must not get there (the post itself is kept, by its id)."""
    items = "".join(
        f"<item><guid isPermaLink='false'>id-{n}</guid><link>{link}</link><author>x@example.org (Schrijver)</author>"
        f"<description>Idee {n} #innoverheid</description></item>"
        for n, link in enumerate(["javascript:alert(1)", "file:///C:/Windows/calc.exe", "smb://evil.example/x",
                                  "vnd.sun.star.script:Standard.Module1.Main", " https://example.org/goed "]))
    doc = f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>t</title>{items}</channel></rss>'
    server.route("/feed", Reply(200, doc.encode(), RSS))
    assert harvest(sources_toml(server, ("blog", "/feed")))["blog"].status == "ok"
    urls = dict(store.db.execute("SELECT key, url FROM posts").fetchall())
    site = server.base_url.removeprefix("http://")
    assert urls == {f"id-{n} ({site})": url for n, url in enumerate([None, None, None, None, "https://example.org/goed"])}


def test_no_e_mail_address_and_no_link_that_is_no_web_address_becomes_an_author(server, store, harvest, tmp_path):
    """A `mailto:` or `javascript:` profile link is no key (the one would keep an e-mail address, and
    `harvester forget` takes neither): the name with the site stands in. A name that is an e-mail
    address is not kept either; of RSS's `address (Name)` the name is."""
    authors = [("mailto:cas@example.nl", "Cas"), ("javascript:alert(1)", "Jan"),
               ("https://blog.example.nl/kees", "kees@example.nl"), ("mailto:anoniem@example.nl", "")]
    entries = "".join(
        f"<entry><id>tag:blog.example.nl,2013:{n}</id><link href='https://blog.example.nl/{n}'/><title>Idee {n}</title>"
        f"<updated>2013-03-14T10:00:00Z</updated><author><name>{name}</name><uri>{uri}</uri></author></entry>"
        for n, (uri, name) in enumerate(authors))
    # without a link of its own the entry appeared on its feed's site (not on its id, `tag:`)
    entries += ("<entry><id>tag:blog.example.nl,2013:9</id><title>Idee 9</title><updated>2013-03-14T10:00:00Z</updated>"
                "<author><name>Els</name><uri>mailto:els@example.nl</uri></author></entry>")
    server.route("/atom", Reply(200, f"<feed xmlns='http://www.w3.org/2005/Atom'><title>t</title>{entries}</feed>".encode(),
                                ATOM))
    items = "".join(f"<item><guid>https://blog.example.nl/rss/{n}</guid><author>{author}</author></item>"
                    for n, author in enumerate(["piet@example.nl (Piet)", "lies@example.nl"]))
    server.route("/rss", Reply(200, f"<rss version='2.0'><channel><title>t</title>{items}</channel></rss>".encode(), RSS))
    results = harvest(sources_toml(server, ("atom", "/atom"), ("rss", "/rss"), match="all"))

    assert [r.counts.new for r in results.values()] == [5, 2]
    stored = set(store.db.execute("SELECT key, display_name, profile_url FROM authors"))
    assert stored == {("Cas (blog.example.nl)", "Cas", None), ("Jan (blog.example.nl)", "Jan", None),
                      ("https://blog.example.nl/kees", None, "https://blog.example.nl/kees"),
                      ("Els (127.0.0.1)", "Els", None), ("Piet (blog.example.nl)", "Piet", None)}
    assert all(parse_author(key).keys == {key.lower()} for key, _, _ in stored)
    store.db.conn.commit()
    raw = b"".join(path.read_bytes() for path in tmp_path.glob("harvester.db*"))
    assert b"example.nl" in raw and b"@example.nl" not in raw and b"javascript:" not in raw


def test_links_in_a_text_are_kept_by_the_same_rule_as_a_posts_link(server, store, harvest):
    """An address with a space or a control character in it is no web address, whatever it starts
    with; a scheme in capitals or white space around the address does not make one less of one."""
    hrefs = ["https://example.org/een plan", "https://example.org/tab\tstop", "HTTPS://Example.org/Hoofd",
             " https://example.org/spatie ", "httpfoo:bar", "javascript:alert(1)"]
    links = "".join(f'<a href="{href}">link</a> ' for href in hrefs)
    doc = ("<rss version='2.0'><channel><title>t</title><item><guid>links-1</guid><description>"
           f"{html.escape(f'<p>Idee #innoverheid {links}</p>')}</description></item></channel></rss>")
    server.route("/feed", Reply(200, doc.encode(), RSS))
    assert harvest(sources_toml(server, ("blog", "/feed")))["blog"].status == "ok"
    (stored,) = store.db.execute("SELECT links FROM posts").fetchone()
    assert json.loads(stored) == ["HTTPS://Example.org/Hoofd", "https://example.org/spatie"]


def numbered_rss(site: str, *entries: tuple[str, str]) -> bytes:
    """An RSS feed whose generator numbers its entries: `<guid isPermaLink="false">1</guid>`."""
    items = "".join(
        f'<item><title>{title} #innoverheid</title><link>https://{site}/{guid}</link>'
        f'<guid isPermaLink="false">{guid}</guid><description>{title} van {site}</description></item>'
        for guid, title in entries)
    return (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>{site}</title>'
            f'<link>https://{site}/</link>{items}</channel></rss>').encode()


@pytest.fixture
def second_server():
    """Another site: a server on another port of 127.0.0.1."""
    s = LocalServer().start()
    yield s
    s.stop()


def test_numbered_entries_of_two_sites_are_two_posts(server, second_server, store, harvest):
    server.route("/a.xml", Reply(200, numbered_rss("gemeente-a.nl", ("1", "Idee A")), RSS))
    second_server.route("/b.xml", Reply(200, numbered_rss("provincie-b.nl", ("1", "Idee B")), RSS))
    body = sources_toml(server, ("a", "/a.xml")) + sources_toml(second_server, ("b", "/b.xml"))
    first = harvest(body)
    second = harvest(body)

    assert [(r.counts.new, r.counts.updated) for r in first.values()] == [(1, 0), (1, 0)]
    assert [(r.counts.new, r.counts.updated, r.counts.unchanged) for r in second.values()] == [(0, 0, 1), (0, 0, 1)]
    site_a, site_b = (s.base_url.removeprefix("http://") for s in (server, second_server))
    assert stored_keys(store, "a") == {f"1 ({site_a})"} and stored_keys(store, "b") == {f"1 ({site_b})"}
    assert {p.title: p.sources for p in store.posts.latest()} == {"Idee A #innoverheid": ["a"],
                                                                  "Idee B #innoverheid": ["b"]}
    # ids that are unique anywhere keep their form (the blog's guids are its ?p= addresses)
    server.route("/blog.xml", Reply(200, feed("blog-rss2.xml"), RSS))
    harvest(sources_toml(server, ("blog", "/blog.xml")))
    assert stored_keys(store, "blog") == BLOG_KEYS


def test_a_post_stored_under_its_bare_id_keeps_its_row(server, second_server, store, harvest):
    """Databases from before keys named the site hold feed posts under the bare id: the next harvest
    gives such a row its new key (its id, and so its review, stays) instead of storing the post again.
    A row that two sources wrote under one bare id holds two posts at once: it stays as it is."""
    from harvester.models import Post

    feed_a, feed_b = server.url("/a.xml"), second_server.url("/b.xml")
    old = {name: store.sources.sync(name, "feed", url).id for name, url in (("a", feed_a), ("b", feed_b))}
    store.posts.upsert(Post(key="7", kind="feed", content_html="oud", text="oud"), old["a"])
    shared = Post(key="1", kind="feed", content_html="door elkaar", text="door elkaar")
    store.posts.upsert(shared, old["a"])
    store.posts.upsert(shared, old["b"])
    ids = dict(store.db.execute("SELECT key, id FROM posts").fetchall())
    server.route("/a.xml", Reply(200, numbered_rss("gemeente-a.nl", ("7", "Zeven"), ("1", "Idee A")), RSS))
    second_server.route("/b.xml", Reply(200, numbered_rss("provincie-b.nl", ("1", "Idee B")), RSS))

    results = harvest(sources_toml(server, ("a", "/a.xml")) + sources_toml(second_server, ("b", "/b.xml")))

    assert [(r.counts.new, r.counts.updated) for r in results.values()] == [(1, 1), (1, 0)]
    site_a, site_b = (s.base_url.removeprefix("http://") for s in (server, second_server))
    keys = dict(store.db.execute("SELECT key, id FROM posts").fetchall())
    assert keys.keys() == {f"7 ({site_a})", "1", f"1 ({site_a})", f"1 ({site_b})"}
    assert keys[f"7 ({site_a})"] == ids["7"] and keys["1"] == ids["1"]
    assert store.db.execute("SELECT text FROM posts WHERE key = '1'").fetchone() == ("door elkaar",)


def test_a_bare_id_row_that_only_feeds_of_its_site_saw_is_taken_over(server, store, harvest):
    """A site's feed and its tag feed both saw entry 42, and a source since renamed (a new source
    row) saw entry 7: one site numbers its entries alike in every feed, so the rows take the new
    keys and keep their ids instead of being stored a second time."""
    from harvester.models import Post

    old = {name: store.sources.sync(name, "feed", server.url(f"/{name}.xml")).id for name in ("alles", "tag", "oud")}
    both = Post(key="42", kind="feed", content_html="oud", text="oud")
    store.posts.upsert(both, old["alles"])
    store.posts.upsert(both, old["tag"])
    store.posts.upsert(Post(key="7", kind="feed", content_html="oud", text="oud"), old["oud"])
    ids = dict(store.db.execute("SELECT key, id FROM posts").fetchall())
    for path in ("/alles.xml", "/tag.xml"):
        server.route(path, Reply(200, numbered_rss("gemeente-a.nl", ("42", "Idee"), ("7", "Zeven")), RSS))

    results = harvest(sources_toml(server, ("alles", "/alles.xml"), ("tag", "/tag.xml")))

    assert [(r.counts.new, r.counts.updated) for r in results.values()] == [(0, 2), (0, 0)]
    site = server.base_url.removeprefix("http://")
    assert dict(store.db.execute("SELECT key, id FROM posts").fetchall()) == {
        f"42 ({site})": ids["42"], f"7 ({site})": ids["7"]}


def test_www_scheme_and_default_port_do_not_change_a_site(store):
    """An administrator who drops `www.`, switches to https or writes the port out (for instance
    after a permanent redirect told them to) points the source at the same site: its numbered
    entries keep their keys, and a tag feed written otherwise names them alike."""
    import httpx

    from harvester.collectors.feed import parse
    from harvester.collectors.http import Response

    body = numbered_rss("gemeente-a.nl", ("42", "Idee"))
    urls = [("alles", "http://www.gemeente-a.nl/feed"), ("alles", "https://gemeente-a.nl/feed"),
            ("alles", "https://gemeente-a.nl:443/feed"), ("tag", "http://gemeente-a.nl:80/tag/innoverheid/feed")]
    outcomes = []
    for name, url in urls:
        row = store.sources.sync(name, "feed", url)
        batch = parse(Response(200, httpx.Headers(RSS), body, url, None), ["innoverheid"],
                      site=site_of(row.configured_url))
        outcomes += [store.posts.upsert(post, row.id) for post in batch.posts]

    assert outcomes == ["new", "unchanged", "unchanged", "unchanged"]
    assert stored_keys(store) == {"42 (gemeente-a.nl)"}


def test_a_source_pointed_where_its_redirect_led_keeps_its_posts(server, store, harvest):
    """The feed moved to another host and said so with a permanent redirect; the administrator
    then writes the new address in the config. The keys of the source's numbered entries follow
    the new site in the same transaction as the source, so the next run stores nothing again."""
    moved_url = server.url("/feed.xml").replace("127.0.0.1", "localhost")
    server.route("/old.xml", Reply(301, b"", {"Location": moved_url}))
    server.route("/feed.xml", Reply(200, numbered_rss("gemeente-a.nl", ("42", "Idee"), ("7", "Zeven")), RSS))
    harvest(sources_toml(server, ("gemeente", "/old.xml")))
    ids = dict(store.db.execute("SELECT key, id FROM posts").fetchall())
    assert store.sources.get("gemeente").url == moved_url

    result = harvest(sources_toml(server, ("gemeente", "/feed.xml")).replace("127.0.0.1", "localhost"))["gemeente"]

    assert (result.status, result.counts.new, result.counts.unchanged) == ("ok", 0, 2)
    old_site, new_site = site_of(server.url("/old.xml")), site_of(moved_url)
    assert dict(store.db.execute("SELECT key, id FROM posts").fetchall()) == {
        f"42 ({new_site})": ids[f"42 ({old_site})"], f"7 ({new_site})": ids[f"7 ({old_site})"]}


def test_a_source_name_given_to_another_site_leaves_the_old_posts_alone(server, store, harvest):
    """Without a redirect to it, a new host may be another site that numbers its entries too:
    its entry 7 is a post of its own, and the old site's entry 7 keeps its row and decisions."""
    server.route("/feed.xml", Reply(200, numbered_rss("gemeente-a.nl", ("7", "Zeven van A")), RSS))
    harvest(sources_toml(server, ("gemeente", "/feed.xml")))
    (old_key, old_id), = store.db.execute("SELECT key, id FROM posts").fetchall()
    server.route("/feed.xml", Reply(200, numbered_rss("gemeente-b.nl", ("7", "Iets anders van B")), RSS))

    result = harvest(sources_toml(server, ("gemeente", "/feed.xml")).replace("127.0.0.1", "localhost"))["gemeente"]

    assert result.counts.new == 1
    rows = dict(store.db.execute("SELECT key, text FROM posts").fetchall())
    assert rows[old_key].startswith("Zeven van A") and len(rows) == 2
    assert store.db.execute("SELECT id FROM posts WHERE key = ?", [old_key]).fetchone()[0] == old_id


def test_a_tombstone_of_a_bare_id_still_holds(server, store, harvest):
    from harvester.privacy.hashing import fingerprint

    store.db.execute("INSERT INTO suppressions (hash, kind, reason, created_at) VALUES (?, 'post', 'forget', '2024-01-01')",
                     [fingerprint("vergeten")])
    doc = b"""<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>t</title>
    <item><guid isPermaLink="false">vergeten</guid><description>Weg ermee #innoverheid</description></item>
    <item><guid isPermaLink="false">blijft</guid><description>Blijft #innoverheid</description></item>
    </channel></rss>"""
    server.route("/feed", Reply(200, doc, RSS))
    result = harvest(sources_toml(server, ("blog", "/feed")))["blog"]
    assert (result.counts.new, result.counts.skipped) == (1, 1)
    assert stored_keys(store) == {f"blijft ({server.base_url.removeprefix('http://')})"}


def test_user_agent_names_project_and_contact(server, store, harvest):
    server.route("/feed", Reply(200, feed("blog-rss2.xml"), RSS))
    harvest(sources_toml(server, ("blog", "/feed")))
    agent = server.requests_to("/feed")[0].headers["User-Agent"]
    assert agent.startswith("innoverheid-harvester/") and "https://example.org/contact" in agent


def test_a_contact_beyond_ascii_is_sent_as_a_header_can_carry_it(server, store, write_config):
    """A header holds ASCII only: a municipality's address with a letter beyond it must not stop
    every request (nor be blamed on the proxy or certificates)."""
    server.route("/feed", Reply(200, feed("blog-rss2.xml"), RSS))
    path = write_config(sources_toml(server, ("blog", "/feed")))
    path.write_text(path.read_text(encoding="utf-8").replace(
        "https://example.org/contact", "https://gemeente-súdwest.nl/cöntact"), encoding="utf-8")
    config = load_config(path)
    assert config.harvest.user_agent_contact == "https://xn--gemeente-sdwest-cvb.nl/c%C3%B6ntact"
    (result,) = run_sources(store, config, config.sources)
    assert result.status == "ok"
    agent = server.requests_to("/feed")[0].headers["User-Agent"]
    assert agent.endswith("(+https://xn--gemeente-sdwest-cvb.nl/c%C3%B6ntact)")


def test_a_crashing_collector_is_recorded_and_the_next_source_runs(server, store, write_config, monkeypatch):
    from harvester.jobs import harvest as harvest_module

    def broken(source, state, fetcher, config):
        raise RuntimeError("kapot")
        yield

    server.route("/feed", Reply(200, feed("blog-rss2.xml"), RSS))
    config = load_config(write_config(sources_toml(server, ("a", "/feed"))))
    monkeypatch.setitem(harvest_module.COLLECTORS, "feed", broken)
    with Fetcher(config.harvest) as fetcher:
        result = run_source(store, config, config.sources[0], fetcher)
    assert result.status == "failed" and "RuntimeError: kapot" in result.error
    assert store.runs.status()[0].last_error == result.error


def test_log_line_is_one_structured_line():
    from harvester.models import RunCounts, RunResult

    line = log_line(RunResult("blog", "failed", RunCounts(new=3, requests=2), 'fout "x"\nregel 2', 0.214))
    assert line == ('source=blog status=failed new=3 updated=0 unchanged=0 skipped=0 requests=2 duration=0.21s'
                    ' error="fout \\"x\\" regel 2"')


def test_suppressed_post_is_not_harvested_again(server, store, harvest):
    from harvester.privacy.hashing import fingerprint

    store.db.execute(
        "INSERT INTO suppressions (hash, kind, reason, created_at) VALUES (?, 'post', 'forget', '2024-01-01')",
        [fingerprint("https://blog.example.nl/?p=1201")],
    )
    server.route("/feed", Reply(200, feed("blog-rss2.xml"), RSS))
    result = harvest(sources_toml(server, ("blog", "/feed")))["blog"]
    assert (result.counts.new, result.counts.skipped) == (2, 3)
    assert "https://blog.example.nl/?p=1201" not in stored_keys(store)


def test_feedparser_corpus_of_odd_feeds_never_crashes_the_parser():
    """feedparser's own test corpus (BSD, ../shared/corpora/feedparser-tests): ill-formed documents and
    odd encodings give posts, a recorded problem or a FetchError, never anything else."""
    import httpx

    from harvester.collectors.feed import parse
    from harvester.collectors.http import FetchError, Response

    from .conftest import SHARED

    corpus = SHARED / "corpora" / "feedparser-tests"
    files = sorted([*corpus.glob("illformed/**/*.xml"), *corpus.glob("encoding/*.xml")])
    if not files:
        pytest.skip("../shared/corpora/feedparser-tests is not there")
    outcomes = {"posts": 0, "problems": 0, "refused": 0}
    for path in files:
        response = Response(200, httpx.Headers({"Content-Type": "text/xml"}), path.read_bytes(), "http://x/f", None)
        try:
            batch = parse(response, ["innoverheid"], match="all", site="x")
        except FetchError as e:
            assert str(e)
            outcomes["refused"] += 1
            continue
        outcomes["problems" if batch.problems else "posts"] += 1
        assert all(p.key and isinstance(p.text, str) for p in batch.posts)
    assert outcomes["posts"] and outcomes["problems"]
