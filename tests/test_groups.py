"""Idea groups: grouping, merging, ungrouping, and the audit trail of each."""

from __future__ import annotations

import pytest

from harvester.store.groups import GroupError

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


def test_a_new_post_with_a_deleted_posts_id_has_no_group_history(store, posts):
    """SQLite gives the id of the newest post, once deleted (forget, purge), to the next one stored."""
    eva = add_user(store, "eva", "redacteur")
    store.groups.group(posts[-2:], eva)
    # harvested and grouped before the newcomer came (times a millisecond apart cannot tell them apart)
    store.db.execute("UPDATE posts SET first_seen_at = '2026-11-30T08:00:00.000+00:00'")
    store.db.execute("UPDATE idea_group_events SET at = '2026-11-30T09:00:00.000+00:00'")
    store.db.execute("DELETE FROM posts WHERE id = ?", [posts[-1]])
    newcomer = add_post(store, 99, author="nieuw@mastodon.nl")
    assert newcomer == posts[-1]
    assert store.groups.history_of_post(newcomer) == []
    assert [e.action for e in store.groups.history_of_post(posts[-2])] == ["group"]
