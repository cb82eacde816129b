"""The export's cells kept by triggers (export_cells, effective_themes) stay what their views say,
whichever writer changes a post, its author, sightings, verdicts or reviews."""

from __future__ import annotations

import io
from datetime import datetime, timedelta, timezone

import pytest

from harvester.export import ExportOptions, local_iso, write_export
from harvester.forget import forget, parse_author
from harvester.models import Author, Post
from harvester.store import Store
from harvester.store.schema import LOCAL_TIME, MIGRATIONS

from .test_export import _classify, _review, expected_rows, export, fill, read_csv

SECRET = b"een-geheime-sleutel-van-de-test-0123456789"


def assert_cells_match_views(store) -> None:
    for table in ("export_cells", "effective_themes"):
        stale = store.db.execute(f"SELECT * FROM {table} EXCEPT SELECT * FROM {table}_view").fetchall()
        missing = store.db.execute(f"SELECT * FROM {table}_view EXCEPT SELECT * FROM {table}").fetchall()
        assert (stale, missing) == ([], []), table


def test_every_writer_keeps_the_cells_in_step(store):
    ids = fill(store)
    assert_cells_match_views(store)
    assert store.db.execute("SELECT duplicates FROM export_cells WHERE post_id = ?", [ids["p1"]]).fetchone() == (2,)
    nl = store.sources.get("mastodon-nl")
    kl = store.sources.get("kennisland")

    # an edited post, a renamed author and a sighting on another source
    store.posts.upsert(Post(key="https://mastodon.nl/users/x/statuses/1", kind="mastodon", content_html="<p>x</p>",
                            text='Nieuw; "anders"', url="https://mastodon.nl/@anne/1",
                            published_at="2013-05-14T23:30:00+00:00",
                            author=Author("anne@mastodon.nl", "Anne; de \"Vries\"")), nl.id)
    store.posts.upsert(Post(key="https://mastodon.nl/users/x/statuses/2", kind="mastodon", content_html="",
                            text="=HYPERLINK()", author=Author("carol@mastodon.nl", "Carol")), kl.id)
    assert_cells_match_views(store)

    # the model changes its mind: a theme dropped, one added, scores moved (also of reviewed posts)
    _classify(store, ids["p1"], {"cultuur": 0.4, "structuur": 0.9}, ("structuur",))
    _classify(store, ids["p2"], {"open_overheid": 0.5, "leiderschap": 0.7}, ("leiderschap",))
    _classify(store, ids["p7"], {"medewerkers": 0.6}, ("medewerkers",))
    assert_cells_match_views(store)

    # editors: accept the suggestion, reopen, undo, un-duplicate, reject
    _review(store, ids["p1"], "accept")
    _review(store, ids["p3"], "set_themes", themes=["cultuur", "structuur", "cultuur"])
    _review(store, ids["p4"], "reopen")
    _review(store, ids["p2"], "reopen")
    _review(store, ids["p7"], "reject", reason="off_topic")
    assert_cells_match_views(store)
    assert store.db.execute("SELECT duplicates FROM export_cells WHERE post_id = ?", [ids["p1"]]).fetchone() == (1,)
    assert [r[0] for r in store.db.execute(
        "SELECT theme FROM effective_themes WHERE post_id = ? ORDER BY position", [ids["p3"]])] == ["cultuur", "structuur"]
    _review(store, ids["p7"], "undo")
    assert_cells_match_views(store)

    # an author row removed under its posts (ON DELETE SET NULL), and an original deleted alone
    # (its duplicate's duplicate_of becomes NULL; the reviewed post's review cascades)
    store.db.execute("DELETE FROM authors WHERE key = 'carol@mastodon.nl'")
    assert_cells_match_views(store)
    _review(store, ids["p5"], "duplicate", duplicate_of=ids["p1"])
    with store.atomic():
        store.db.execute("DELETE FROM posts WHERE id = ?", [ids["p1"]])
    assert_cells_match_views(store)

    # retention, forgetting, purging, and deleting everything
    later = (datetime.now(timezone.utc) + timedelta(days=1)).isoformat()
    assert store.privacy.pseudonymize(later, SECRET).posts
    assert_cells_match_views(store)
    assert forget(store, SECRET, parse_author("dave@mastodon.nl")).counts.posts == 1
    assert_cells_match_views(store)
    store.privacy.purge(later)
    assert_cells_match_views(store)
    with store.atomic():
        store.db.execute("DELETE FROM posts")
    assert store.db.execute("SELECT count(*) FROM export_cells").fetchone() == (0,)
    assert store.db.execute("SELECT count(*) FROM effective_themes").fetchone() == (0,)


def test_a_database_of_version_1_gets_its_cells_when_it_is_migrated(tmp_path):
    with Store(tmp_path / "old.db") as store:
        ids = fill(store)
        # back to version 1: what migrations 2 and 3 added goes (they hold nothing version 1 had)
        added = store.db.execute("SELECT type, name FROM sqlite_master WHERE sql IS NOT NULL AND type <> 'index'"
                                 " AND (name LIKE 'export_cells%' OR name LIKE 'effective_themes%'"
                                 " OR name LIKE '%_export_%')").fetchall()
        assert len(added) == 4 + 8   # two tables, their views, eight triggers
        for kind, name in added:
            store.db.execute(f"DROP {kind} {name}")
        store.db.execute("DROP INDEX posts_mastodon_url")   # migration 3
        store.db.execute("DROP TABLE models")   # V_MODELS
        store.db.execute("ALTER TABLE review_events DROP COLUMN suggested")
        store.db.execute("PRAGMA user_version = 1")
    with Store(tmp_path / "old.db") as store:
        assert store.schema_version == len(MIGRATIONS)
        assert_cells_match_views(store)
        rows = read_csv(export(store), "excel-nl")[1:]
        assert rows == sorted(expected_rows(ids).values(), key=lambda row: int(row[0]))


@pytest.mark.parametrize("value", ['Jansen, Piet', 'Piet; Jansen', '"PJ"', 'Piet\nJansen', '=Piet', '@piet', 'Piet'])
@pytest.mark.parametrize("dialect", ["excel-nl", "rfc4180"])
def test_authors_and_links_round_trip_whatever_they_hold(store, value, dialect):
    source = store.sources.sync("blog", "feed", "https://example.org/feed")
    store.posts.upsert(Post(key="k", kind="feed", content_html="", text="idee", url=f"https://example.org/{value}",
                            author=Author(f"{value}@example.org", value)), source.id)
    defused = "'" if value[0] in "=@" else ""
    (row,) = read_csv(export(store, dialect=dialect), dialect)[1:]
    assert row[3] == f"{defused}{value} ({value}@example.org)"
    assert row[5] == f"https://example.org/{value}"


def test_dutch_time_in_sql_is_that_of_zoneinfo_from_1996_to_2040(store):
    """The view converts the stored form in SQL (the EU summer time rule); Python checks every
    hour of the last week of March and October, and every seventh hour in between."""
    converted = store.db.execute(
        f"""WITH RECURSIVE h(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM h WHERE n < 24 * 366 * 45)
        SELECT published_at, {LOCAL_TIME} FROM
            (SELECT strftime('%Y-%m-%dT%H:%M:%S+00:00', '1996-01-01', '+' || n || ' hours',
                             '+' || (n % 60) || ' minutes', '+' || (n % 59) || ' seconds') AS published_at, n FROM h) p
        WHERE n % 7 = 0 OR (substr(published_at, 6, 2) IN ('03', '10') AND substr(published_at, 9, 2) >= '24')"""
    ).fetchall()
    assert len(converted) > 70_000
    wrong = [(stamp, sql) for stamp, sql in converted if sql != local_iso(stamp)]
    assert not wrong, wrong[:5]


@pytest.mark.parametrize("stamp", ["1930-05-14T12:00:00+00:00", "2013-05-14T22:30:00Z", "2013-05-14T22:30:00.250+00:00",
                                   "2013-03-31 12:00:00+00:00", "2013-05-14T22:30:00+00:00", None])
def test_times_sql_leaves_alone_are_converted_in_python(store, stamp):
    source = store.sources.sync("blog", "feed", "https://example.org/feed")
    store.posts.upsert(Post(key="k", kind="feed", content_html="", text="idee", published_at=stamp), source.id)
    (row,) = read_csv(export(store), "excel-nl")[1:]
    assert row[6] == (local_iso(stamp) or "")


@pytest.mark.parametrize("dialect", ["excel-nl", "rfc4180"])
def test_theme_and_source_names_that_need_quotes_get_them(store, dialect):
    """Names come from the configuration: an export quotes them only if one of them needs it."""
    blog = store.sources.sync('blog; "nieuws"', "feed", "https://example.org/feed")
    plain = store.sources.sync("kennisland", "feed", "https://www.kl.nl/feed/")
    for source in (plain, blog):
        store.posts.upsert(Post(key="k", kind="feed", content_html="", text="idee"), source.id)
    post_id = store.db.execute("SELECT id FROM posts").fetchone()[0]
    _classify(store, post_id, {"cultuur": 0.9, "structuur": 0.8}, ("cultuur", "structuur"))
    out = io.BytesIO()
    write_export(store, ExportOptions(dialect=dialect), out, labels={"cultuur": "=Cultuur; en zo", "structuur": "S"})
    (row,) = read_csv(out.getvalue(), dialect)[1:]
    assert row[1] == "'=Cultuur; en zo, S"
    assert row[4] == 'blog; "nieuws", kennisland'   # in source order
