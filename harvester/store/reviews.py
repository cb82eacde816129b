"""Editors' decisions: the review queue, the append-only audit trail and the current state.

Every decision appends a row to `review_events` (who, when, state before, state after) and updates
`reviews` in the same transaction. `reviews.version` counts a post's events: a writer names the
version it saw, and a different one means someone else decided in between (`StaleReview`), so
nothing is silently overwritten. Undo is a new event that restores an earlier state.

The queue is read with keyset pagination along an index (date, or model confidence), never
counting all matches, so a page costs about the same on the first page as on the thousandth.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import asdict, dataclass, field, replace

import sqlite_utils

from ..errors import HarvesterError
from ..models import Action, Status
from ..timeutil import utcnow
from .users import User

REJECT_REASONS = ("geen_idee", "off_topic", "spam")
SORTS = ("date", "confidence")
# a filter matching fewer rows than this is evaluated first and its rows sorted
SPARSE = 2000
# words in more posts than this say little about which post is a duplicate
COMMON = 1000

# must match the index posts_queue_date in schema.py
DATE_KEY = "coalesce(p.published_at, p.first_seen_at)"


class StaleReview(HarvesterError):
    """The post changed since the editor saw it; `current` is its state now."""

    def __init__(self, post_id: int, current: ReviewState):
        super().__init__(f"post {post_id} is intussen gewijzigd (versie {current.version})")
        self.post_id, self.current = post_id, current


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

    def decision(self) -> dict:
        """What an event records as 'before' and 'after': the decision, not its bookkeeping."""
        d = asdict(self)
        d["themes"] = list(self.themes)
        for key in ("version", "updated_by", "updated_at"):
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


@dataclass(frozen=True)
class QueueFilter:
    status: str | None = Status.NEW    # None: every status
    theme: str | None = None           # suggested by the model or chosen by an editor
    source: str | None = None          # source name
    language: str | None = None        # detected, else declared
    date_from: str | None = None       # YYYY-MM-DD, inclusive
    date_to: str | None = None         # YYYY-MM-DD, inclusive
    query: str | None = None           # full-text words
    sort: str = "date"                 # 'date' (newest first) or 'confidence' (least certain first)


@dataclass(frozen=True)
class Suggestion:
    theme: str
    score: float
    assigned: bool
    reasons: tuple[str, ...] = ()


@dataclass(frozen=True)
class QueueItem:
    id: int
    url: str | None
    title: str | None
    content_html: str
    text: str
    spoiler_text: str | None
    language: str | None
    published_at: str | None
    author: str | None
    author_url: str | None
    sources: list[str]
    suggestions: list[Suggestion]
    confidence: float | None
    is_dutch: bool | None
    review: ReviewState


@dataclass(frozen=True)
class QueuePage:
    items: list[QueueItem]
    next_cursor: str | None            # pass back as `after` for the next page


@dataclass(frozen=True)
class Candidate:
    id: int
    title: str | None
    text: str
    published_at: str | None
    status: Status


@dataclass
class Overview:
    total: int = 0
    unclassified: int = 0
    per_status: dict[Status, int] = field(default_factory=dict)
    suggested_per_theme: dict[str, int] = field(default_factory=dict)
    accepted_per_theme: dict[str, int] = field(default_factory=dict)
    weeks: list[str] = field(default_factory=list)                 # Monday of each week, oldest first
    per_week: dict[str, dict[str, int]] = field(default_factory=dict)   # theme -> week -> posts
    sources: list[tuple[str, int]] = field(default_factory=list)   # most active in the chart's weeks
    agreement: dict[str, tuple[int, int]] = field(default_factory=dict)  # week -> (agreed, decided)


def fts_query(words: str) -> str | None:
    """User words as an FTS5 query that cannot be a syntax error: each word quoted, all required.

    A trailing '*' keeps its meaning (prefix search). Control characters go: FTS5 reads a quoted
    string as C text, so a NUL inside one ends it ("unterminated string").
    """
    terms = []
    words = "".join(c for c in words if unicodedata.category(c) not in ("Cc", "Cs"))
    for word in words.split():
        prefix = word.endswith("*")
        word = word.rstrip("*").replace('"', "")
        if word:
            terms.append(f'"{word}"' + ("*" if prefix else ""))
    return " ".join(terms) or None


def _fold(word: str) -> str:
    """A word as FTS5's unicode61 tokenizer stores it: lower case, without diacritics."""
    return "".join(c for c in unicodedata.normalize("NFKD", word.lower()) if not unicodedata.combining(c))


class ReviewStore:
    def __init__(self, db: sqlite_utils.Database):
        # the Store's Database: its atomic() takes the write lock as it begins, so a decision's
        # read-check-write (the version it expects) cannot race another writer
        self.db = db

    # ---- reading -------------------------------------------------------------------------

    def state(self, post_id: int) -> ReviewState:
        row = self.db.execute(
            "SELECT r.status, r.themes, r.reject_reason, r.duplicate_of, r.note, r.version, u.name, r.updated_at"
            " FROM reviews r LEFT JOIN users u ON u.id = r.updated_by WHERE r.post_id = ?",
            [post_id],
        ).fetchone()
        return self._state(row) if row else ReviewState()

    @staticmethod
    def _state(row) -> ReviewState:
        return ReviewState(Status(row[0]), tuple(json.loads(row[1])), *row[2:])

    def queue(self, flt: QueueFilter, *, after: str | None = None, limit: int = 25) -> QueuePage:
        """One page of the queue under a filter; `after` is the previous page's next_cursor.

        Each page walks an index in the page's order and checks the filters row by row, stopping
        at `limit`: cheap while matches are common. A filter that matches few posts (a rare
        status, a rare search word) is instead evaluated first and its few rows sorted. A search
        in date order walks the full-text index itself, newest collected (highest id) first.
        """
        where, params = self._where(flt)
        query = fts_query(flt.query or "")
        if query and flt.sort == "date":
            key, order = "p.id", "f.rowid DESC"
            base = ("FROM posts_fts f CROSS JOIN posts p ON p.id = f.rowid LEFT JOIN reviews r ON r.post_id = p.id"
                    " LEFT JOIN classifications c ON c.post_id = p.id")
            where.append("posts_fts MATCH ?")
            params.append(query)
            if after:
                where.append("f.rowid < ?")
                params.append(_split_cursor(after)[1])
        elif flt.sort == "confidence":
            key, order = "c.confidence", "c.confidence ASC, c.post_id ASC"
            base = "FROM classifications c JOIN posts p ON p.id = c.post_id LEFT JOIN reviews r ON r.post_id = p.id"
            if query:
                if self._fewer_than(SPARSE, "SELECT 1 FROM posts_fts WHERE posts_fts MATCH ?", [query]):
                    where.append("c.post_id IN (SELECT rowid FROM posts_fts WHERE posts_fts MATCH ?)")
                else:
                    where.append("EXISTS (SELECT 1 FROM posts_fts f WHERE posts_fts MATCH ? AND f.rowid = c.post_id)")
                params.append(query)
            if after:
                value, last_id = _split_cursor(after)
                where.append(f"{key} >= ? AND ({key} > ? OR c.post_id > ?)")
                params += [float(value), float(value), last_id]
        else:
            key, order = DATE_KEY, f"{DATE_KEY} DESC, p.id DESC"
            base = ("FROM posts p LEFT JOIN reviews r ON r.post_id = p.id"
                    " LEFT JOIN classifications c ON c.post_id = p.id")
            if after:
                value, last_id = _split_cursor(after)
                where.append(f"{key} <= ? AND ({key} < ? OR p.id < ?)")
                params += [value, value, last_id]
        sql = (f"SELECT p.id, {key} {base} WHERE {' AND '.join(where) or '1'}"
               f" ORDER BY {order} LIMIT {int(limit) + 1}")
        rows = self.db.execute(sql, params).fetchall()
        more = len(rows) > limit
        rows = rows[:limit]
        items = self.items([r[0] for r in rows])
        cursor = f"{rows[-1][1]}|{rows[-1][0]}" if more and rows else None
        return QueuePage(items, cursor)

    def _fewer_than(self, n: int, sql: str, params: list) -> bool:
        """True when `sql` yields fewer than n rows (reads at most n)."""
        return self.db.execute(f"SELECT count(*) FROM ({sql} LIMIT {int(n)})", params).fetchone()[0] < n

    def _where(self, flt: QueueFilter) -> tuple[list[str], list]:
        where: list[str] = []
        params: list = []
        if flt.status:
            if not Status.has(flt.status):
                raise ValueError(f"onbekende status {flt.status!r}")
            if flt.status != Status.NEW and self._fewer_than(SPARSE, "SELECT 1 FROM reviews WHERE status = ?", [flt.status]):
                where.append("r.status = ?")   # few: start from the reviews_status index, sort them
            else:
                where.append("coalesce(r.status, 'nieuw') = ?")   # many: walk the page order, check each
            params.append(flt.status)
        if flt.theme:
            where.append("(EXISTS (SELECT 1 FROM post_themes t WHERE t.post_id = p.id AND t.theme = ? AND t.assigned)"
                         " OR EXISTS (SELECT 1 FROM json_each(r.themes) WHERE value = ?))")
            params += [flt.theme, flt.theme]
        if flt.source:
            where.append("EXISTS (SELECT 1 FROM sightings g WHERE g.post_id = p.id"
                         " AND g.source_id = (SELECT id FROM sources WHERE name = ?))")
            params.append(flt.source)
        if flt.language:
            where.append("coalesce(c.language, p.language) = ?")
            params.append(flt.language)
        if flt.date_from:
            where.append(f"{DATE_KEY} >= ?")
            params.append(flt.date_from)
        if flt.date_to:
            # inclusive: everything on that day sorts below the next character after the date
            where.append(f"{DATE_KEY} < ?")
            params.append(flt.date_to + "~")
        return where, params

    def items(self, post_ids: list[int]) -> list[QueueItem]:
        """Everything the queue shows about these posts, in the order given."""
        if not post_ids:
            return []
        marks = ", ".join("?" * len(post_ids))
        rows = self.db.execute(
            f"""
            SELECT p.id, p.url, p.title, p.content_html, p.text, p.spoiler_text,
                   coalesce(c.language, p.language), {DATE_KEY},
                   coalesce(a.display_name, a.key), a.profile_url, c.confidence, c.is_dutch, c.reasons
            FROM posts p LEFT JOIN authors a ON a.id = p.author_id
                 LEFT JOIN classifications c ON c.post_id = p.id
            WHERE p.id IN ({marks})
            """,
            post_ids,
        ).fetchall()
        sources: dict[int, list[str]] = {}
        for post_id, name in self.db.execute(
            f"SELECT g.post_id, s.name FROM sightings g JOIN sources s ON s.id = g.source_id"
            f" WHERE g.post_id IN ({marks}) ORDER BY s.name", post_ids,
        ):
            sources.setdefault(post_id, []).append(name)
        scores: dict[int, list[tuple[str, float, int]]] = {}
        for post_id, theme, score, assigned in self.db.execute(
            f"SELECT post_id, theme, score, assigned FROM post_themes WHERE post_id IN ({marks})"
            " ORDER BY post_id, score DESC", post_ids,
        ):
            scores.setdefault(post_id, []).append((theme, score, assigned))
        states = {
            r[0]: self._state(r[1:]) for r in self.db.execute(
                "SELECT r.post_id, r.status, r.themes, r.reject_reason, r.duplicate_of, r.note, r.version, u.name,"
                f" r.updated_at FROM reviews r LEFT JOIN users u ON u.id = r.updated_by WHERE r.post_id IN ({marks})",
                post_ids,
            )
        }
        by_id = {}
        for r in rows:
            reasons = json.loads(r[12]) if r[12] else {}
            suggestions = [
                Suggestion(theme, score, bool(assigned), tuple(reasons.get(theme, ())))
                for theme, score, assigned in scores.get(r[0], [])
            ]
            by_id[r[0]] = QueueItem(
                *r[:10], sources=sources.get(r[0], []), suggestions=suggestions, confidence=r[10],
                is_dutch=None if r[11] is None else bool(r[11]), review=states.get(r[0], ReviewState()),
            )
        return [by_id[i] for i in post_ids if i in by_id]

    def item(self, post_id: int) -> QueueItem | None:
        found = self.items([post_id])
        return found[0] if found else None

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

    def duplicate_candidates(self, post_id: int, limit: int = 5) -> list[Candidate]:
        """Posts most like this one: full-text search on its rarest shared words, best bm25 first."""
        row = self.db.execute("SELECT coalesce(title, '') || ' ' || text FROM posts WHERE id = ?", [post_id]).fetchone()
        if row is None:
            return []
        # the post's longest words, then the rarest of those that other posts share (counting stops at COMMON)
        words = sorted({_fold(w) for w in re.findall(r"\w{4,}", row[0])}, key=lambda w: (-len(w), w))[:40]
        counted = []
        for word in words:
            n = self.db.execute(
                "SELECT count(*) FROM (SELECT 1 FROM posts_fts WHERE posts_fts MATCH ? LIMIT ?)",
                [f'"{word}"', COMMON]).fetchone()[0]
            if 1 < n < COMMON:
                counted.append((n, word))
        rare = [word for _, word in sorted(counted)[:8]]
        if not rare:
            return []
        ids = [
            r[0] for r in self.db.execute(
                "SELECT rowid FROM posts_fts WHERE posts_fts MATCH ? AND rowid != ? ORDER BY rank LIMIT ?",
                [" OR ".join(f'"{t}"' for t in rare), post_id, limit],
            )
        ]
        if not ids:
            return []
        found = {
            r[0]: Candidate(*r[:4], Status(r[4])) for r in self.db.execute(
                f"SELECT p.id, p.title, p.text, {DATE_KEY}, coalesce(r.status, 'nieuw') FROM posts p"
                f" LEFT JOIN reviews r ON r.post_id = p.id WHERE p.id IN ({', '.join('?' * len(ids))})", ids,
            )
        }
        return [found[i] for i in ids if i in found]

    def overview(self, *, weeks: int = 12, today: str | None = None) -> Overview:
        """Counts for the overview page; the chart and the source ranking cover the last `weeks` weeks."""
        ov = Overview()
        ov.total = self.db.execute("SELECT count(*) FROM posts").fetchone()[0]
        ov.unclassified = ov.total - self.db.execute("SELECT count(*) FROM classifications").fetchone()[0]
        reviewed = dict(self.db.execute("SELECT status, count(*) FROM reviews GROUP BY status").fetchall())
        ov.per_status = {s: reviewed.get(s, 0) for s in Status}
        ov.per_status[Status.NEW] = ov.total - sum(v for s, v in reviewed.items() if s != Status.NEW)
        # one index range per theme: far cheaper than grouping every (post, theme) row
        themes = [r[0] for r in self.db.execute(
            "WITH RECURSIVE t(theme) AS (SELECT min(theme) FROM post_themes UNION ALL"
            " SELECT (SELECT min(theme) FROM post_themes WHERE theme > t.theme) FROM t WHERE t.theme IS NOT NULL)"
            " SELECT theme FROM t WHERE theme IS NOT NULL")]
        ov.suggested_per_theme = {
            theme: n for theme in themes
            if (n := self.db.execute("SELECT count(*) FROM post_themes WHERE theme = ? AND assigned = 1",
                                     [theme]).fetchone()[0])
        }
        ov.accepted_per_theme = dict(self.db.execute(
            "SELECT j.value, count(*) FROM reviews r, json_each(r.themes) j"
            " WHERE r.status = 'geaccepteerd' GROUP BY j.value").fetchall())
        today = today or utcnow()[:10]
        first = self.db.execute("SELECT date(?, '-6 days', 'weekday 1', ?)",
                                [today, f"-{7 * (weeks - 1)} days"]).fetchone()[0]
        ov.weeks = [
            r[0] for r in self.db.execute(
                "WITH RECURSIVE w(d) AS (SELECT ? UNION ALL SELECT date(d, '+7 days') FROM w WHERE d < date(?, '-6 days'))"
                " SELECT d FROM w", [first, today],
            )
        ]
        # a post's themes: the editor's when accepted, none when rejected or a duplicate, else the model's
        for theme, week, n in self.db.execute(
            f"""
            WITH recent AS (
                SELECT p.id, date({DATE_KEY}, '-6 days', 'weekday 1') AS week, r.status, r.themes
                FROM posts p LEFT JOIN reviews r ON r.post_id = p.id WHERE {DATE_KEY} >= ?
            )
            SELECT t.theme, week, count(*) FROM recent JOIN post_themes t ON t.post_id = recent.id AND t.assigned = 1
                WHERE coalesce(recent.status, 'nieuw') = 'nieuw' GROUP BY t.theme, week
            UNION ALL
            SELECT j.value, week, count(*) FROM recent, json_each(recent.themes) j
                WHERE recent.status = 'geaccepteerd' GROUP BY j.value, week
            """,
            [first],
        ):
            per = ov.per_week.setdefault(theme, {})
            per[week] = per.get(week, 0) + n
        ov.sources = [
            tuple(r) for r in self.db.execute(
                f"SELECT s.name, count(*) FROM posts p CROSS JOIN sightings g ON g.post_id = p.id"
                f" JOIN sources s ON s.id = g.source_id WHERE {DATE_KEY} >= ?"
                " GROUP BY s.id ORDER BY count(*) DESC, s.name LIMIT 10", [first],
            )
        ]
        ov.agreement = self.agreement(first)
        return ov

    def agreement(self, since: str) -> dict[str, tuple[int, int]]:
        """Per week (its Monday) since `since`: of the posts first decided that week and now accepted or
        rejected, how many (agreed, decided). A decision agrees when the editor's themes now are the
        themes the model had assigned when the post was first decided (rejected: none); posts that were
        not classified then are left out."""
        weeks: dict[str, tuple[int, int]] = {}
        for week, status, themes, suggested in self.db.execute(
            "SELECT date(e.at, '-6 days', 'weekday 1'), r.status, r.themes, e.suggested"
            " FROM reviews r JOIN review_events e ON e.id = (SELECT min(f.id) FROM review_events f"
            "   WHERE f.post_id = r.post_id AND f.action IN ('accept', 'set_themes', 'reject'))"
            " WHERE r.status IN ('geaccepteerd', 'afgewezen') AND e.suggested IS NOT NULL AND e.at >= ?",
            [since],
        ):
            final = set(json.loads(themes)) if status == Status.ACCEPTED else set()
            agreed, decided = weeks.get(week, (0, 0))
            weeks[week] = (agreed + (final == set(json.loads(suggested))), decided + 1)
        return weeks

    # ---- deciding ------------------------------------------------------------------------

    def decide(self, post_id: int, user: User, expected_version: int, action: str, *,
               themes: list[str] | None = None, reason: str | None = None,
               duplicate_of: int | None = None, note: str | None = None) -> ReviewState:
        """Apply one decision, if the post is still at `expected_version`; returns the new state.

        accept: status geaccepteerd with `themes`, or the model's suggestion when none are given;
        set_themes: geaccepteerd with exactly `themes`; reject: afgewezen for `reason`;
        duplicate: duplicaat of post `duplicate_of`; note: only the note; reopen: back to nieuw;
        undo: restore the state before the latest decision not yet undone.
        """
        if not Action.has(action):
            raise ValueError(f"onbekende actie {action!r}")
        with self.db.atomic():
            return self._decide(post_id, user, expected_version, action, themes, reason, duplicate_of, note)

    def decide_many(self, versions: dict[int, int], user: User, action: str, **kwargs) -> tuple[list[int], list[StaleReview]]:
        """The same decision on several posts in one transaction; stale ones are skipped and returned."""
        done, stale = [], []
        with self.db.atomic():
            for post_id, version in versions.items():
                try:
                    self._decide(post_id, user, version, action, kwargs.get("themes"), kwargs.get("reason"),
                                 kwargs.get("duplicate_of"), kwargs.get("note"))
                    done.append(post_id)
                except StaleReview as e:
                    stale.append(e)
        return done, stale

    def _decide(self, post_id, user, expected_version, action, themes, reason, duplicate_of, note) -> ReviewState:
        if self.db.execute("SELECT 1 FROM posts WHERE id = ?", [post_id]).fetchone() is None:
            raise KeyError(post_id)
        current = self.state(post_id)
        if current.version != expected_version:
            raise StaleReview(post_id, current)
        undoes = None
        if action == Action.ACCEPT:
            chosen = tuple(themes) if themes else self._suggested(post_id)
            after = replace(current, status=Status.ACCEPTED, themes=chosen, reject_reason=None, duplicate_of=None)
        elif action == Action.SET_THEMES:
            after = replace(current, status=Status.ACCEPTED, themes=tuple(dict.fromkeys(themes or ())),
                            reject_reason=None, duplicate_of=None)
        elif action == Action.REJECT:
            if reason not in REJECT_REASONS:
                raise ValueError(f"onbekende reden {reason!r}")
            after = replace(current, status=Status.REJECTED, themes=(), reject_reason=reason, duplicate_of=None)
        elif action == Action.DUPLICATE:
            if duplicate_of == post_id or self.db.execute(
                    "SELECT 1 FROM posts WHERE id = ?", [duplicate_of]).fetchone() is None:
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
        return replace(after, version=expected_version + 1, updated_by=user.name, updated_at=now)

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

    def _suggested(self, post_id: int) -> tuple[str, ...]:
        return tuple(r[0] for r in self.db.execute(
            "SELECT theme FROM post_themes WHERE post_id = ? AND assigned = 1 ORDER BY score DESC", [post_id]))


def _split_cursor(cursor: str) -> tuple[str, int]:
    value, _, last_id = cursor.rpartition("|")
    if not value or not re.fullmatch(r"[0-9]{1,19}", last_id) or int(last_id) >= 2**63:
        raise ValueError(f"ongeldige cursor {cursor!r}")
    return value, int(last_id)
