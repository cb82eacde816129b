from __future__ import annotations

import sqlite3
import threading

import pytest

from harvester.models import Author, Classification, Post
from harvester.store import Store, StoreError, _statements
from harvester.store.classifications import PendingCounts
from harvester.store.schema import MIGRATIONS, V_SEEN_CHANGES
from harvester.timeutil import utcnow

from .learningdata import decide


def make_post(key="https://example.org/1", text="Een idee voor #innoverheid", **kw) -> Post:
    return Post(key=key, kind="feed", content_html=f"<p>{text}</p>", text=text, tags=("innoverheid",), **kw)


def test_new_file_gets_pragmas_and_schema(store):
    assert store.schema_version == len(MIGRATIONS)
    assert store.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert store.db.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert store.db.execute("PRAGMA busy_timeout").fetchone()[0] >= 5000
    assert "posts_fts" in store.db.table_names()


def test_reopening_migrates_nothing_and_keeps_data(tmp_path):
    path = tmp_path / "h.db"
    with Store(path) as s:
        source = s.sources.sync("blog", "feed", "https://example.org/feed")
        s.posts.upsert(make_post(), source.id)
    with Store(path) as s:
        assert s.migrate() == 0
        assert s.posts.count() == 1


def test_forward_migration_keeps_existing_rows(tmp_path):
    path = tmp_path / "h.db"
    with Store(path) as s:
        source = s.sources.sync("blog", "feed", "https://example.org/feed")
        s.posts.upsert(make_post(), source.id)
    extra = "ALTER TABLE posts ADD COLUMN example_extra TEXT DEFAULT 'x';"
    with Store(path, migrate=False) as s:
        assert s.migrate([*MIGRATIONS, extra]) == 1
        assert s.schema_version == len(MIGRATIONS) + 1
        assert s.db.execute("SELECT text, example_extra FROM posts").fetchall() == [("Een idee voor #innoverheid", "x")]


def test_a_migration_another_process_ran_meanwhile_is_not_run_again(tmp_path):
    """Two processes open a file of an older version: the second waits for the first's write lock,
    then finds the migration done (before, it ran it again and failed on "already exists")."""
    path = tmp_path / "h.db"
    with Store(path, migrate=False) as s:
        s.migrate(MIGRATIONS[:1])
        s.posts.upsert(make_post(), s.sources.sync("blog", "feed", "https://example.org/feed").id)
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    result: list[object] = []
    asks_for_lock = threading.Event()

    def second_process() -> None:
        with Store(path, migrate=False) as s:
            # the statement starts before it waits: past this, it has read version 1
            s.db.conn.set_trace_callback(lambda sql: asks_for_lock.set() if sql == "BEGIN IMMEDIATE" else None)
            result.append(s.migrate())
            result.append(s.db.execute("SELECT count(*) FROM export_cells").fetchone()[0])

    waiting = threading.Thread(target=second_process)
    waiting.start()
    assert asks_for_lock.wait(30), "the second process never asked for the write lock"
    assert waiting.is_alive()
    for statement in _statements(MIGRATIONS[1]):
        other.execute(statement)
    other.execute(f"PRAGMA user_version = {len(MIGRATIONS)}")
    other.execute("COMMIT")
    waiting.join(timeout=30)
    assert result == [0, 1]
    other.close()


def test_failed_migration_changes_nothing(tmp_path):
    path = tmp_path / "h.db"
    with Store(path) as s:
        with pytest.raises(sqlite3.OperationalError):
            s.migrate([*MIGRATIONS, "CREATE TABLE half (a); SELECT no_such_function();"])
        assert s.schema_version == len(MIGRATIONS)
        assert "half" not in s.db.table_names()


def test_newer_schema_is_refused(tmp_path):
    path = tmp_path / "h.db"
    with Store(path) as s:
        s.db.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 5}")
    with pytest.raises(StoreError, match="nieuwer dan dit programma"):
        Store(path)


def test_a_file_that_is_no_database_is_refused_and_left_alone(tmp_path):
    path = tmp_path / "h.db"
    path.write_bytes(b"geen database, maar een spreadsheet\n" * 100)
    with pytest.raises(StoreError, match="geen SQLite-database"):
        Store(path)
    assert path.read_bytes() == b"geen database, maar een spreadsheet\n" * 100


def test_a_database_path_that_cannot_be_opened_is_refused_in_dutch(tmp_path):
    """A folder where the database file should be ([database] path mistyped): SQLite says "unable
    to open database file", in English."""
    (tmp_path / "h.db").mkdir()
    with pytest.raises(StoreError) as refused:
        Store(tmp_path / "h.db")
    assert str(refused.value) == (f"{tmp_path / 'h.db'}: niet te gebruiken als database: het databasebestand "
                                  "is niet te openen (bestaat de map, en mag de harvester daar schrijven?)")


def test_upsert_is_idempotent_and_detects_edits(store):
    source = store.sources.sync("blog", "feed", "https://example.org/feed")
    author = Author("Anne de Vries", profile_url="https://example.org/anne")
    assert store.posts.upsert(make_post(author=author), source.id) == "new"
    assert store.posts.upsert(make_post(author=author), source.id) == "unchanged"
    assert store.posts.upsert(make_post(text="Een beter idee #innoverheid", author=author), source.id) == "updated"
    assert store.posts.count() == 1
    assert store.db.execute("SELECT count(*) FROM authors").fetchone()[0] == 1
    hits = store.db.execute("SELECT rowid FROM posts_fts WHERE posts_fts MATCH 'beter'").fetchall()
    assert len(hits) == 1
    assert store.db.execute("SELECT rowid FROM posts_fts WHERE posts_fts MATCH 'voor'").fetchall() == []


def test_post_seen_on_two_sources_is_one_row_with_two_sightings(store):
    a = store.sources.sync("a", "feed", "https://a.example/feed")
    b = store.sources.sync("b", "feed", "https://b.example/feed")
    store.posts.upsert(make_post(), a.id)
    store.posts.upsert(make_post(), b.id)
    [post] = store.posts.latest()
    assert post.sources == ["a", "b"]
    assert post.tags == ["innoverheid"]


def test_changed_config_url_resets_cache_state(store):
    s = store.sources.sync("blog", "feed", "https://example.org/feed")
    store.sources.set_cache_validators(s.id, '"abc"', "Mon, 01 Jan 2024 00:00:00 GMT")
    store.sources.set_url(s.id, "https://example.org/new-feed")
    assert store.sources.sync("blog", "feed", "https://example.org/feed").etag == '"abc"'
    moved = store.sources.sync("blog", "feed", "https://elsewhere.example/feed")
    assert (moved.url, moved.etag, moved.last_modified) == ("https://elsewhere.example/feed", None, None)


def test_a_source_moved_to_another_site_renames_only_keys_no_one_else_holds(store):
    """Moving a source where its redirect led renames `id (old site)` keys of the posts only it saw
    (without a redirect nothing is renamed: tests/test_feed_collector.py). A post another source
    saw too keeps its key (that source still names it so), and so does one whose new key another
    row already has: the entry finds that row, and the unique key is not broken."""
    moving = store.sources.sync("gemeente", "feed", "https://gemeente-a.nl/feed")
    tag = store.sources.sync("tag", "feed", "https://gemeente-a.nl/tag/feed")
    there = store.sources.sync("nieuw", "feed", "https://gemeente-ab.nl/feed")
    for key, source_ids in [("1 (gemeente-a.nl)", [moving.id]), ("2 (gemeente-a.nl)", [moving.id, tag.id]),
                            ("3 (gemeente-a.nl)", [moving.id]), ("3 (gemeente-ab.nl)", [there.id]),
                            ("https://gemeente-a.nl/4", [moving.id])]:
        for source_id in source_ids:
            store.posts.upsert(make_post(key), source_id)

    store.sources.set_url(moving.id, "https://gemeente-ab.nl/feed")   # a permanent redirect led there
    store.sources.sync("gemeente", "feed", "https://gemeente-ab.nl/feed")

    assert {r[0] for r in store.db.execute("SELECT key FROM posts")} == {
        "1 (gemeente-ab.nl)", "2 (gemeente-a.nl)", "3 (gemeente-a.nl)", "3 (gemeente-ab.nl)", "https://gemeente-a.nl/4"}


def test_verdicts_are_replaced_and_those_of_deleted_posts_skipped(store):
    source = store.sources.sync("blog", "feed", "https://example.org/feed")
    for n in (1, 2, 3):
        store.posts.upsert(make_post(key=f"https://example.org/{n}"), source.id)
    first, second, gone = [row[0] for row in store.db.execute("SELECT id FROM posts ORDER BY id")]
    store.classifications.save_many([
        (first, Classification({"cultuur": 0.9, "structuur": 0.2}, ("cultuur",), {"cultuur": ["lef"]}, "nl", True, 0.8, "m1")),
        (second, Classification({"cultuur": 0.1, "structuur": 0.7}, ("structuur",), {}, "nl", True, 0.4, "m1")),
    ], seen={first: "2026-11-30T10:00:00Z"})   # second: as it is now
    store.db.execute("DELETE FROM posts WHERE id = ?", [gone])
    # a new theme set: structuur is gone, leiderschap is new
    store.classifications.save_many([
        (first, Classification({"cultuur": 0.3, "leiderschap": 0.6}, ("leiderschap",), {}, "nl", True, 0.2, "m2")),
        (gone, Classification({"cultuur": 0.5, "leiderschap": 0.5}, (), {}, "en", False, 0.9, "m2")),
    ], seen={first: "2026-12-01T10:00:00Z", gone: "2026-12-01T10:00:00Z"})
    themes = store.db.execute("SELECT post_id, theme, score, assigned FROM post_themes ORDER BY post_id, theme").fetchall()
    assert themes == [(first, "cultuur", 0.3, 0), (first, "leiderschap", 0.6, 1),
                      (second, "cultuur", 0.1, 0), (second, "structuur", 0.7, 1)]
    verdicts = store.db.execute(
        "SELECT post_id, model_version, reasons, confidence, post_changed_at FROM classifications ORDER BY post_id").fetchall()
    changed = store.db.execute("SELECT changed_at FROM posts WHERE id = ?", [second]).fetchone()[0]
    assert verdicts == [(first, "m2", "{}", 0.2, "2026-12-01T10:00:00Z"),
                        (second, "m1", "{}", 0.4, changed)]


def test_the_upgrade_keeps_what_is_pending_and_what_is_not(tmp_path):
    """Rows stamped with a pass's clock become rows of the change they were made from: current ones
    stay current, stale ones (and a verdict a model switch set aside) stay pending."""
    path = tmp_path / "harvester.db"
    with Store(path, migrate=False) as old:
        old.migrate(MIGRATIONS[:MIGRATIONS.index(V_SEEN_CHANGES)])
        source = old.sources.sync("blog", "feed", "https://example.org/feed")
        for n in range(4):
            old.posts.upsert(make_post(key=f"https://example.org/{n}"), source.id)
        old.db.execute("UPDATE posts SET changed_at = '2026-12-01T10:00:00.000+00:00'")
        current, stale, same_moment, set_aside = [r[0] for r in old.db.execute("SELECT id FROM posts ORDER BY id")]
        stamps = {current: "2026-12-01T10:00:05.000+00:00", stale: "2026-12-01T09:00:00.000+00:00",
                  same_moment: "2026-12-01T10:00:00.000+00:00", set_aside: ""}
        for post_id, at in stamps.items():
            old.db.execute("INSERT INTO classifications (post_id, model_version, is_dutch, confidence, classified_at)"
                           " VALUES (?, 'm1', 1, 0.5, ?)", [post_id, at])
            if at:
                old.db.execute("INSERT INTO related_terms (post_id, terms, indexed_at) VALUES (?, '[]', ?)", [post_id, at])
                old.db.execute("INSERT INTO matched_posts (post_id, matched_at) VALUES (?, ?)", [post_id, at])
        old.db.conn.commit()
    with Store(path) as store:
        assert [p.post_id for p in store.classifications.pending()] == [stale, set_aside]
        assert store.classifications.count_pending_by_verdict("m1") == PendingCounts(never=0, switched=1, changed=1)
        assert [p.post_id for p in store.related.pending(limit=10)] == [stale, set_aside]
        # matching read a post changed in the same millisecond again
        assert [p.id for p in store.initiatives.pending(limit=10)] == [stale, same_moment, set_aside]


def test_an_sqlite_too_old_for_the_schema_is_refused_in_dutch(tmp_path, monkeypatch):
    import sqlite3

    monkeypatch.setattr(sqlite3, "sqlite_version_info", (3, 31, 1))
    monkeypatch.setattr(sqlite3, "sqlite_version", "3.31.1")
    with pytest.raises(StoreError, match="SQLite 3.31.1; de harvester heeft minstens 3.33.0 nodig"):
        Store(tmp_path / "h.db")
    assert not (tmp_path / "h.db").exists()


def _deleted_at_the_source(store, post_id: int) -> None:
    from harvester.privacy.forget import deleted_at_source

    key = store.db.execute("SELECT key FROM posts WHERE id = ?", [post_id]).fetchone()[0]
    deleted_at_source(store, post_id, key, ["blog"])


def _add(store, n: int) -> int:
    source = store.sources.sync("blog", "feed", "https://example.org/feed")
    store.posts.upsert(make_post(key=f"https://example.org/{n}", text=f"Idee {n} #innoverheid"), source.id)
    return store.db.execute("SELECT id FROM posts WHERE key = ?", [f"https://example.org/{n}"]).fetchone()[0]


def test_a_deleted_posts_id_is_never_given_to_another_post(tmp_path):
    """The newest post deleted (here at its source; forget, opt-out and purge alike), the next post
    harvested once got its id, and an editor's open page of the old one then decided on the new one."""
    path = tmp_path / "h.db"
    with Store(path) as s:
        _add(s, 1)
        newest = _add(s, 2)
        _deleted_at_the_source(s, newest)
        s.privacy.compact()              # VACUUM keeps the mark
    with Store(path) as s:
        assert _add(s, 3) == newest + 1
        user = s.users.add("redactie", "redacteur", "wachtwoord-lang-genoeg")
        with pytest.raises(KeyError):
            s.reviews.decide(newest, user, 0, "reject", reason="spam")   # the page of the deleted post
        assert s.db.execute("SELECT count(*) FROM reviews").fetchone() == (0,)


def test_an_old_file_keeps_its_ids_and_gives_none_twice_after_the_upgrade(tmp_path):
    """A file from before V_POST_IDS: the ids it still names (posts, the idea-group history, the
    duplicate decisions in the audit trail) are not given again, not even those of posts deleted
    before the upgrade."""
    from harvester.store.schema import V_POST_IDS

    path = tmp_path / "h.db"
    with Store(path, migrate=False) as s:
        s.migrate(MIGRATIONS[:MIGRATIONS.index(V_POST_IDS)])
        first, second, third, original = (_add(s, n) for n in (1, 2, 3, 4))
        user = s.users.add("redactie", "redacteur", "wachtwoord-lang-genoeg")
        s.groups.group([second, third], user)
        s.reviews.decide(first, user, 0, "duplicate", duplicate_of=original)
        _deleted_at_the_source(s, original)  # the audit trail still names it as the original of `first`
        _deleted_at_the_source(s, third)     # the group is dissolved: its history still names `third`
    with Store(path) as s:
        assert s.schema_version == len(MIGRATIONS)
        assert s.db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert s.db.execute("PRAGMA foreign_key_check").fetchall() == []
        sql = s.db.execute("SELECT sql FROM sqlite_schema WHERE name = 'posts'").fetchone()[0]
        assert sql.count("AUTOINCREMENT") == 1
        # what was there is there, under the same ids, and found by search as before
        assert [r[0] for r in s.db.execute("SELECT id FROM posts ORDER BY id")] == [first, second]
        assert [r[0] for r in s.db.execute("SELECT rowid FROM posts_fts WHERE posts_fts MATCH 'idee'"
                                           " ORDER BY rowid")] == [first, second]
        newer = _add(s, 5)
        assert newer == original + 1
        _deleted_at_the_source(s, newer)
        assert _add(s, 6) == newer + 1


def test_only_changes_to_what_a_training_reads_count_as_new_decisions(store):
    """A note, another reject reason or a change undone leave the training set as it was and count
    for nothing; a withdrawn decision (reopened, marked duplicate) changes it and counts."""
    ids = decide(store, [("Samen in Utrecht", ["samenwerking"])] * 4 + [("Regen in Zwolle", [])] * 2)
    since = utcnow()
    while utcnow() == since:   # the events below are later than `since`, as after a real training
        pass
    eva = store.users.get("eva")

    def act(post_id, action, **kw):
        store.reviews.decide(post_id, eva, store.reviews.state(post_id).version, action, **kw)

    act(ids[0], "note", note="besproken in het teamoverleg")
    act(ids[1], "reopen")
    act(ids[2], "set_themes", themes=["open_overheid"])
    act(ids[3], "set_themes", themes=["open_overheid"])
    act(ids[3], "undo")
    act(ids[4], "reject", reason="spam")
    act(ids[5], "duplicate", duplicate_of=ids[0])
    decide(store, [("Open data in Delft", ["open_overheid"])], first=100)
    assert store.classifications.count_decisions(since=since) == 4   # reopened, new themes, duplicate, new
    assert store.classifications.count_decisions() == 5
