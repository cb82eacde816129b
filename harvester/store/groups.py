"""Idea groups: posts an editor marked as one idea, and the audit trail of every change to them.

A post is in at most one group and a group holds at least two posts. Grouping posts of which
some are already grouped merges those groups into the oldest of them; taking posts out of a
group that would then hold fewer than two dissolves it, and so does deleting posts (forget,
opt-out, retention's purge, a deletion at the source): each path that deletes posts calls
`dissolve_lone` in its own transaction. Each change an editor makes appends a row to
`idea_group_events` in the same transaction (who, when, which posts, the members afterwards);
a deletion appends one only when it dissolves a group. The overview, the exports and the
charter count a group as one idea.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import sqlite_utils

from ..errors import HarvesterError
from ..timeutil import utcnow
from .users import User


class GroupError(HarvesterError):
    """A grouping that cannot be done; the message (Dutch) is shown to the editor."""


@dataclass(frozen=True)
class GroupEvent:
    id: int
    group_id: int
    user_id: int | None         # None: the store dissolved the group after a deletion
    actor: str
    at: str
    action: str                 # 'group' | 'ungroup'
    posts: list[int]            # added or taken out
    members: list[int]          # the group afterwards ([]: dissolved)


class GroupStore:
    def __init__(self, db: sqlite_utils.Database):
        self.db = db

    def group_of(self, post_id: int) -> int | None:
        row = self.db.execute("SELECT group_id FROM idea_group_members WHERE post_id = ?", [post_id]).fetchone()
        return row[0] if row else None

    def members(self, group_id: int) -> list[int]:
        return [r[0] for r in self.db.execute(
            "SELECT post_id FROM idea_group_members WHERE group_id = ? ORDER BY post_id", [group_id])]

    def groups_of(self, post_ids: list[int]) -> dict[int, int]:
        """post id -> group id, for those of `post_ids` that are grouped."""
        if not post_ids:
            return {}
        return dict(self.db.execute(
            "SELECT post_id, group_id FROM idea_group_members WHERE post_id IN (SELECT value FROM json_each(?))",
            [json.dumps(post_ids)]).fetchall())

    def group(self, post_ids: list[int], user: User) -> int:
        """Mark these posts (at least two, or one beside an existing group) as one idea; returns the group id."""
        wanted = list(dict.fromkeys(int(p) for p in post_ids))
        with self.db.atomic():
            known = {r[0] for r in self.db.execute(
                "SELECT id FROM posts WHERE id IN (SELECT value FROM json_each(?))", [json.dumps(wanted)])}
            missing = [p for p in wanted if p not in known]
            if missing:
                raise GroupError(f"post {missing[0]} bestaat niet (meer)")
            current = self.groups_of(wanted)
            existing = sorted(set(current.values()))
            members = set(wanted)
            for group_id in existing:
                members.update(self.members(group_id))
            if len(members) < 2:
                raise GroupError("kies minstens twee posts om als één idee te markeren")
            if existing:
                target = existing[0]
                added = sorted(members - set(self.members(target)))
                if not added:
                    raise GroupError(f"deze posts zijn al één idee (groep {target})")
                for other in existing[1:]:
                    self.db.execute("DELETE FROM idea_groups WHERE id = ?", [other])
            else:
                target = self.db.execute("INSERT INTO idea_groups (created_at) VALUES (?)", [utcnow()]).lastrowid
                added = sorted(members)
            self.db.conn.executemany(
                "INSERT INTO idea_group_members (post_id, group_id) VALUES (?, ?)"
                " ON CONFLICT (post_id) DO UPDATE SET group_id = excluded.group_id",
                [(p, target) for p in added])
            self._record(target, user, "group", added)
            return target

    def ungroup(self, group_id: int, user: User, post_ids: list[int] | None = None) -> list[int]:
        """Take posts out of a group (None: dissolve it); returns the members left ([]: dissolved)."""
        with self.db.atomic():
            members = self.members(group_id)
            if not members:
                raise GroupError(f"groep {group_id} bestaat niet (meer)")
            out = members if post_ids is None else [p for p in members if p in set(post_ids)]
            if not out:
                raise GroupError(f"die posts horen niet bij groep {group_id}")
            left = [p for p in members if p not in out]
            if len(left) < 2:   # one post alone is no group
                out, left = members, []
                self.db.execute("DELETE FROM idea_groups WHERE id = ?", [group_id])
            else:
                self.db.execute("DELETE FROM idea_group_members WHERE post_id IN (SELECT value FROM json_each(?))",
                                [json.dumps(out)])
            self._record(group_id, user, "ungroup", out)
            return left

    def dissolve_lone(self) -> list[int]:
        """Dissolve every group that deleted posts left with fewer than two members; returns their ids.

        One post alone is no idea that several posts share, yet the charter and the exports would
        show it as a group. The paths that delete posts call this inside the deleting transaction,
        so that no reader ever sees such a group. The post left over is simply ungrouped (its
        review stays as it was). The trail gets one 'ungroup' by the system per dissolved group,
        naming only the post left over: like the rest of the audit trail, it does not record
        which posts a deletion removed.
        """
        lone = [r[0] for r in self.db.execute(
            "SELECT g.id FROM idea_groups g LEFT JOIN idea_group_members m ON m.group_id = g.id"
            " GROUP BY g.id HAVING count(m.post_id) < 2 ORDER BY g.id")]
        for group_id in lone:
            left = self.members(group_id)
            self.db.execute("DELETE FROM idea_groups WHERE id = ?", [group_id])
            self._record(group_id, None, "ungroup", left)
        return lone

    def history(self, group_id: int) -> list[GroupEvent]:
        """The trail of one group, oldest first (also after it was dissolved)."""
        return [_event(r) for r in self.db.execute(
            f"SELECT {_EVENT_COLUMNS} FROM idea_group_events e WHERE group_id = ? ORDER BY id", [group_id])]

    def history_of_post(self, post_id: int) -> list[GroupEvent]:
        """Every grouping event that named this post, oldest first. Events from before the post was
        stored named another post: before migration V_POST_IDS SQLite gave a deleted post's id
        (forget, purge) to the next one stored, and such posts are still in older files."""
        return [_event(r) for r in self.db.execute(
            f"SELECT {_EVENT_COLUMNS} FROM idea_group_events e"
            " WHERE (EXISTS (SELECT 1 FROM json_each(e.posts) WHERE value = ?1)"
            "        OR EXISTS (SELECT 1 FROM json_each(e.members) WHERE value = ?1))"
            "   AND e.at >= (SELECT first_seen_at FROM posts WHERE id = ?1) ORDER BY e.id", [post_id])]

    def _record(self, group_id: int, user: User | None, action: str, posts: list[int]) -> None:
        """Append to the trail; `user` None: the system (as in review_events), after a deletion."""
        self.db.execute(
            "INSERT INTO idea_group_events (group_id, user_id, actor, at, action, posts, members)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            [group_id, user.id if user else None, user.name if user else "system", utcnow(), action,
             json.dumps(posts), json.dumps(self.members(group_id))])


_EVENT_COLUMNS = "e.id, e.group_id, e.user_id, e.actor, e.at, e.action, e.posts, e.members"


def _event(row: tuple) -> GroupEvent:
    return GroupEvent(*row[:6], json.loads(row[6]), json.loads(row[7]))
