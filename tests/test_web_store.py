"""The review store: decisions with their audit trail, stale versions, undo, the queue and its filters."""

from __future__ import annotations

import json

import pytest

from harvester.store.reviews import NothingToUndo, QueueFilter, StaleReview

from .webdata import add_post, add_user


@pytest.fixture
def editor(store):
    return add_user(store, "eva", "redacteur")


def events(store, post_id):
    return store.db.execute(
        "SELECT actor, action, before, after, undoes FROM review_events WHERE post_id = ? ORDER BY id", [post_id]
    ).fetchall()


def test_accept_takes_the_suggestion_and_writes_state_and_event_together(store, editor):
    post = add_post(store, 1, scores={"cultuur": 0.9, "structuur": 0.6, "leiderschap": 0.2})
    state = store.reviews.decide(post, editor, 0, "accept")
    assert (state.status, state.themes, state.version) == ("geaccepteerd", ("cultuur", "structuur"), 1)
    row = store.db.execute("SELECT status, themes, version, updated_by FROM reviews WHERE post_id = ?", [post]).fetchone()
    assert row == ("geaccepteerd", '["cultuur", "structuur"]', 1, editor.id)
    [(actor, action, before, after, undoes)] = events(store, post)
    assert (actor, action, undoes) == ("eva", "accept", None)
    assert json.loads(before)["status"] == "nieuw"
    assert json.loads(after) == {"status": "geaccepteerd", "themes": ["cultuur", "structuur"],
                                 "reject_reason": None, "duplicate_of": None, "note": None}


def test_a_stale_version_is_refused_and_changes_nothing(store, editor):
    other = add_user(store, "piet", "redacteur")
    post = add_post(store, 1)
    store.reviews.decide(post, other, 0, "reject", reason="spam")
    with pytest.raises(StaleReview) as caught:
        store.reviews.decide(post, editor, 0, "accept")
    assert caught.value.current.status == "afgewezen"
    assert caught.value.current.updated_by == "piet"
    assert store.reviews.state(post).version == 1
    assert len(events(store, post)) == 1


def test_undo_restores_earlier_states_one_by_one(store, editor):
    post = add_post(store, 1)
    store.reviews.decide(post, editor, 0, "set_themes", themes=["structuur", "cultuur"])
    store.reviews.decide(post, editor, 1, "note", note="mooi idee")
    store.reviews.decide(post, editor, 2, "reject", reason="off_topic")
    state = store.reviews.decide(post, editor, 3, "undo")
    assert (state.status, state.themes, state.note) == ("geaccepteerd", ("structuur", "cultuur"), "mooi idee")
    state = store.reviews.decide(post, editor, 4, "undo")
    assert state.note is None and state.status == "geaccepteerd"
    state = store.reviews.decide(post, editor, 5, "undo")
    assert state.status == "nieuw" and state.themes == ()
    with pytest.raises(NothingToUndo):
        store.reviews.decide(post, editor, 6, "undo")
    trail = events(store, post)
    assert [a for _, a, *_ in trail] == ["set_themes", "note", "reject", "undo", "undo", "undo"]
    ids = [r[0] for r in store.db.execute("SELECT id FROM review_events WHERE post_id = ? ORDER BY id", [post])]
    assert [u for *_, u in trail[3:]] == [ids[2], ids[1], ids[0]]


def test_duplicate_needs_another_existing_post(store, editor):
    a, b = add_post(store, 1), add_post(store, 2)
    with pytest.raises(ValueError):
        store.reviews.decide(a, editor, 0, "duplicate", duplicate_of=a)
    with pytest.raises(ValueError):
        store.reviews.decide(a, editor, 0, "duplicate", duplicate_of=9999)
    state = store.reviews.decide(a, editor, 0, "duplicate", duplicate_of=b)
    assert (state.status, state.duplicate_of) == ("duplicaat", b)


def test_bulk_skips_stale_posts_and_does_the_rest(store, editor):
    posts = [add_post(store, n) for n in range(3)]
    store.reviews.decide(posts[1], editor, 0, "note", note="x")
    done, stale, gone = store.reviews.decide_many({p: 0 for p in posts}, editor, "accept")
    assert done == [posts[0], posts[2]]
    assert [s.post_id for s in stale] == [posts[1]]
    assert store.reviews.state(posts[1]).status == "nieuw"


def test_queue_filters_and_keyset_pages(store, editor):
    ids = [add_post(store, n, published_at=f"2026-10-{n + 1:02d}T09:00:00+00:00", confidence=n / 10,
                    scores={"cultuur": 0.7} if n % 2 else {"structuur": 0.9},
                    language="en" if n == 3 else "nl", source="blog" if n == 4 else "mastodon-nl")
           for n in range(8)]
    store.reviews.decide(ids[0], editor, 0, "reject", reason="spam")
    store.reviews.decide(ids[2], editor, 0, "set_themes", themes=["leiderschap"])

    def queue(**kw):
        return [i.id for i in store.reviews.queue(QueueFilter(**kw), limit=50).items]

    assert queue() == [ids[n] for n in (7, 6, 5, 4, 3, 1)]
    assert queue(status=None) == ids[::-1]
    assert queue(status="afgewezen") == [ids[0]]
    assert queue(status=None, theme="leiderschap") == [ids[2]]
    assert queue(status=None, theme="structuur") == [ids[n] for n in (6, 4, 2, 0)]
    assert queue(status=None, source="blog") == [ids[4]]
    assert queue(status=None, language="en") == [ids[3]]
    assert queue(status=None, date_from="2026-10-03", date_to="2026-10-04") == [ids[3], ids[2]]
    assert queue(sort="confidence") == [ids[n] for n in (1, 3, 4, 5, 6, 7)]
    seen, after = [], None
    while True:
        page = store.reviews.queue(QueueFilter(status=None), after=after, limit=3)
        seen += [i.id for i in page.items]
        after = page.next_cursor
        if after is None:
            break
    assert seen == ids[::-1]
    seen, after = [], None
    while True:
        page = store.reviews.queue(QueueFilter(status=None, sort="confidence"), after=after, limit=3)
        seen += [i.id for i in page.items]
        after = page.next_cursor
        if after is None:
            break
    assert seen == ids


def test_full_text_search_and_duplicate_candidates(store):
    a = add_post(store, 1, "Gemeenten moeten open data over vergunningen publiceren, zodat burgers meekijken")
    b = add_post(store, 2, "Open data over vergunningen: laat gemeenten alles publiceren voor burgers")
    add_post(store, 3, "Meer thuiswerken voor ambtenaren helpt de werkdruk")
    add_post(store, 4, "Vergunningen sneller verlenen door betere samenwerking")
    found = store.reviews.queue(QueueFilter(status=None, query='vergunningen "open'), limit=10).items
    assert sorted(i.id for i in found) == [a, b]
    assert store.reviews.queue(QueueFilter(status=None, query='"'), limit=10).items  # no FTS syntax error
    candidates = store.reviews.duplicate_candidates(a)
    assert candidates[0].id == b
    assert a not in [c.id for c in candidates]


def test_overview_counts(store, editor):
    a = add_post(store, 1, published_at="2026-11-02T10:00:00+00:00", scores={"cultuur": 0.9})
    b = add_post(store, 2, published_at="2026-11-10T10:00:00+00:00", scores={"cultuur": 0.9})
    add_post(store, 3, published_at="2026-11-11T10:00:00+00:00", confidence=None)
    store.reviews.decide(a, editor, 0, "set_themes", themes=["structuur"])
    store.reviews.decide(b, editor, 0, "reject", reason="spam")
    ov = store.reviews.overview(sources_since="2026-10-18T22:00:00+00:00")
    assert ov.total == 3 and ov.unclassified == 1
    assert ov.per_status == {"nieuw": 1, "geaccepteerd": 1, "afgewezen": 1, "duplicaat": 0}
    assert ov.suggested_per_theme == {"cultuur": 2}
    assert ov.accepted_per_theme == {"structuur": 1}
    assert ov.sources == [("mastodon-nl", 3)]


@pytest.mark.parametrize("sparse", [1, 2000])
def test_few_and_many_matches_give_the_same_pages(store, editor, monkeypatch, sparse):
    """Both query shapes (filter first, or walk the page order) list the same posts in the same order."""
    import harvester.store.reviews.queue as queue

    monkeypatch.setattr(queue, "SPARSE", sparse)
    ids = [add_post(store, n, f"Idee {n} over {'vergunningen' if n % 3 else 'thuiswerken'} voor de gemeente",
                    published_at=f"2026-09-{n + 1:02d}T09:00:00+00:00", confidence=(n * 7 % 10) / 10)
           for n in range(12)]
    for n in (1, 4, 7, 9):
        store.reviews.decide(ids[n], editor, 0, "reject", reason="spam")

    def walk(**kw):
        seen, after = [], None
        while True:
            page = store.reviews.queue(QueueFilter(**kw), after=after, limit=2)
            seen += [i.id for i in page.items]
            if page.next_cursor is None:
                return seen
            after = page.next_cursor

    assert walk(status="afgewezen") == [ids[n] for n in (9, 7, 4, 1)]
    assert walk(status="afgewezen", sort="confidence") == [ids[n] for n in (9, 1, 4, 7)]
    # a search in date order lists the newest collected (highest id) first
    assert walk(status=None, query="vergunningen") == [i for n, i in enumerate(ids) if n % 3][::-1]
    assert walk(status="afgewezen", query="vergunningen", sort="confidence") == [ids[n] for n in (1, 4, 7)]
    assert walk(query="thuiswerken", sort="confidence") == [ids[n] for n in (0, 3, 6)]


def test_state_and_event_land_together_or_not_at_all(store, editor):
    post = add_post(store, 1)
    store.reviews.decide(post, editor, 0, "note", note="eerst")
    store.db.execute("CREATE TEMP TRIGGER refuse BEFORE INSERT ON review_events BEGIN SELECT RAISE(ABORT, 'schijf vol'); END")
    with pytest.raises(Exception, match="schijf vol"):
        store.reviews.decide(post, editor, 1, "reject", reason="spam")
    store.db.execute("DROP TRIGGER refuse")
    state = store.reviews.state(post)
    assert (state.status, state.note, state.version) == ("nieuw", "eerst", 1)
    assert len(events(store, post)) == 1
    assert not store.db.conn.in_transaction
    assert store.reviews.decide(post, editor, 1, "reject", reason="spam").version == 2


def edit_at_source(store, n: int, post_id: int, text: str) -> None:
    """Post `n` edited by its author and harvested again, in a later millisecond than its last change."""
    from harvester.timeutil import utcnow

    before = store.reviews.item(post_id).changed_at
    while utcnow() <= before:
        pass
    add_post(store, n, text)
    assert store.reviews.item(post_id).changed_at > before


def delete_at_source(store, post_id: int) -> None:
    from harvester.privacy.forget import deleted_at_source

    key = store.db.execute("SELECT key FROM posts WHERE id = ?", [post_id]).fetchone()[0]
    deleted_at_source(store, post_id, key, ["mastodon-nl"])


def test_a_text_edited_since_the_editor_read_it_is_stale(store, editor):
    post = add_post(store, 1, "Laat teams zelf experimenteren #innoverheid")
    other = add_post(store, 2)
    read = {p: store.reviews.item(p).changed_at for p in (post, other)}
    edit_at_source(store, 1, post, "Koop nu goedkope zonnepanelen in onze webshop #innoverheid")
    with pytest.raises(StaleReview) as refused:
        store.reviews.decide(post, editor, 0, "accept", seen=read[post])
    assert refused.value.edited and store.reviews.state(post).version == 0
    done, stale, gone = store.reviews.decide_many({post: 0, other: 0}, editor, "accept", seen=read)
    assert (done, [s.post_id for s in stale], gone) == ([other], [post], [])
    # with the text it shows now, the decision is saved
    state = store.reviews.decide(post, editor, 0, "accept", seen=store.reviews.item(post).changed_at)
    assert state.status == "geaccepteerd"


def test_bulk_skips_posts_deleted_meanwhile_and_does_the_rest(store, editor):
    posts = [add_post(store, n) for n in range(3)]
    delete_at_source(store, posts[1])
    done, stale, gone = store.reviews.decide_many({p: 0 for p in posts}, editor, "reject", reason="spam")
    assert (done, stale, gone) == ([posts[0], posts[2]], [], [posts[1]])
    assert [store.reviews.state(p).status for p in (posts[0], posts[2])] == ["afgewezen", "afgewezen"]


def test_undo_cannot_bring_back_a_link_to_a_deleted_original(store, editor):
    original, copy = add_post(store, 1), add_post(store, 2)
    store.reviews.decide(copy, editor, 0, "duplicate", duplicate_of=original)
    store.reviews.decide(copy, editor, 1, "reopen")
    delete_at_source(store, original)
    with pytest.raises(ValueError, match=f"post {original} bestaat niet meer"):
        store.reviews.decide(copy, editor, 2, "undo")
    assert (store.reviews.state(copy).status, store.reviews.state(copy).version) == ("nieuw", 2)
