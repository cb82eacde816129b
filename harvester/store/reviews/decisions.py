"""Editors' decisions with their audit trail: what a post's review is now and how it got there.

Every decision appends a row to `review_events` (who, when, state before, state after) and updates
`reviews` in the same transaction. `reviews.version` counts a post's events: a writer names the
version it saw, and a different one means someone else decided in between (`StaleReview`), so
nothing is silently overwritten. A writer may also name the post's `changed_at` it saw: a text
edited at the source since then is stale too, so no decision is saved for a text its editor did
not read. Undo is a new event that restores an earlier state.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from dataclasses import asdict, dataclass, replace

import sqlite_utils

from ...errors import HarvesterError
from ...models import Action, Status
from ...timeutil import utcnow
from ..users import User

REJECT_REASONS = ("geen_idee", "off_topic", "spam")
# SQL: the review `r` (a row of `reviews`, or none) rejects its post as spam. Such a post counts
# nowhere: not in the movement's figures (store/movement.py), nor on the Initiatieven pages
# (store/initiatives.py); one rule, so the two never disagree on what spam is
REJECTED_AS_SPAM = "(r.status IS 'afgewezen' AND r.reject_reason IS 'spam')"


class StaleReview(HarvesterError):
    """The post changed since the editor saw it; `current` is its state now. `edited`: its text
    changed (at the source), not its review."""

    def __init__(self, post_id: int, current: ReviewState, edited: bool = False):
        super().__init__(f"post {post_id} is intussen gewijzigd (versie {current.version})")
        self.post_id, self.current, self.edited = post_id, current, edited


class NothingToUndo(HarvesterError):
    """The post has no decision left to undo."""


@dataclass(frozen=True)
class ReviewState:
    status: Status = Status.NEW
    themes: tuple[str, ...] = ()
    reject_reason: str | None = None
    duplicate_of: int | None = None
    note: str | None = None
    version: int = 0
    updated_by: str | None = None
    updated_at: str | None = None
    undoable: bool = False             # a decision is left that undo would reverse

    def decision(self) -> dict:
        """What an event records as 'before' and 'after': the decision, not its bookkeeping."""
        d = asdict(self)
        d["themes"] = list(self.themes)
        for key in ("version", "updated_by", "updated_at", "undoable"):
            del d[key]
        return d


@dataclass(frozen=True)
class ReviewEvent:
    id: int
    post_id: int | None
    actor: str
    at: str
    action: str
    before: dict | None
    after: dict | None
    undoes: int | None


# the columns `review_state` reads, from `reviews r LEFT JOIN users u ON u.id = r.updated_by`; the
# last counts the post's undo events (review_events_post makes it an index range)
STATE_COLUMNS = ("r.status, r.themes, r.reject_reason, r.duplicate_of, r.note, r.version, u.name, r.updated_at,"
                 " (SELECT count(*) FROM review_events e WHERE e.post_id = r.post_id AND e.action = 'undo')")


def review_state(row) -> ReviewState:
    """A ReviewState from STATE_COLUMNS. Every event counts in the version and each undo reverses
    one other event, so something is left to undo while the events outnumber twice the undos."""
    return ReviewState(Status(row[0]), tuple(json.loads(row[1])), *row[2:8], undoable=row[5] > 2 * row[8])


class DecisionStore:
    def __init__(self, db: sqlite_utils.Database):
        # the Store's Database: its atomic() takes the write lock as it begins, so a decision's
        # read-check-write (the version it expects) cannot race another writer
        self.db = db

    def state(self, post_id: int) -> ReviewState:
        row = self.db.execute(
            f"SELECT {STATE_COLUMNS} FROM reviews r LEFT JOIN users u ON u.id = r.updated_by WHERE r.post_id = ?",
            [post_id],
        ).fetchone()
        return review_state(row) if row else ReviewState()

    def history(self, post_id: int) -> list[ReviewEvent]:
        """The audit trail of one post, oldest first."""
        return [
            ReviewEvent(r[0], r[1], r[2], r[3], r[4], json.loads(r[5]) if r[5] else None,
                        json.loads(r[6]) if r[6] else None, r[7])
            for r in self.db.execute(
                "SELECT id, post_id, actor, at, action, before, after, undoes FROM review_events"
                " WHERE post_id = ? ORDER BY id", [post_id],
            )
        ]

    def decide(self, post_id: int, user: User, expected_version: int, action: str, *,
               themes: list[str] | None = None, reason: str | None = None,
               duplicate_of: int | None = None, note: str | None = None, seen: str | None = None) -> ReviewState:
        """Apply one decision, if the post is still at `expected_version` (and, given `seen`, its
        text still the one changed at `seen`); returns the new state.

        accept: status geaccepteerd with `themes`, or the model's suggestion when none are given;
        set_themes: geaccepteerd with exactly `themes`; reject: afgewezen for `reason`;
        duplicate: duplicaat of post `duplicate_of`; note: only the note; reopen: back to nieuw;
        undo: restore the state before the latest decision not yet undone.
        """
        if not Action.has(action):
            raise ValueError(f"onbekende actie {action!r}")
        with self.db.atomic():
            return self._decide(post_id, user, expected_version, action, themes, reason, duplicate_of, note, seen)

    def decide_many(self, versions: dict[int, int], user: User, action: str, *, seen: dict[int, str] | None = None,
                    within: Collection[str] | None = None, **kwargs) -> tuple[list[int], list[StaleReview], list[int]]:
        """The same decision on several posts in one transaction (`seen`: per post the `changed_at`
        its editor saw). Stale posts and posts deleted meanwhile are skipped: returns the posts
        decided, the stale ones and the deleted ones. An accept of the model's suggestion keeps only
        the themes in `within`, when given: which themes may be saved is the caller's policy (the
        app: the configured ones)."""
        done, stale, gone = [], [], []
        seen = seen or {}
        with self.db.atomic():
            for post_id, version in versions.items():
                try:
                    self._decide(post_id, user, version, action, kwargs.get("themes"), kwargs.get("reason"),
                                 kwargs.get("duplicate_of"), kwargs.get("note"), seen.get(post_id), within=within)
                    done.append(post_id)
                except StaleReview as e:
                    stale.append(e)
                except KeyError:   # deleted meanwhile: _decide looks the post up before it writes anything
                    gone.append(post_id)
        return done, stale, gone

    def _exists(self, post_id: int | None) -> bool:
        return self.db.execute("SELECT 1 FROM posts WHERE id = ?", [post_id]).fetchone() is not None

    def _decide(self, post_id, user, expected_version, action, themes, reason, duplicate_of, note, seen, *,
                within: Collection[str] | None = None) -> ReviewState:
        changed = self.db.execute("SELECT changed_at FROM posts WHERE id = ?", [post_id]).fetchone()
        if changed is None:
            raise KeyError(post_id)
        current = self.state(post_id)
        if current.version != expected_version:
            raise StaleReview(post_id, current)
        if seen is not None and seen != changed[0]:
            raise StaleReview(post_id, current, edited=True)
        undoes = None
        if action == Action.ACCEPT:
            chosen = tuple(themes) if themes else self._suggested(post_id, within)
            after = replace(current, status=Status.ACCEPTED, themes=chosen, reject_reason=None, duplicate_of=None)
        elif action == Action.SET_THEMES:
            after = replace(current, status=Status.ACCEPTED, themes=tuple(dict.fromkeys(themes or ())),
                            reject_reason=None, duplicate_of=None)
        elif action == Action.REJECT:
            if reason not in REJECT_REASONS:
                raise ValueError(f"onbekende reden {reason!r}")
            after = replace(current, status=Status.REJECTED, themes=(), reject_reason=reason, duplicate_of=None)
        elif action == Action.DUPLICATE:
            if duplicate_of == post_id or not self._exists(duplicate_of):
                raise ValueError(f"post {duplicate_of} bestaat niet of is deze post zelf")
            after = replace(current, status=Status.DUPLICATE, reject_reason=None, duplicate_of=duplicate_of)
        elif action == Action.NOTE:
            after = replace(current, note=(note or "").strip() or None)
        elif action == Action.REOPEN:
            after = replace(current, status=Status.NEW, themes=(), reject_reason=None, duplicate_of=None)
        else:  # undo
            target = self.db.execute(
                "SELECT id, before FROM review_events WHERE post_id = ? AND action != 'undo' AND id NOT IN"
                " (SELECT undoes FROM review_events WHERE post_id = ? AND undoes IS NOT NULL)"
                " ORDER BY id DESC LIMIT 1", [post_id, post_id],
            ).fetchone()
            if target is None:
                raise NothingToUndo(post_id)
            undoes, before = target[0], json.loads(target[1])
            if before["status"] == Status.DUPLICATE and not self._exists(before["duplicate_of"]):
                # its original was deleted since (at the source, or forgotten): the link cannot come back
                raise ValueError(f"post {before['duplicate_of']} bestaat niet meer, dus deze post kan niet weer"
                                 " een duplicaat ervan worden")
            after = replace(current, status=Status(before["status"]), themes=tuple(before["themes"]),
                            reject_reason=before["reject_reason"], duplicate_of=before["duplicate_of"],
                            note=before["note"])
        if after.status == Status.DUPLICATE and (current.status, current.duplicate_of) != (Status.DUPLICATE, after.duplicate_of):
            after = replace(after, duplicate_of=self._original(post_id, after.duplicate_of))
        now = utcnow()
        classified = self.db.execute("SELECT 1 FROM classifications WHERE post_id = ?", [post_id]).fetchone()
        suggested = json.dumps(list(self._suggested(post_id))) if classified else None
        values = [after.status, json.dumps(list(after.themes)), after.reject_reason, after.duplicate_of,
                  after.note, expected_version + 1, user.id, now]
        if expected_version == 0:
            self.db.execute(
                "INSERT INTO reviews (status, themes, reject_reason, duplicate_of, note, version, updated_by,"
                " updated_at, post_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", [*values, post_id])
        else:
            self.db.execute(
                "UPDATE reviews SET status = ?, themes = ?, reject_reason = ?, duplicate_of = ?, note = ?,"
                " version = ?, updated_by = ?, updated_at = ? WHERE post_id = ? AND version = ?",
                [*values, post_id, expected_version])
        self.db.execute(
            "INSERT INTO review_events (post_id, user_id, actor, at, action, before, after, undoes, suggested)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [post_id, user.id, user.name, now, action, json.dumps(current.decision(), ensure_ascii=False),
             json.dumps(after.decision(), ensure_ascii=False), undoes, suggested],
        )
        if (after.status, after.themes, after.reject_reason) != (current.status, current.themes, current.reject_reason):
            # the initiatives' counts leave out spam and carry the editors' themes: made anew at the next pass
            self.db.execute("UPDATE initiative_matching SET summarised_at = NULL WHERE summarised_at IS NOT NULL")
        return self.state(post_id)

    def _original(self, post_id: int, target: int | None) -> int | None:
        """Where a post that becomes a duplicate of `target` points: the policy that keeps
        duplicate links one step deep and without cycles. A target that is itself a duplicate is
        replaced by its original; a link back to the post itself is refused, and so is a post
        that others point to (they would point to a duplicate: mark those first)."""
        if target is not None:
            row = self.db.execute("SELECT duplicate_of FROM reviews WHERE post_id = ? AND status = 'duplicaat'",
                                  [target]).fetchone()
            if row is not None and row[0] is not None:
                target = row[0]
            if target == post_id:
                raise ValueError(f"post {post_id} is zelf het origineel van die post; een kring van duplicaten kan niet")
        pointing = self.db.execute("SELECT post_id FROM reviews WHERE duplicate_of = ? AND status = 'duplicaat'"
                                   " ORDER BY post_id LIMIT 1", [post_id]).fetchone()
        if pointing is not None:
            raise ValueError(f"post {pointing[0]} is als duplicaat van deze post gemarkeerd; maak die eerst"
                             " een duplicaat van het nieuwe origineel")
        return target

    def _suggested(self, post_id: int, within: Collection[str] | None = None) -> tuple[str, ...]:
        """The themes the model assigned, best first; only those in `within` when given."""
        return tuple(r[0] for r in self.db.execute(
            "SELECT theme FROM post_themes WHERE post_id = ? AND assigned = 1 ORDER BY score DESC", [post_id])
            if within is None or r[0] in within)
