"""The queue on the store side (issue 17): search on lemmas with OR, NOT and phrases, the lemma
index kept in step and built for old posts, totals under a filter, a filter's posts for a bulk
decision, and whether anything is left to undo."""

from __future__ import annotations

import sqlite3

import pytest

from harvester.store import Store
from harvester.store.reviews import QueueFilter, SearchError
from harvester.store.reviews.search import search_query
from harvester.store.schema import MIGRATIONS, V_LEMMAS

from .webdata import add_post, add_user

TEXTS = {
    1: "De gemeente wil meer ruimte voor experimenten #innoverheid",
    2: "Drie gemeenten werken samen aan open data #innoverheid",
    3: "Gemeentes en provincies delen hun data open met inwoners #innoverheid",
    4: "De provincie start een proeftuin #innoverheid",
    5: "Koop nu goedkope zonnebrillen, spam spam #innoverheid",
    6: "De gemeentelijke organisatie moet wendbaarder #innoverheid",
}


@pytest.fixture
def posts(store):
    return {n: add_post(store, n, text) for n, text in TEXTS.items()}


def found(store, query, **kw) -> set[int]:
    page = store.reviews.queue(QueueFilter(status=None, query=query, **kw), limit=50)
    return {item.id for item in page.items}


def test_a_word_finds_its_forms_through_the_lemmas(store, posts):
    assert found(store, "gemeente") == {posts[1], posts[2], posts[3]}
    assert found(store, "gemeenten") == {posts[1], posts[2], posts[3]}
    assert found(store, "gemeente*") == {posts[1], posts[2], posts[3], posts[6]}
    assert found(store, "gemeente", sort="confidence") == {posts[1], posts[2], posts[3]}


def test_or_not_and_phrases(store, posts):
    assert found(store, "gemeente OR provincie") == {posts[1], posts[2], posts[3], posts[4]}
    assert found(store, "gemeente -provincies") == {posts[1], posts[2]}
    assert found(store, '"open data"') == {posts[2]}
    assert found(store, "open data") == {posts[2], posts[3]}
    assert found(store, '-"open data" gemeente') == {posts[1], posts[3]}
    assert found(store, 'provincie OR spam -zonnebril') == {posts[3], posts[4]}


def test_queries_that_ask_for_nothing(store, posts):
    with pytest.raises(SearchError, match="minstens één woord"):
        found(store, "-spam")
    assert search_query('OR "" ** -') is None
    assert search_query('unterminated "phrase') == '"unterminated" AND "phrase"'
    # nothing an editor types is an FTS5 syntax error
    for query in ['NEAR(a b)', 'a AND', '"a" OR OR b', "col:word", "^start", "a + b", "(", "*"]:
        found(store, query)


def test_the_lemma_index_follows_the_posts_and_is_built_for_old_ones(tmp_path):
    path = tmp_path / "h.db"
    with Store(path, migrate=False) as store:
        store.migrate(MIGRATIONS[:MIGRATIONS.index(V_LEMMAS)])
        # no author, no verdict: the current code writes columns that later migrations add
        old = add_post(store, 1, "Twee gemeenten delen kennis #innoverheid", author=None, confidence=None)
    with Store(path) as store:   # the migration builds the index for the post already there
        assert found(store, "gemeente") == {old}
        store.db.execute("UPDATE posts SET text = 'Provincies delen kennis' WHERE id = ?", [old])
        assert found(store, "gemeente") == set() and found(store, "provincie") == {old}
        store.db.execute("DELETE FROM posts WHERE id = ?", [old])
        assert found(store, "provincie") == set()
    with sqlite3.connect(path) as plain:   # without the Store's function the file still reads
        assert plain.execute("SELECT count(*) FROM posts_fts_lemmas").fetchone() == (0,)


def test_totals_count_every_status_and_stop_at_the_cap(store, posts):
    editor = add_user(store, "eva", "redacteur")
    store.reviews.decide(posts[1], editor, 0, "accept")
    store.reviews.decide(posts[5], editor, 0, "reject", reason="spam")
    totals = store.reviews.totals(QueueFilter())   # the status in the filter does not narrow the totals
    assert (totals.total, totals.reviewed, totals.exact) == (6, 2, True)
    assert totals.per_status == {"nieuw": 4, "geaccepteerd": 1, "afgewezen": 1, "duplicaat": 0}
    assert store.reviews.totals(QueueFilter(query="gemeente")).total == 3
    capped = store.reviews.totals(QueueFilter(), cap=4)
    assert (capped.total, capped.exact) == (4, False)
    assert store.reviews.totals(QueueFilter(), cap=7).exact


def test_matching_gives_the_posts_under_a_filter_with_their_versions(store, posts):
    editor = add_user(store, "eva", "redacteur")
    store.reviews.decide(posts[2], editor, 0, "note", note="later")
    assert store.reviews.matching(QueueFilter(query="gemeente"), 10) == {posts[1]: 0, posts[2]: 1, posts[3]: 0}
    assert len(store.reviews.matching(QueueFilter(), 2)) == 2


def test_undoable_until_every_decision_is_undone(store, posts):
    editor = add_user(store, "eva", "redacteur")
    post = posts[4]
    assert not store.reviews.state(post).undoable
    assert store.reviews.decide(post, editor, 0, "accept").undoable
    store.reviews.decide(post, editor, 1, "note", note="x")
    assert store.reviews.decide(post, editor, 2, "undo").undoable
    assert not store.reviews.decide(post, editor, 3, "undo").undoable
    assert not store.reviews.item(post).review.undoable


def test_the_date_filter_takes_dutch_days(store):
    # 23:30 UTC on 20 November is 00:30 on the 21st in Dutch time
    late = add_post(store, 1, "Laat op de avond #innoverheid", published_at="2026-11-20T23:30:00+00:00")
    summer = add_post(store, 2, "Zomeravond #innoverheid", published_at="2026-07-01T22:30:00+00:00")
    on = lambda day: {i.id for i in store.reviews.queue(QueueFilter(status=None, date_from=day, date_to=day)).items}
    assert on("2026-11-21") == {late} and on("2026-11-20") == set()
    assert on("2026-07-02") == {summer} and on("2026-07-01") == set()


def test_without_suggestion_names_the_posts_the_model_gave_no_theme(store):
    with_theme = add_post(store, 1, scores={"cultuur": 0.9})
    without = add_post(store, 2, scores={"cultuur": 0.2})
    unclassified = add_post(store, 3, confidence=None)
    assert store.reviews.without_suggestion([with_theme, without, unclassified]) == {without, unclassified}
    assert store.reviews.without_suggestion([]) == set()
