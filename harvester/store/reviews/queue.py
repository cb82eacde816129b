"""The review queue: pages of posts under a filter, and the posts most like a given one.

The queue is read with keyset pagination along an index (date, or model confidence), never
counting all matches, so a page costs about the same on the first page as on the thousandth.
Duplicate candidates come from the full-text index, searched on a post's rarest shared words.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass

import sqlite_utils

from ...models import Status
from ...timeutil import dutch_day_start
from .decisions import STATE_COLUMNS, ReviewState, review_state
from .search import search_query

SORTS = ("date", "confidence")
# a filter matching fewer rows than this is evaluated first and its rows sorted
SPARSE = 2000
# words in more posts than this say little about which post is a duplicate
COMMON = 1000

# must match the index posts_queue_date in schema.py
DATE_KEY = "coalesce(p.published_at, p.first_seen_at)"

@dataclass(frozen=True)
class QueueFilter:
    status: str | None = Status.NEW    # None: every status
    theme: str | None = None           # suggested by the model or chosen by an editor
    source: str | None = None          # source name
    language: str | None = None        # detected, else declared
    date_from: str | None = None       # YYYY-MM-DD, inclusive, a day in Dutch time
    date_to: str | None = None         # YYYY-MM-DD, inclusive, a day in Dutch time
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
    sources: list[str]
    suggestions: list[Suggestion]
    confidence: float | None
    is_dutch: bool | None
    review: ReviewState
    changed_at: str                    # when its text last changed: a decision names it (StaleReview)


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


def _fold(word: str) -> str:
    """A word as FTS5's unicode61 tokenizer stores it: lower case, without diacritics."""
    return "".join(c for c in unicodedata.normalize("NFKD", word.lower()) if not unicodedata.combining(c))


class QueueStore:
    def __init__(self, db: sqlite_utils.Database):
        self.db = db

    def queue(self, flt: QueueFilter, *, after: str | None = None, limit: int = 25) -> QueuePage:
        """One page of the queue under a filter; `after` is the previous page's next_cursor.

        Each page walks an index in the page's order and checks the filters row by row, stopping
        at `limit`: cheap while matches are common. A filter that matches few posts (a rare
        status, a rare search word) is instead evaluated first and its few rows sorted. A search
        in date order walks the full-text index itself, newest collected (highest id) first.
        """
        key, base, where, params, order = self._select(flt, after)
        sql = (f"SELECT p.id, {key} {base} WHERE {' AND '.join(where) or '1'}"
               f" ORDER BY {order} LIMIT {int(limit) + 1}")
        rows = self.db.execute(sql, params).fetchall()
        more = len(rows) > limit
        rows = rows[:limit]
        items = self.items([r[0] for r in rows])
        cursor = f"{rows[-1][1]}|{rows[-1][0]}" if more and rows else None
        return QueuePage(items, cursor)

    def _select(self, flt: QueueFilter, after: str | None = None) -> tuple[str, str, list[str], list, str]:
        """The parts of the query behind `queue` (sort key, FROM, WHERE terms, parameters, ORDER BY);
        the tables are p (posts), r (reviews) and c (classifications). A search is on the posts'
        lemmas (search.py); SearchError when it asks for nothing findable."""
        where, params = self._where(flt)
        query = search_query(flt.query or "")
        if query and flt.sort == "date":
            key, order = "p.id", "f.rowid DESC"
            base = ("FROM posts_fts_lemmas f CROSS JOIN posts p ON p.id = f.rowid LEFT JOIN reviews r ON r.post_id = p.id"
                    " LEFT JOIN classifications c ON c.post_id = p.id")
            where.append("posts_fts_lemmas MATCH ?")
            params.append(query)
            if after:
                where.append("f.rowid < ?")
                params.append(_split_cursor(after)[1])
        elif flt.sort == "confidence":
            key, order = "c.confidence", "c.confidence ASC, c.post_id ASC"
            base = "FROM classifications c JOIN posts p ON p.id = c.post_id LEFT JOIN reviews r ON r.post_id = p.id"
            if query:
                if self._fewer_than(SPARSE, "SELECT 1 FROM posts_fts_lemmas WHERE posts_fts_lemmas MATCH ?", [query]):
                    where.append("c.post_id IN (SELECT rowid FROM posts_fts_lemmas WHERE posts_fts_lemmas MATCH ?)")
                else:
                    where.append("EXISTS (SELECT 1 FROM posts_fts_lemmas f WHERE posts_fts_lemmas MATCH ?"
                                 " AND f.rowid = c.post_id)")
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
        return key, base, where, params, order

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
        # days in Dutch time, like the times the app shows and the exports' days
        if flt.date_from:
            where.append(f"{DATE_KEY} >= ?")
            params.append(dutch_day_start(flt.date_from))
        if flt.date_to:
            where.append(f"{DATE_KEY} < ?")
            params.append(dutch_day_start(flt.date_to, days_later=1))
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
                   coalesce(a.display_name, a.handle, a.key), c.confidence, c.is_dutch, c.reasons, p.changed_at
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
            r[0]: review_state(r[1:]) for r in self.db.execute(
                f"SELECT r.post_id, {STATE_COLUMNS} FROM reviews r LEFT JOIN users u ON u.id = r.updated_by"
                f" WHERE r.post_id IN ({marks})",
                post_ids,
            )
        }
        by_id = {}
        for r in rows:
            reasons = json.loads(r[11]) if r[11] else {}
            suggestions = [
                Suggestion(theme, score, bool(assigned), tuple(reasons.get(theme, ())))
                for theme, score, assigned in scores.get(r[0], [])
            ]
            by_id[r[0]] = QueueItem(
                *r[:9], sources=sources.get(r[0], []), suggestions=suggestions, confidence=r[9],
                is_dutch=None if r[10] is None else bool(r[10]), review=states.get(r[0], ReviewState()),
                changed_at=r[12],
            )
        return [by_id[i] for i in post_ids if i in by_id]

    def item(self, post_id: int) -> QueueItem | None:
        found = self.items([post_id])
        return found[0] if found else None

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


def _split_cursor(cursor: str) -> tuple[str, int]:
    value, _, last_id = cursor.rpartition("|")
    if not value or not re.fullmatch(r"[0-9]{1,19}", last_id) or int(last_id) >= 2**63:
        raise ValueError(f"ongeldige cursor {cursor!r}")
    return value, int(last_id)
