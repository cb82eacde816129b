"""Initiatives: the matches and candidate terms of each post, the editors' decisions on candidates,
and the counts and network the "Initiatieven" pages read.

The store keeps what harvester.initiatives decided; it matches nothing itself. Matches carry the
digest of the catalogue they were made with (`initiative_matching`): `reset` clears them when the
catalogue changed, after which every post is pending again.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

import sqlite_utils

from ..errors import UsageError
from ..models import InitiativeEdge as Edge, InitiativeStats
from ..timeutil import utcnow
from .reviews.decisions import REJECTED_AS_SPAM
from .users import User

# a post's place in time wherever it is shown: when it was published, else when it was first seen
_WHEN = "coalesce(p.published_at, p.first_seen_at)"
# posts the editors rejected as spam count nowhere: not in the counts, the network or the candidates
_NOT_SPAM = f"NOT EXISTS (SELECT 1 FROM reviews r WHERE r.post_id = {{post}} AND {REJECTED_AS_SPAM})"


class AlreadyDecided(UsageError):
    """Another editor decided on this candidate first."""


@dataclass(frozen=True)
class PendingPost:
    """A post as matching reads it (lists as stored: JSON text)."""

    id: int
    title: str | None
    text: str
    tags: list[str]
    mentions: list[str]
    links: list[str]
    author: str | None                # the account as people write it: a Bluesky handle, not the DID
    published: str
    changed_at: str                   # the change read: its matches record it (`save`)


@dataclass(frozen=True)
class PostMatch:
    """What matching found in one post, as the store keeps it."""

    post_id: int
    published: str
    matches: Sequence[tuple[str, str, str]]      # (initiative, via, evidence)
    terms: Sequence[tuple[str, str, str]]        # (kind, term, label)


@dataclass(frozen=True)
class CandidateRow:
    kind: str
    term: str
    label: str
    posts: int
    authors: int
    last_seen: str | None
    examples: list[int]                         # a few post ids, newest first


@dataclass(frozen=True)
class DecisionRow:
    kind: str
    term: str
    label: str
    decision: str
    initiative: str | None
    decided_by: str | None
    decided_at: str


@dataclass(frozen=True)
class InitiativePost:
    post_id: int
    title: str | None
    text: str
    author: str | None
    published: str
    via: str
    evidence: str


class InitiativeStore:
    def __init__(self, db: sqlite_utils.Database):
        self.db = db

    # ---- the Matcher's digest ------------------------------------------------------------

    def digest(self) -> str | None:
        row = self.db.execute("SELECT catalogue_digest FROM initiative_matching WHERE id = 1").fetchone()
        return row[0] if row else None

    def reset(self, digest: str) -> None:
        """Forget every match and term: they were made under another Matcher digest (catalogue,
        consultation tags or matching rules); `digest` is the new one."""
        with self.db.atomic():
            for table in ("matched_posts", "post_initiatives", "post_terms"):
                self.db.execute(f"DELETE FROM {table}")
            self.db.execute("INSERT INTO initiative_matching (id, catalogue_digest, matched_through, summarised_at)"
                            " VALUES (1, ?, '', NULL) ON CONFLICT (id) DO UPDATE SET"
                            " catalogue_digest = excluded.catalogue_digest, matched_through = '', summarised_at = NULL",
                            [digest])

    # ---- matching ------------------------------------------------------------------------

    def matched_through(self) -> str:
        """Every post changed before this time is matched ('': none is known to be)."""
        row = self.db.execute("SELECT matched_through FROM initiative_matching WHERE id = 1").fetchone()
        return row[0] if row else ""

    def set_matched_through(self, at: str) -> None:
        self.db.execute("UPDATE initiative_matching SET matched_through = ?", [at])
        self.db.conn.commit()

    def _pending(self, since: str) -> str:
        # after the first pass only posts changed since it can be pending: the index on changed_at finds them.
        # A post's matches are current while they were made from its current change.
        source = "posts p INDEXED BY posts_changed_at" if since else "posts p"
        return (f"FROM {source} LEFT JOIN matched_posts m ON m.post_id = p.id"
                " WHERE p.changed_at > ? AND (m.post_id IS NULL OR m.post_changed_at <> p.changed_at)")

    def count_pending(self) -> int:
        since = self.matched_through()
        return self.db.execute(f"SELECT count(*) {self._pending(since)}", [since]).fetchone()[0]

    def pending(self, *, limit: int, after_id: int = 0) -> list[PendingPost]:
        """Posts not matched with the current catalogue, or changed since, in id order."""
        since = self.matched_through()
        rows = self.db.execute(
            f"""SELECT p.id, p.title, p.text,
                       (SELECT json_group_array(tag) FROM post_tags WHERE post_id = p.id), p.mentions, p.links,
                       (SELECT coalesce(handle, key) FROM authors WHERE id = p.author_id), {_WHEN}, p.changed_at
                {self._pending(since)} AND p.id > ? ORDER BY p.id LIMIT ?""", [since, after_id, limit]).fetchall()
        return [PendingPost(r[0], r[1], r[2], json.loads(r[3]), json.loads(r[4]), json.loads(r[5]), r[6], r[7], r[8])
                for r in rows]

    def save(self, results: Sequence[PostMatch], seen: Mapping[int, str] | None = None) -> None:
        """Replace the matches and terms of these posts. `seen`: per post the `changed_at` of the
        text matched (`PendingPost.changed_at`), so a post edited after it was read stays pending;
        a post not in it is taken as it is now. Posts deleted meanwhile are skipped."""
        seen = seen or {}
        with self.db.atomic():
            conn = self.db.conn
            ids = json.dumps([r.post_id for r in results])
            existing = {row[0] for row in conn.execute("SELECT id FROM posts WHERE id IN (SELECT value FROM json_each(?))",
                                                       [ids])}
            results = [r for r in results if r.post_id in existing]
            ids = json.dumps([r.post_id for r in results])
            conn.execute("DELETE FROM post_initiatives WHERE post_id IN (SELECT value FROM json_each(?))", [ids])
            conn.execute("DELETE FROM post_terms WHERE post_id IN (SELECT value FROM json_each(?))", [ids])
            conn.executemany("INSERT INTO post_initiatives (post_id, initiative, via, evidence, published)"
                             " VALUES (?, ?, ?, ?, ?)",
                             [(r.post_id, *m, r.published) for r in results for m in r.matches])
            conn.executemany("INSERT OR IGNORE INTO post_terms (post_id, kind, term, label) VALUES (?, ?, ?, ?)",
                             [(r.post_id, *t) for r in results for t in r.terms])
            conn.executemany("INSERT INTO matched_posts (post_id, post_changed_at)"
                             " SELECT ?, coalesce(?, changed_at) FROM posts WHERE id = ?"
                             " ON CONFLICT (post_id) DO UPDATE SET post_changed_at = excluded.post_changed_at",
                             [(r.post_id, seen.get(r.post_id), r.post_id) for r in results])
            if results:
                conn.execute("UPDATE initiative_matching SET summarised_at = NULL")

    # ---- the summary the pages read ------------------------------------------------------

    def needs_summary(self) -> bool:
        row = self.db.execute("SELECT summarised_at FROM initiative_matching WHERE id = 1").fetchone()
        return row is not None and row[0] is None

    def summarised_at(self) -> str | None:
        row = self.db.execute("SELECT summarised_at FROM initiative_matching WHERE id = 1").fetchone()
        return row[0] if row else None

    def match_rows(self) -> Iterator[tuple[int, int | None, str, str]]:
        """(post id, author id, initiative, published) of every match, by post; posts the editors
        rejected as spam do not count."""
        yield from self.db.execute(
            "SELECT i.post_id, p.author_id, i.initiative, i.published FROM post_initiatives i"
            f" JOIN posts p ON p.id = i.post_id WHERE {_NOT_SPAM.format(post='i.post_id')} ORDER BY i.post_id")

    def theme_counts(self) -> dict[str, dict[str, int]]:
        """initiative -> theme -> posts: a reviewed post with the editor's themes, another with the model's."""
        rows = self.db.execute(
            """SELECT i.initiative, t.theme, count(*) FROM post_initiatives i JOIN (
                   SELECT r.post_id, j.value AS theme FROM reviews r, json_each(r.themes) j WHERE r.status = 'geaccepteerd'
                   UNION
                   SELECT pt.post_id, pt.theme FROM post_themes pt WHERE pt.assigned
                   AND NOT EXISTS (SELECT 1 FROM reviews r WHERE r.post_id = pt.post_id AND r.status <> 'nieuw')
               ) t ON t.post_id = i.post_id GROUP BY i.initiative, t.theme""")
        counts: dict[str, dict[str, int]] = {}
        for initiative, theme, n in rows:
            counts.setdefault(initiative, {})[theme] = n
        return counts

    def save_summary(self, stats: Sequence[InitiativeStats], edges: Sequence[Edge], *, min_authors: int) -> None:
        """Replace the counts, the network and the candidates (terms used by `min_authors` or more
        authors, in posts not rejected as spam)."""
        with self.db.atomic():
            conn = self.db.conn
            conn.execute("DELETE FROM initiative_stats")
            conn.executemany("INSERT INTO initiative_stats (initiative, posts, authors, first_seen, last_seen, themes)"
                             " VALUES (?, ?, ?, ?, ?, ?)",
                             [(s.initiative, s.posts, s.authors, s.first_seen, s.last_seen,
                               json.dumps(s.themes, ensure_ascii=False)) for s in stats])
            conn.execute("DELETE FROM initiative_edges")
            conn.executemany("INSERT INTO initiative_edges (source, target, posts, together, authors)"
                             " VALUES (?, ?, ?, ?, ?)",
                             [(e.source, e.target, e.posts, e.together, e.authors) for e in edges])
            conn.execute("DELETE FROM initiative_candidates")
            conn.execute(
                f"""INSERT INTO initiative_candidates (kind, term, label, posts, authors, last_seen)
                    SELECT t.kind, t.term,
                           (SELECT x.label FROM post_terms x WHERE x.kind = t.kind AND x.term = t.term
                            GROUP BY x.label ORDER BY count(*) DESC, x.label LIMIT 1),
                           count(*), count(DISTINCT coalesce(p.author_id, -p.id)), max({_WHEN})
                    FROM post_terms t JOIN posts p ON p.id = t.post_id WHERE {_NOT_SPAM.format(post='t.post_id')}
                    GROUP BY t.kind, t.term HAVING count(DISTINCT coalesce(p.author_id, -p.id)) >= ?""",
                [min_authors])
            conn.execute("UPDATE initiative_matching SET summarised_at = ?", [utcnow()])

    def stats(self) -> list[InitiativeStats]:
        rows = self.db.execute("SELECT initiative, posts, authors, first_seen, last_seen, themes FROM initiative_stats"
                               " ORDER BY posts DESC, initiative").fetchall()
        return [InitiativeStats(*r[:5], json.loads(r[5])) for r in rows]

    def edges(self) -> list[Edge]:
        rows = self.db.execute("SELECT source, target, posts, together, authors FROM initiative_edges"
                               " ORDER BY posts DESC, source, target").fetchall()
        return [Edge(*r) for r in rows]

    def posts_of(self, initiative: str, *, limit: int, before: tuple[str, int] | None = None) -> list[InitiativePost]:
        """The posts naming `initiative`, newest first, as they count: not those rejected as spam;
        `before` (published, post id) pages on."""
        where, params = f"i.initiative = ? AND {_NOT_SPAM.format(post='i.post_id')}", [initiative]
        if before is not None:
            where += " AND (i.published, i.post_id) < (?, ?)"
            params += list(before)
        rows = self.db.execute(
            f"""SELECT i.post_id, p.title, p.text, coalesce(nullif(a.display_name, ''), a.handle, a.key), i.published, i.via, i.evidence
                FROM post_initiatives i JOIN posts p ON p.id = i.post_id LEFT JOIN authors a ON a.id = p.author_id
                WHERE {where} ORDER BY i.published DESC, i.post_id DESC LIMIT ?""", [*params, limit]).fetchall()
        return [InitiativePost(*r) for r in rows]

    def initiatives_of(self, post_id: int) -> list[tuple[str, str, str]]:
        """(initiative, via, evidence) of one post."""
        return [tuple(r) for r in self.db.execute(
            "SELECT initiative, via, evidence FROM post_initiatives WHERE post_id = ? ORDER BY initiative", [post_id])]

    # ---- candidates and decisions --------------------------------------------------------

    def candidates(self, *, limit: int, examples: int = 3) -> list[CandidateRow]:
        """Undecided candidates, those used by most authors first."""
        rows = self.db.execute(
            "SELECT c.kind, c.term, c.label, c.posts, c.authors, c.last_seen FROM initiative_candidates c"
            " WHERE NOT EXISTS (SELECT 1 FROM initiative_decisions d WHERE d.kind = c.kind AND d.term = c.term)"
            " ORDER BY c.authors DESC, c.posts DESC, c.kind, c.term LIMIT ?", [limit]).fetchall()
        return [CandidateRow(*r, self._examples(r[0], r[1], examples) if examples else []) for r in rows]

    def candidate_count(self) -> int:
        return self.db.execute(
            "SELECT count(*) FROM initiative_candidates c WHERE NOT EXISTS (SELECT 1 FROM initiative_decisions d"
            " WHERE d.kind = c.kind AND d.term = c.term)").fetchone()[0]

    def candidate(self, kind: str, term: str) -> CandidateRow | None:
        row = self.db.execute("SELECT kind, term, label, posts, authors, last_seen FROM initiative_candidates"
                              " WHERE kind = ? AND term = ?", [kind, term]).fetchone()
        return CandidateRow(*row, self._examples(kind, term, 3)) if row else None

    def _examples(self, kind: str, term: str, limit: int) -> list[int]:
        return [r[0] for r in self.db.execute(
            "SELECT t.post_id FROM post_terms t WHERE t.kind = ? AND t.term = ?"
            f" AND {_NOT_SPAM.format(post='t.post_id')} ORDER BY t.post_id DESC LIMIT ?", [kind, term, limit])]

    def decide(self, kind: str, term: str, label: str, decision: str, initiative: str | None, user: User) -> None:
        """Record an editor's decision on a candidate and its line in the audit trail, together.
        AlreadyDecided when someone decided on it first."""
        now = utcnow()
        with self.db.atomic():
            if self.db.execute("SELECT 1 FROM initiative_decisions WHERE kind = ? AND term = ?", [kind, term]).fetchone():
                raise AlreadyDecided(f"Over {label} is al beslist.")
            self.db.execute("INSERT INTO initiative_decisions (kind, term, label, decision, initiative, decided_by,"
                            " decided_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                            [kind, term, label, decision, initiative, user.id, now])
            after = {"kind": kind, "term": term, "label": label, "decision": decision, "initiative": initiative}
            self.db.execute("INSERT INTO review_events (post_id, user_id, actor, at, action, before, after)"
                            " VALUES (NULL, ?, ?, ?, ?, NULL, ?)",
                            [user.id, user.name, now, f"initiative_{decision}", json.dumps(after, ensure_ascii=False)])

    def undo(self, kind: str, term: str, user: User) -> DecisionRow | None:
        """Take an editor's decision back (the candidate is proposed again, a confirmed initiative or
        alias goes at the next pass), audited like the decision; None when there was none."""
        now = utcnow()
        with self.db.atomic():
            row = self.db.execute("SELECT kind, term, label, decision, initiative FROM initiative_decisions"
                                  " WHERE kind = ? AND term = ?", [kind, term]).fetchone()
            if row is None:
                return None
            self.db.execute("DELETE FROM initiative_decisions WHERE kind = ? AND term = ?", [kind, term])
            before = dict(zip(("kind", "term", "label", "decision", "initiative"), row))
            self.db.execute("INSERT INTO review_events (post_id, user_id, actor, at, action, before, after)"
                            " VALUES (NULL, ?, ?, ?, 'initiative_undo', ?, NULL)",
                            [user.id, user.name, now, json.dumps(before, ensure_ascii=False)])
        return DecisionRow(*row, None, now)

    def decisions(self) -> list[DecisionRow]:
        rows = self.db.execute(
            "SELECT d.kind, d.term, d.label, d.decision, d.initiative, u.name, d.decided_at"
            " FROM initiative_decisions d LEFT JOIN users u ON u.id = d.decided_by ORDER BY d.decided_at, d.kind, d.term"
        ).fetchall()
        return [DecisionRow(*r) for r in rows]

    def unmatch(self, post_ids: list[int]) -> None:
        """These posts' matches and candidate terms go (their words or author changed: a
        pseudonymisation); the next pass looks at every post again and matches them anew."""
        ids = json.dumps(post_ids)
        for table in ("matched_posts", "post_initiatives", "post_terms"):
            self.db.execute(f"DELETE FROM {table} WHERE post_id IN (SELECT value FROM json_each(?))", [ids])
        self.db.execute("UPDATE initiative_matching SET matched_through = ''")

    def forget_accounts(self, accts: list[str], blank: str) -> None:
        """A forgotten author's account (Mastodon acct, Bluesky handle or DID) leaves the candidates,
        the decisions, the evidence of matches and the audit trail of decisions on it (its term and
        label become `blank`; call inside the forget's transaction); the posts that named it are
        matched again. An initiative an editor named after the account goes too, with every
        decision adding to it, its matches and counts (the audit trail keeps `blank` for its name):
        that initiative is the person."""
        accts_json = json.dumps(sorted(a.lower() for a in accts))
        for column in ("before", "after"):
            initiative = f"json_extract({column}, '$.initiative')"
            self.db.execute(
                f"UPDATE review_events SET {column} = json_set({column}, '$.term', ?2, '$.label', ?2)"
                f" WHERE action LIKE 'initiative%' AND {column} IS NOT NULL"
                f" AND json_extract({column}, '$.kind') = 'account'"
                f" AND lower(json_extract({column}, '$.term')) IN (SELECT value FROM json_each(?1))",
                [accts_json, blank])
            self.db.execute(
                f"UPDATE review_events SET {column} = json_set({column}, '$.initiative', ?2)"
                f" WHERE action LIKE 'initiative%' AND {column} IS NOT NULL"
                f" AND {_forgotten(initiative)}",
                [accts_json, blank])
        # those posts did not change, so the next pass must look at every post again
        self.db.execute("UPDATE initiative_matching SET matched_through = ''")
        for sql in (
            "DELETE FROM matched_posts WHERE post_id IN (SELECT post_id FROM post_terms WHERE kind = 'account'"
            " AND term IN (SELECT value FROM json_each(?1)) UNION SELECT post_id FROM post_initiatives"
            " WHERE via = 'account' AND evidence IN (SELECT value FROM json_each(?1))"
            f" UNION SELECT post_id FROM post_initiatives WHERE {_forgotten('initiative')})",
            "DELETE FROM post_terms WHERE kind = 'account' AND term IN (SELECT value FROM json_each(?1))",
            "DELETE FROM post_initiatives WHERE via = 'account' AND evidence IN (SELECT value FROM json_each(?1))"
            f" OR {_forgotten('initiative')}",
            "DELETE FROM initiative_candidates WHERE kind = 'account' AND term IN (SELECT value FROM json_each(?1))",
            "DELETE FROM initiative_decisions WHERE kind = 'account' AND term IN (SELECT value FROM json_each(?1))"
            f" OR {_forgotten('initiative')}",
            f"DELETE FROM initiative_stats WHERE {_forgotten('initiative')}",
            f"DELETE FROM initiative_edges WHERE {_forgotten('source')} OR {_forgotten('target')}",
        ):
            self.db.execute(sql, [accts_json])


def _forgotten(expression: str) -> str:
    """SQL: `expression` is one of the forgotten accounts in ?1 (a JSON list), with or without '@'."""
    return f"lower(ltrim({expression}, '@')) IN (SELECT value FROM json_each(?1))"
