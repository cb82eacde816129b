"""NLP verdicts per post, and which posts need (re)classifying."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import sqlite_utils

from ..models import Classification
from .exports import refresh_themes
from .posts import PostText

# a verdict is current while it was made from the post's current change; '' (set aside by a switch
# of model) is no change, so such a post is pending too
_PENDING = "(c.post_id IS NULL OR c.post_changed_at <> p.changed_at)"


@dataclass(frozen=True)
class PendingCounts:
    """The posts the next classification reads, by the verdict they have now: what `count_pending`
    counts, told apart so that a person can be told why."""

    never: int           # no verdict at all
    switched: int        # a verdict set aside by a switch of model (`mark_unreviewed_stale`), or of another model
    changed: int         # a verdict of the model in use, read before the post last changed

    @property
    def total(self) -> int:
        return self.never + self.switched + self.changed


class ClassificationStore:
    def __init__(self, db: sqlite_utils.Database):
        self.db = db

    def save(self, post_id: int, result: Classification) -> None:
        """Replace the post's verdict and its per-theme scores."""
        self.save_many([(post_id, result)])

    def save_many(self, verdicts: Sequence[tuple[int, Classification]], seen: Mapping[int, str] | None = None) -> None:
        """Replace the verdicts of many posts in one transaction (executemany: the classify step's hot path).

        `seen` holds per post the `changed_at` of the text classified (`pending`); the verdict
        records it, so a post edited after its text was read stays pending. A post not in `seen`
        is taken to be classified as it is now. Posts deleted in the meantime are skipped, not an
        error. Rows are updated in place (an upsert costs less than delete and insert), and a
        post's rows for themes its verdict no longer has are removed.
        """
        seen = seen or {}
        with self.db.atomic():   # BEGIN IMMEDIATE: no post can go between this check and the writes
            conn = self.db.conn
            ids = json.dumps([post_id for post_id, _ in verdicts])
            existing = {row[0] for row in conn.execute(
                "SELECT id FROM posts WHERE id IN (SELECT value FROM json_each(?))", (ids,))}
            verdicts = [(post_id, r) for post_id, r in verdicts if post_id in existing]
            by_themes: dict[tuple[str, ...], list[int]] = {}
            for post_id, r in verdicts:
                by_themes.setdefault(tuple(r.scores), []).append(post_id)
            for themes, post_ids in by_themes.items():
                conn.execute(
                    "DELETE FROM post_themes WHERE post_id IN (SELECT value FROM json_each(?))"
                    " AND theme NOT IN (SELECT value FROM json_each(?))",
                    (json.dumps(post_ids), json.dumps(themes)),
                )
            conn.executemany(
                "INSERT INTO classifications"
                " (post_id, model_version, language, is_dutch, confidence, reasons, post_changed_at)"
                " SELECT ?, ?, ?, ?, ?, ?, coalesce(?, changed_at) FROM posts WHERE id = ?"
                " ON CONFLICT (post_id) DO UPDATE SET"
                " model_version = excluded.model_version, language = excluded.language, is_dutch = excluded.is_dutch,"
                " confidence = excluded.confidence, reasons = excluded.reasons, post_changed_at = excluded.post_changed_at",
                [(post_id, r.model_version, r.language, int(r.is_dutch), r.confidence,
                  json.dumps(r.reasons, ensure_ascii=False), seen.get(post_id), post_id) for post_id, r in verdicts],
            )
            conn.executemany(
                "INSERT INTO post_themes (post_id, theme, score, assigned) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (post_id, theme) DO UPDATE SET score = excluded.score, assigned = excluded.assigned",
                [(post_id, theme, score, int(theme in r.assigned))
                 for post_id, r in verdicts for theme, score in r.scores.items()],
            )
            refresh_themes(conn, [post_id for post_id, _ in verdicts])

    def pending(
        self, *, include_all: bool = False, limit: int | None = None, after_id: int = 0
    ) -> list[PostText]:
        """Posts never classified or edited since; every post with include_all.

        Ordered by id; pass the last id seen as `after_id` to read the next page.
        """
        stale = "" if include_all else f"AND {_PENDING}"
        sql = (f"SELECT p.id, p.text, p.changed_at FROM posts p LEFT JOIN classifications c ON c.post_id = p.id"
               f" WHERE p.id > ? {stale} ORDER BY p.id")
        rows = self.db.execute(sql + (f" LIMIT {int(limit)}" if limit else ""), [after_id]).fetchall()
        return [PostText(*row) for row in rows]

    def count_pending(self, *, include_all: bool = False) -> int:
        if include_all:
            return self.db.execute("SELECT count(*) FROM posts").fetchone()[0]
        return self.db.execute(
            f"SELECT count(*) FROM posts p LEFT JOIN classifications c ON c.post_id = p.id WHERE {_PENDING}"
        ).fetchone()[0]

    def count_pending_by_verdict(self, model_version: str) -> PendingCounts:
        """`count_pending`, split by whether a post has no verdict, one a switch of model set aside
        (or of another model than `model_version`, the one in use), or one of that model from before
        the post changed. A verdict of this model set aside by switching away and back is the second
        kind: its post did not change."""
        never, switched, changed = self.db.execute(
            "SELECT count(*) FILTER (WHERE c.post_id IS NULL),"
            " count(*) FILTER (WHERE c.model_version <> ? OR c.post_changed_at = ''),"
            " count(*) FILTER (WHERE c.model_version = ? AND c.post_changed_at <> '')"
            f" FROM posts p LEFT JOIN classifications c ON c.post_id = p.id WHERE {_PENDING}",
            [model_version, model_version],
        ).fetchone()
        return PendingCounts(never, switched, changed)

    def decisions(self) -> list[tuple[int, str, list[str]]]:
        """(post id, text, themes) of every decided post: accepted -> the editor's themes, rejected -> []."""
        rows = self.db.execute(
            "SELECT p.id, p.text, r.status, r.themes FROM reviews r JOIN posts p ON p.id = r.post_id"
            " WHERE r.status IN ('geaccepteerd', 'afgewezen') ORDER BY r.post_id"
        ).fetchall()
        return [(post_id, text, json.loads(themes) if status == "geaccepteerd" else [])
                for post_id, text, status, themes in rows]

    def count_decisions(self, *, since: str | None = None) -> int:
        """Decided posts (accepted or rejected); with `since`: the posts whose entry in `decisions`
        differs from the one it had then (decided, given other themes, rejected or taken back).

        Read from the audit trail: the state before a post's first event after `since` against its
        state now. A note, a reject reason or a decision undone again changes nothing a training
        reads, so it does not count; a withdrawn decision does.
        """
        if since is None:
            return self.db.execute(
                "SELECT count(*) FROM reviews WHERE status IN ('geaccepteerd', 'afgewezen')").fetchone()[0]
        return self.db.execute(
            "WITH first AS (SELECT post_id, min(id) AS id FROM review_events"
            " WHERE post_id IS NOT NULL AND at > ? GROUP BY post_id)"
            " SELECT count(*) FROM first f JOIN review_events e ON e.id = f.id JOIN reviews r ON r.post_id = f.post_id"
            " WHERE CASE json_extract(e.before, '$.status') WHEN 'geaccepteerd' THEN json_extract(e.before, '$.themes')"
            " WHEN 'afgewezen' THEN '[]' END"
            " IS NOT CASE r.status WHEN 'geaccepteerd' THEN json(r.themes) WHEN 'afgewezen' THEN '[]' END",
            [since],
        ).fetchone()[0]

    def mark_unreviewed_stale(self, model_version: str) -> int:
        """Verdicts of another model on posts no editor decided become stale (post_changed_at ''), so the
        next classification redoes them with the active model; returns how many."""
        with self.db.atomic():
            return self.db.execute(
                "UPDATE classifications SET post_changed_at = '' WHERE model_version <> ? AND post_changed_at <> ''"
                " AND post_id NOT IN (SELECT post_id FROM reviews WHERE status <> 'nieuw')", [model_version]
            ).rowcount
