"""Idea groups: grouping, merging, ungrouping, and the audit trail of each."""

from __future__ import annotations

import re

import pytest

from harvester.models import ExportQuery
from harvester.privacy.forget import deleted_at_source, forget, optout, parse_author
from harvester.privacy.retention import purge_expired
from harvester.store import Store
from harvester.store.groups import GroupError
from harvester.store.schema import MIGRATIONS, V_LONE_GROUPS

from .webdata import add_post, add_user


@pytest.fixture
def posts(store):
    return [add_post(store, n, author=f"p{n}@mastodon.nl") for n in range(1, 7)]


def test_grouping_and_ungrouping_are_kept_in_the_audit_trail(store, posts):
    eva, bob = add_user(store, "eva", "redacteur"), add_user(store, "bob", "redacteur")
    group = store.groups.group(posts[:2], eva)
    assert store.groups.members(group) == posts[:2]
    assert store.groups.group(posts[1:3], bob) == group          # one more post joins the same group
    assert store.groups.members(group) == posts[:3]
    assert store.groups.ungroup(group, eva, [posts[2]]) == posts[:2]
    assert store.groups.ungroup(group, bob) == []                # dissolved
    assert store.groups.group_of(posts[0]) is None
    trail = [(e.actor, e.action, e.posts, e.members) for e in store.groups.history(group)]
    assert trail == [
        ("eva", "group", posts[:2], posts[:2]),
        ("bob", "group", [posts[2]], posts[:3]),
        ("eva", "ungroup", [posts[2]], posts[:2]),
        ("bob", "ungroup", posts[:2], []),
    ]
    assert [e.action for e in store.groups.history_of_post(posts[2])] == ["group", "ungroup"]
    assert all(e.at for e in store.groups.history(group))


def test_grouping_posts_from_two_groups_merges_them_into_the_older(store, posts):
    eva = add_user(store, "eva", "redacteur")
    first = store.groups.group(posts[:2], eva)
    second = store.groups.group(posts[2:4], eva)
    assert store.groups.group([posts[1], posts[3]], eva) == first
    assert store.groups.members(first) == posts[:4] and store.groups.members(second) == []


def test_taking_out_all_but_one_dissolves_the_group(store, posts):
    eva = add_user(store, "eva", "redacteur")
    group = store.groups.group(posts[:2], eva)
    assert store.groups.ungroup(group, eva, [posts[0]]) == []
    assert store.groups.groups_of(posts) == {}
    assert store.groups.history(group)[-1].posts == posts[:2]


def test_what_cannot_be_grouped_is_refused_in_dutch_and_changes_nothing(store, posts):
    eva = add_user(store, "eva", "redacteur")
    with pytest.raises(GroupError, match="minstens twee"):
        store.groups.group([posts[0]], eva)
    with pytest.raises(GroupError, match="bestaat niet"):
        store.groups.group([posts[0], 9999], eva)
    group = store.groups.group(posts[:2], eva)
    with pytest.raises(GroupError, match="al één idee"):
        store.groups.group(posts[:2], eva)
    with pytest.raises(GroupError, match="horen niet bij"):
        store.groups.ungroup(group, eva, [posts[5]])
    assert len(store.groups.history(group)) == 1


def test_a_forgotten_post_leaves_its_group(store, posts):
    eva = add_user(store, "eva", "redacteur")
    group = store.groups.group(posts[:3], eva)
    store.db.execute("DELETE FROM posts WHERE id = ?", [posts[0]])
    assert store.groups.members(group) == posts[1:3]


def test_a_post_that_took_a_deleted_posts_id_before_v_post_ids_has_no_group_history(tmp_path):
    """Before V_POST_IDS SQLite gave the id of the newest post, once deleted (forget, purge), to the
    next one stored; such a post, still in the file after the upgrade, has no group history."""
    from harvester.store.schema import V_POST_IDS

    path = tmp_path / "h.db"
    with Store(path, migrate=False) as store:
        store.migrate(MIGRATIONS[:MIGRATIONS.index(V_POST_IDS)])
        posts = [add_post(store, n, author=f"p{n}@mastodon.nl") for n in range(1, 4)]
        store.groups.group(posts[-2:], add_user(store, "eva", "redacteur"))
        # harvested and grouped before the newcomer came (times a millisecond apart cannot tell them apart)
        store.db.execute("UPDATE posts SET first_seen_at = '2026-11-30T08:00:00.000+00:00'")
        store.db.execute("UPDATE idea_group_events SET at = '2026-11-30T09:00:00.000+00:00'")
        store.db.execute("DELETE FROM posts WHERE id = ?", [posts[-1]])
        newcomer = add_post(store, 99, author="nieuw@mastodon.nl")
        assert newcomer == posts[-1]
    with Store(path) as store:
        assert store.groups.history_of_post(newcomer) == []
        assert [e.action for e in store.groups.history_of_post(posts[-2])] == ["group"]


# --- deleting posts: a group left with one post is no group -------------------------------------

SECRET = b"sleutel-voor-de-groepentest-32by"
OLD = "2020-01-01T00:00:00.000+00:00"


def forgotten(store, post_id):
    forget(store, SECRET, parse_author(author_of(store, post_id)), min_authors=2)


def opted_out(store, post_id):
    optout(store, SECRET, author_of(store, post_id))


def purged(store, post_id):
    """Retention's purge: the other posts were accepted, so only this one is old and never accepted."""
    store.db.execute("UPDATE posts SET first_seen_at = ? WHERE id = ?", [OLD, post_id])
    purge_expired(store, "2021-01-01T00:00:00.000+00:00", min_authors=2)


def deleted_at_the_source(store, post_id):
    key = store.db.execute("SELECT key FROM posts WHERE id = ?", [post_id]).fetchone()[0]
    deleted_at_source(store, post_id, key, ["mastodon-nl"])


def author_of(store, post_id):
    return store.db.execute(
        "SELECT a.key FROM posts p JOIN authors a ON a.id = p.author_id WHERE p.id = ?", [post_id]).fetchone()[0]


REMOVALS = [forgotten, opted_out, purged, deleted_at_the_source]


def accepted(store, posts, eva):
    """Accept `posts` with a theme and a note (a purge keeps them); returns their review states."""
    for post_id in posts:
        store.reviews.decide(post_id, eva, 0, "accept", themes=["cultuur"], note=f"notitie {post_id}")
    return {p: store.reviews.state(p) for p in posts}


def group_losing_the_first(store, members, remove):
    """Group `members`, accept all but the first, then remove the first: (group, the others' reviews)."""
    eva = add_user(store, "eva", "redacteur")
    group = store.groups.group(members, eva)
    reviews = accepted(store, members[1:], eva)
    remove(store, members[0])
    return group, reviews


@pytest.mark.parametrize("remove", REMOVALS, ids=lambda f: f.__name__)
def test_a_group_of_two_that_loses_a_post_is_dissolved(store, posts, remove):
    group, reviews = group_losing_the_first(store, posts[:2], remove)
    assert store.db.execute("SELECT count(*) FROM posts WHERE id = ?", [posts[0]]).fetchone()[0] == 0
    assert store.groups.group_of(posts[1]) is None
    assert store.db.execute("SELECT count(*) FROM idea_groups WHERE id = ?", [group]).fetchone()[0] == 0
    assert store.reviews.state(posts[1]) == reviews[posts[1]]
    (row,) = [r for r in store.exports.rows(ExportQuery(statuses=["geaccepteerd"])) if r.post_id == posts[1]]
    assert row.idea_group is None
    last = store.groups.history(group)[-1]
    assert (last.user_id, last.actor, last.action, last.posts, last.members) == (None, "system", "ungroup",
                                                                                [posts[1]], [])


@pytest.mark.parametrize("remove", REMOVALS, ids=lambda f: f.__name__)
def test_a_group_of_three_that_loses_a_post_keeps_the_other_two(store, posts, remove):
    group, reviews = group_losing_the_first(store, posts[:3], remove)
    assert store.groups.members(group) == posts[1:3]
    assert [e.action for e in store.groups.history(group)] == ["group"]
    assert {p: store.reviews.state(p) for p in posts[1:3]} == reviews


def test_a_deletion_dissolves_only_the_groups_it_leaves_alone(store, posts):
    eva = add_user(store, "eva", "redacteur")
    pair, other = store.groups.group(posts[:2], eva), store.groups.group(posts[2:4], eva)
    accepted(store, posts[1:4], eva)
    purged(store, posts[0])
    assert store.groups.groups_of(posts) == {posts[2]: other, posts[3]: other}
    assert len(store.groups.history(other)) == 1 and store.groups.history(pair)[-1].members == []


def test_the_migration_dissolves_the_groups_that_deletions_left_too_small(tmp_path):
    """Groups of one (or none) that deletions left before the store dissolved them go on upgrade."""
    path = tmp_path / "harvester.db"
    with Store(path, migrate=False) as old:
        old.migrate(MIGRATIONS[:MIGRATIONS.index(V_LONE_GROUPS)])
        # no authors, no verdicts: the current code writes columns that later migrations add
        posts = [add_post(old, n, author=None, confidence=None) for n in range(1, 10)]
        eva = add_user(old, "eva", "redacteur")
        pair, three, emptied, whole = (old.groups.group(posts[a:b], eva) for a, b in ((0, 2), (2, 5), (5, 7), (7, 9)))
        old.reviews.decide(posts[1], eva, 0, "accept", themes=["cultuur"], note="goed idee")
        review = old.reviews.state(posts[1])
        # what a forget or purge did before this change: the rows went by cascade only
        old.db.execute("DELETE FROM posts WHERE id IN (?, ?, ?, ?)", [posts[0], posts[2], posts[5], posts[6]])
        old.db.conn.commit()
    with Store(path) as store:
        assert store.schema_version == len(MIGRATIONS)
        assert store.groups.groups_of(posts) == {posts[3]: three, posts[4]: three, posts[7]: whole, posts[8]: whole}
        assert [r[0] for r in store.db.execute("SELECT id FROM idea_groups ORDER BY id")] == [three, whole]
        assert [(e.user_id, e.actor, e.action, e.posts, e.members) for e in store.groups.history(pair)][-1] == (
            None, "system", "ungroup", [posts[1]], [])
        assert store.groups.history(emptied)[-1].posts == store.groups.history(emptied)[-1].members == []
        assert len(store.groups.history(three)) == len(store.groups.history(whole)) == 1
        assert store.reviews.state(posts[1]) == review
        # the migration's time is written as the store writes its own (harvester.timeutil.utcnow)
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00", store.groups.history(pair)[-1].at)
