"""Retention: posts no editor accepted are removed after `[privacy] retention_days`; accepted ones
lose their author (a pseudonym instead) after `[privacy] pseudonymize_accepted_after_days`.

Removal must really remove: rows go (tags, sightings, classifications, theme scores and reviews by
cascade, the full-text entries by trigger), the FTS index is merged so no old segment still holds
the words, and VACUUM rewrites the file so no free page does either (secure_delete zeroes what it
can; VACUUM covers the rest). The caller compacts (`compact`) once after purging and pseudonymising,
so a day's work costs one VACUUM.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass

import sqlite_utils

from ..dutch import counted
from ..privacy.hashing import canonical
from ..privacy.pseudonyms import PREFIX
from ..timeutil import utcnow
from .groups import GroupStore
from .initiatives import InitiativeStore
from .posts import content_digest

# never accepted: no review at all, or a review with any other status
_EXPIRED = (
    "SELECT p.id, p.key, p.kind, p.url,"
    " (SELECT json_group_array(g.url) FROM sightings g WHERE g.post_id = p.id AND g.url IS NOT NULL)"
    " FROM posts p LEFT JOIN reviews r ON r.post_id = p.id"
    " WHERE p.first_seen_at < ? AND (r.status IS NULL OR r.status != 'geaccepteerd') ORDER BY p.id"
)
# accepted, old, and still under their original key (a pseudonymised post's key starts with PREFIX)
_DUE = (
    "FROM posts p JOIN reviews r ON r.post_id = p.id LEFT JOIN authors a ON a.id = p.author_id"
    f" WHERE r.status = 'geaccepteerd' AND p.first_seen_at < ? AND substr(p.key, 1, {len(PREFIX)}) != '{PREFIX}'"
)


@dataclass(frozen=True)
class ExpiredPost:
    """A post retention removes, with what a harvest could bring it back by."""

    id: int
    key: str
    kind: str
    addresses: tuple[str, ...]        # its web address and those of its sightings, besides its key


@dataclass(frozen=True)
class Pseudonymized:
    """Accepted posts that got (or, in a dry run, would get) a pseudonym instead of their author."""

    posts: list[int]
    authors: int          # distinct original authors among them (posts without an author not counted)


@dataclass(frozen=True)
class Words:
    """What a post says, in every column that may name its author."""

    title: str | None
    text: str
    content_html: str
    spoiler_text: str | None
    links: tuple[str, ...]
    mentions: tuple[str, ...]


@dataclass(frozen=True)
class DuePost:
    """An accepted post due for a pseudonym, with everything that may name its author."""

    id: int
    key: str
    kind: str
    url: str | None
    words: Words
    author_id: int | None
    author_key: str | None
    display_name: str | None
    profile_url: str | None
    bot: bool
    sighted: tuple[str, ...]          # the urls of its sightings (they hold @name)
    handle: str | None = None         # a Bluesky author's handle (the key is the DID)


@dataclass(frozen=True)
class PseudonymPlan:
    """One post's pseudonym as harvester.privacy.retention decided it; the store applies it."""

    post_id: int
    key: str                          # the post's new key (a keyed hash of the old one)
    original_author_id: int | None
    author_key: str | None            # the pseudonym author row's key and name (None: no author)
    author_name: str
    bot: bool
    words: Words
    scrub: Callable[[str], str]       # for the editor's note and the notes in the post's audit events
    tombstones: frozenset[str]        # fingerprints of the old key and addresses


class PrivacyStore:
    def __init__(self, db: sqlite_utils.Database):
        self.db = db

    def expired_posts(self, cutoff: str) -> list[ExpiredPost]:
        """Posts first seen before `cutoff` (ISO 8601 UTC) that no editor accepted."""
        return [ExpiredPost(post_id, key, kind, tuple(sorted({url, *json.loads(sighted)} - {None, key})))
                for post_id, key, kind, url, sighted in self.db.execute(_EXPIRED, [cutoff])]

    def purge(self, post_ids: list[int], tombstones: list[str]) -> None:
        """Delete the posts retention chose and the authors left without posts, and keep the
        tombstones it decided on, so that a source still listing a post does not bring it back.

        A group of ideas left with one post is dissolved with them. One audit event records the
        count only: the trail must not keep what was purged.
        """
        with self.db.atomic():
            self.db.execute(
                "DELETE FROM posts WHERE id IN (SELECT value FROM json_each(?))", [json.dumps(post_ids)])
            self.db.execute(
                "DELETE FROM authors WHERE NOT EXISTS (SELECT 1 FROM posts WHERE posts.author_id = authors.id)")
            GroupStore(self.db).dissolve_lone()
            now = utcnow()
            self.db.conn.executemany(
                "INSERT OR IGNORE INTO suppressions (hash, kind, reason, created_at) VALUES (?, 'post', 'purged', ?)",
                [(h, now) for h in tombstones])
            self._audit("purge", {"count": len(post_ids)})

    def due_for_pseudonym(self, cutoff: str) -> Pseudonymized:
        """Accepted posts first seen before `cutoff` that still carry their author (what a dry run shows)."""
        rows = self.db.execute(f"SELECT p.id, a.key {_DUE} ORDER BY p.id", [cutoff]).fetchall()
        return Pseudonymized([r[0] for r in rows], len({r[1] for r in rows if r[1] is not None}))

    def due_posts(self, cutoff: str) -> list[DuePost]:
        """The accepted posts first seen before `cutoff` that still carry their author, with all that
        names the author (what harvester.privacy.retention plans their pseudonyms from)."""
        rows = self.db.execute(
            "SELECT p.id, p.key, p.kind, p.url, p.title, p.text, p.content_html, p.spoiler_text, p.links, p.mentions,"
            f" a.id, a.key, a.display_name, a.profile_url, a.bot, a.handle {_DUE} ORDER BY p.id", [cutoff]
        ).fetchall()
        return [
            DuePost(*r[:4], Words(*r[4:8], tuple(json.loads(r[8])), tuple(json.loads(r[9]))), *r[10:14], bool(r[14]),
                    tuple(u for (u,) in self.db.execute(
                        "SELECT url FROM sightings WHERE post_id = ? AND url IS NOT NULL", [r[0]])), r[15])
            for r in rows
        ]

    def apply_pseudonyms(self, plans: list[PseudonymPlan]) -> Pseudonymized:
        """Apply what harvester.privacy.retention decided, in one transaction with one audit event.

        Per post: the author becomes the named pseudonym row (created once, shared by that author's
        pseudonymised posts, no profile URL), the original row goes once no post uses it; the key,
        texts, links and mentions become the plan's; the addresses, reply link and status ids go;
        the tombstones keep a new harvest from storing the post again; the editor's note (also in
        the post's audit events) goes through the plan's scrubber. The store's own bookkeeping
        follows: a new content hash (the old one would let anyone confirm a guessed author), and an
        edited text loses the model's reasons (they may quote the name) and counts as changed, so
        the next classification redoes them. The related-ideas terms and the initiative matches of
        the posts go too, to be made again from the new words at the next passes.
        """
        now = utcnow()
        originals: set[int] = set()
        with self.db.atomic():
            for plan in plans:
                post_id = plan.post_id
                title, text, edited_at = self.db.execute(
                    "SELECT title, text, edited_at FROM posts WHERE id = ?", [post_id]).fetchone()
                new_author = None
                if plan.original_author_id is not None:
                    originals.add(plan.original_author_id)
                    new_author = self._pseudonym_author(plan.author_key or "", plan.author_name, plan.bot, now)
                words = plan.words
                new = {
                    "key": self._free_key(plan.key, post_id), "url": None, "in_reply_to": None,
                    "author_id": new_author, "title": words.title, "text": words.text,
                    "content_html": words.content_html, "spoiler_text": words.spoiler_text,
                    "links": json.dumps(list(words.links)), "mentions": json.dumps(list(words.mentions)),
                }
                tags = [r[0] for r in self.db.execute("SELECT tag FROM post_tags WHERE post_id = ?", [post_id])]
                new["content_hash"] = content_digest(new["title"], new["content_html"], new["text"],
                                                     new["spoiler_text"], tags, edited_at)
                if (new["title"], new["text"]) != (title, text):
                    new["changed_at"] = now
                    self.db.execute("UPDATE classifications SET reasons = '{}' WHERE post_id = ?", [post_id])
                assignments = ", ".join(f"{column} = ?" for column in new)
                self.db.execute(f"UPDATE posts SET {assignments} WHERE id = ?", [*new.values(), post_id])
                self.db.execute("UPDATE sightings SET url = NULL, remote_id = NULL WHERE post_id = ?", [post_id])
                note = self.db.execute("SELECT note FROM reviews WHERE post_id = ?", [post_id]).fetchone()
                if note and note[0]:
                    self.db.execute("UPDATE reviews SET note = ? WHERE post_id = ?", [plan.scrub(note[0]), post_id])
                # also when the note was cleared since: the earlier notes stay in the trail
                self._scrub_event_notes(post_id, plan.scrub)
                self.db.conn.executemany(
                    "INSERT OR IGNORE INTO suppressions (hash, kind, reason, created_at)"
                    " VALUES (?, 'post', 'pseudonymized', ?)", [(h, now) for h in sorted(plan.tombstones)])
            self.db.execute(
                "DELETE FROM authors WHERE id IN (SELECT value FROM json_each(?))"
                " AND NOT EXISTS (SELECT 1 FROM posts WHERE posts.author_id = authors.id)",
                [json.dumps(sorted(originals))])
            result = Pseudonymized([p.post_id for p in plans], len(originals))
            if plans:
                # what was derived from the old words and author goes with them, so that the file's
                # compaction after the purge drops it; the next passes index and match them again
                changed = json.dumps(result.posts)
                self.db.execute("DELETE FROM related_terms WHERE post_id IN (SELECT value FROM json_each(?))", [changed])
                InitiativeStore(self.db).unmatch(result.posts)
                self._audit("pseudonymize", {"posts": len(result.posts), "authors": result.authors})
        return result

    def _scrub_event_notes(self, post_id: int, scrub: Callable[[str], str]) -> None:
        """The notes in the post's audit events: the one place the trail is rewritten, as the name must go."""
        for event_id, *states in self.db.execute(
                "SELECT id, before, after FROM review_events WHERE post_id = ?", [post_id]).fetchall():
            scrubbed = []
            for state in states:
                value = json.loads(state) if state else None
                if isinstance(value, dict) and isinstance(value.get("note"), str):
                    value["note"] = scrub(value["note"])
                scrubbed.append(state if value is None else json.dumps(value, ensure_ascii=False))
            if scrubbed != states:
                self.db.execute("UPDATE review_events SET before = ?, after = ? WHERE id = ?", [*scrubbed, event_id])

    def pseudonymize_failed(self, due: int, error: str) -> None:
        """Record that `due` posts should have been pseudonymised but were not (`error`: no names in it)."""
        with self.db.atomic():
            self._audit("pseudonymize", {"posts": 0, "authors": 0, "due": due, "error": error})

    def last_purge(self) -> dict | None:
        """The latest purge and pseudonymisation events, for `harvester status` (None: never purged)."""
        events = {action: (event_id, at, json.loads(after)) for action, event_id, at, after in self.db.execute(
            "SELECT action, max(id), at, after FROM review_events WHERE action IN ('purge', 'pseudonymize')"
            " AND post_id IS NULL GROUP BY action")}
        if "purge" not in events:
            return None
        purge_id, at, counts = events["purge"]
        result = {"at": at, "deleted": counts["count"], "pseudonymized_at": None, "pseudonymized": 0, "error": None}
        if "pseudonymize" in events:
            event_id, at, counts = events["pseudonymize"]
            if counts.get("error"):
                # a failure counts only while no later purge ran (the events of one run follow each other)
                if event_id > purge_id:
                    result["error"] = f"{counted(counts['due'], 'post', 'posts')} niet gepseudonimiseerd: {counts['error']}"
            else:
                result.update(pseudonymized_at=at, pseudonymized=counts["posts"])
        return result

    def _pseudonym_author(self, key: str, name: str, bot: int, now: str) -> int:
        self.db.execute(
            "INSERT INTO authors (key, display_name, profile_url, bot, pseudonymized_at) VALUES (?, ?, NULL, ?, ?)"
            " ON CONFLICT (key) DO NOTHING", [key, name, bot, now])
        return self.db.execute("SELECT id FROM authors WHERE key = ?", [key]).fetchone()[0]

    def _free_key(self, key: str, post_id: int) -> str:
        """`key`, or `key:id` in the rare case that two original keys differ only in case."""
        taken = self.db.execute("SELECT 1 FROM posts WHERE key = ? AND id != ?", [key, post_id]).fetchone()
        return f"{key}:{post_id}" if taken else key

    def _audit(self, action: str, counts: dict) -> None:
        self.db.execute(
            "INSERT INTO review_events (post_id, user_id, actor, at, action, before, after)"
            " VALUES (NULL, NULL, 'system', ?, ?, NULL, ?)",
            [utcnow(), action, json.dumps(counts)],
        )

    def compact(self) -> None:
        """Merge the FTS indexes (words, lemmas, related terms), rewrite the file and empty the WAL, so deleted text is nowhere on disk."""
        with self.db.atomic():
            self.db.execute("INSERT INTO posts_fts(posts_fts) VALUES('optimize')")
            self.db.execute("INSERT INTO posts_fts_lemmas(posts_fts_lemmas) VALUES('optimize')")
            # the related-idea index holds the words of the deleted posts too (issue 19)
            self.db.execute("INSERT INTO related_terms_fts(related_terms_fts) VALUES('optimize')")
        self.db.conn.execute("VACUUM")
        self.db.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")


# --- forget: one author's posts and personal data, everywhere (harvester.privacy.forget decides what) ---


@dataclass(frozen=True)
class AuthorRow:
    id: int
    key: str
    display_name: str | None
    profile_url: str | None
    handle: str | None                # Bluesky: the handle last seen (the key is the DID)


@dataclass(frozen=True)
class PostText:
    """A post about to be forgotten: what notes might quote from it."""

    id: int
    key: str
    title: str | None
    text: str
    spoiler_text: str | None


@dataclass(frozen=True)
class ForgetPlan:
    """Everything one forget (or opt-out) removes, decided beforehand by harvester.privacy.forget."""

    posts: list[PostText]
    author_ids: list[int]
    accts: list[str]                  # Mastodon accts (name@host) to drop from other posts' mentions and replies
    author_hashes: list[str]          # keyed fingerprints to suppress (empty without the secret)
    bluesky: list[str]                # Bluesky handles and DIDs, dropped from mentions; replies to a DID's posts too
    drops_link: Callable[[str], bool]  # which of other posts' links go: they name the author's account
    link_names: list[str]             # what every such link holds (account names, DIDs, handles): the search for them
    tombstones: list[str]             # fingerprints of the posts' keys, never to harvest again
    scrub: Callable[[str], str]       # for the notes on other posts: the author's names and quotes go
    blank: str                        # what a note on a removed post becomes in the audit trail


@dataclass
class ForgetCounts:
    """What a forget changed, and all the audit trail keeps of it."""

    posts: int = 0
    authors: int = 0
    notes: int = 0                    # reviews.note of other posts scrubbed
    events: int = 0                   # review_events whose before/after note was scrubbed
    mentions: int = 0                 # other posts that no longer list the author in `mentions`
    replies: int = 0                  # other posts whose `in_reply_to` pointed at the author
    links: int = 0                    # other posts that lost links to the author's statuses, posts or profile
    suppressions: int = 0             # new author suppressions
    tombstones: int = 0               # new post tombstones


def _canonical_sql(value: str | None) -> str | None:
    return None if value is None else canonical(value)


def _like_prefix(prefix: str) -> str:
    return prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _status_prefixes(acct: str) -> list[str]:
    """Where a Mastodon account's statuses live: its web URLs and its ActivityPub uris."""
    name, host = acct.split("@", 1)
    return [f"https://{host}/@{name}/", f"https://{host}/users/{name}/statuses/"]


class ForgetStore:
    """The reads and writes of `harvester forget` and of opt-outs; one transaction is the caller's."""

    def __init__(self, db: sqlite_utils.Database):
        self.db = db
        # keys compare the way fingerprints do (NFC, lower-case, also beyond ASCII)
        db.conn.create_function("canonical", 1, _canonical_sql, deterministic=True)

    def suppressed_authors(self) -> frozenset[str]:
        """Keyed fingerprints of authors never to harvest again (forgotten, opted out)."""
        return frozenset(r[0] for r in self.db.execute("SELECT hash FROM suppressions WHERE kind = 'author'"))

    def tombstoned(self, hashes: Iterable[str]) -> frozenset[str]:
        """Those of these fingerprints that are tombstones: post keys and addresses never to store
        again (deleted at the source, forgotten, purged, pseudonymised). Asked for a batch's posts
        only, through the index on the hash: the purge leaves one per post nobody accepted."""
        return frozenset(r[0] for r in self.db.execute(
            "SELECT hash FROM suppressions WHERE kind = 'post' AND hash IN (SELECT value FROM json_each(?))",
            [json.dumps(sorted(hashes))]))

    def author_exists(self, keys: list[str]) -> bool:
        """Whether an author row has one of these exact keys (accts are stored canonical)."""
        return self.db.execute(
            "SELECT 1 FROM authors WHERE key IN (SELECT value FROM json_each(?)) LIMIT 1", [json.dumps(keys)]
        ).fetchone() is not None

    def authors_matching(self, keys: set[str]) -> list[AuthorRow]:
        """Authors whose key or profile URL is one of the canonical `keys`."""
        rows = self.db.execute(
            "SELECT id, key, display_name, profile_url, handle FROM authors"
            " WHERE canonical(key) IN (SELECT value FROM json_each(?1))"
            " OR canonical(profile_url) IN (SELECT value FROM json_each(?1)) ORDER BY id",
            [json.dumps(sorted(keys))],
        ).fetchall()
        return [AuthorRow(*r) for r in rows]

    def feed_authors_named(self, name: str) -> list[AuthorRow]:
        """Feed authors stored by name only, `Name (site)`, whatever the site."""
        rows = self.db.execute(
            "SELECT id, key, display_name, profile_url, handle FROM authors"
            " WHERE canonical(display_name) = ? AND canonical(key) LIKE ? ESCAPE '\\' ORDER BY key",
            [canonical(name), _like_prefix(canonical(name) + " (")],
        ).fetchall()
        return [AuthorRow(*r) for r in rows]

    def bluesky_dids(self, handle: str) -> list[str]:
        """The DIDs a Bluesky handle stood for here: authors who have it now, and the authors of posts
        stored under it (a post's address names the handle it was harvested with, so an old
        handle is found too), and those V_BLUESKY_DIDS recorded it for."""
        rows = self.db.execute(
            "SELECT key FROM authors WHERE canonical(handle) = ?1 AND key LIKE 'did:%'"
            " UNION SELECT did FROM bluesky_former_handles WHERE handle = ?1"
            " UNION SELECT substr(key, 6, instr(substr(key, 6), '/') - 1) FROM posts"
            " WHERE kind = 'bluesky' AND key LIKE 'at://did:%/%' AND canonical(url) LIKE ?2 ESCAPE '\\'"
            " ORDER BY 1",
            [canonical(handle), _like_prefix(f"https://bsky.app/profile/{canonical(handle)}/post/")],
        ).fetchall()
        return [r[0] for r in rows]

    def former_handles(self, dids: list[str]) -> list[str]:
        """The handles these DIDs had when authors were keyed by handle (V_BLUESKY_DIDS kept them):
        the posts retention pseudonymised then hang on a keyed hash of such a handle."""
        rows = self.db.execute(
            "SELECT DISTINCT handle FROM bluesky_former_handles WHERE did IN (SELECT value FROM json_each(?))"
            " ORDER BY handle", [json.dumps(dids)]).fetchall()
        return [r[0] for r in rows]

    def posts_of(self, author_ids: list[int], accts: list[str]) -> list[PostText]:
        """The authors' posts, and statuses of the accts stored without an author (Mastodon tag feeds)."""
        prefixes = [_like_prefix(p) for acct in accts for p in _status_prefixes(acct)]
        url_match = "".join(" OR key LIKE ? ESCAPE '\\' OR url LIKE ? ESCAPE '\\'" for _ in prefixes)
        rows = self.db.execute(
            "SELECT id, key, title, text, spoiler_text FROM posts"
            f" WHERE author_id IN (SELECT value FROM json_each(?)){url_match} ORDER BY id",
            [json.dumps(author_ids), *(p for p in prefixes for _ in (0, 1))],
        ).fetchall()
        return [PostText(*r) for r in rows]

    def apply(self, plan: ForgetPlan, *, reason: str) -> ForgetCounts:
        """Remove what `plan` found, scrub notes, suppress, and record counts only.

        Notes on the forgotten posts themselves go entirely (in the audit trail they outlive the
        post); notes elsewhere lose only what the plan's scrubber finds. Other posts keep their text, but no
        longer list the author as a mention, as the post they answer or in their links; a group of ideas left with
        one of them is dissolved.
        """
        counts = ForgetCounts(posts=len(plan.posts), authors=len(plan.author_ids))
        now = utcnow()
        ids = json.dumps([p.id for p in plan.posts])
        counts.notes, counts.events = self.scrub_notes({p.id for p in plan.posts}, plan.scrub, plan.blank)
        counts.tombstones = self.db.conn.executemany(
            "INSERT OR IGNORE INTO suppressions (hash, kind, reason, created_at) VALUES (?, 'post', ?, ?)",
            [(h, reason, now) for h in plan.tombstones],
        ).rowcount
        self.db.execute("DELETE FROM posts WHERE id IN (SELECT value FROM json_each(?))", [ids])
        GroupStore(self.db).dissolve_lone()
        self.db.execute("DELETE FROM authors WHERE id IN (SELECT value FROM json_each(?))",
                        [json.dumps(plan.author_ids)])
        self.db.execute("DELETE FROM bluesky_former_handles WHERE did IN (SELECT value FROM json_each(?))",
                        [json.dumps(plan.bluesky)])
        accts = json.dumps(sorted(plan.accts + plan.bluesky))
        counts.mentions = self.db.execute(
            "UPDATE posts SET mentions = (SELECT json_group_array(value) FROM json_each(posts.mentions)"
            "   WHERE lower(value) NOT IN (SELECT value FROM json_each(?1)))"
            " WHERE EXISTS (SELECT 1 FROM json_each(posts.mentions) WHERE lower(value) IN (SELECT value FROM json_each(?1)))",
            [accts],
        ).rowcount
        InitiativeStore(self.db).forget_accounts(sorted(plan.accts + plan.bluesky), plan.blank)
        prefixes = [_like_prefix(p) for acct in plan.accts for p in _status_prefixes(acct)]
        prefixes += [_like_prefix(f"at://{did}/") for did in plan.bluesky if did.startswith("did:")]
        counts.replies = self.db.execute(
            "UPDATE posts SET in_reply_to = NULL WHERE in_reply_to IN (SELECT value FROM json_each(?))"
            + "".join(" OR in_reply_to LIKE ? ESCAPE '\\'" for _ in prefixes),
            [json.dumps([p.key for p in plan.posts]), *prefixes],
        ).rowcount
        # only posts whose links hold one of the plan's names can lose one, and the plan decides which:
        # the search keeps a forget in a large store from reading every post's links. Links are
        # stored as ASCII JSON (a 'ü' as \u00fc), so a name beyond ASCII reads them all
        needles = ["%" + _like_prefix(name) for name in plan.link_names]
        named = ("1" if not all(n.isascii() for n in needles)
                 else " OR ".join("links LIKE ? ESCAPE '\\'" for _ in needles) or "0")
        changed = []
        for post_id, stored in self.db.execute(
                f"SELECT id, links FROM posts WHERE links != '[]' AND ({named})",
                [] if named == "1" else needles).fetchall():
            links = json.loads(stored)
            kept = [link for link in links if not plan.drops_link(link)]
            if kept != links:
                changed.append((json.dumps(kept), post_id))
        counts.links = self.db.conn.executemany("UPDATE posts SET links = ? WHERE id = ?", changed).rowcount
        counts.suppressions = self.db.conn.executemany(
            "INSERT OR IGNORE INTO suppressions (hash, kind, reason, created_at) VALUES (?, 'author', ?, ?)",
            [(h, reason, now) for h in plan.author_hashes],
        ).rowcount
        self.db.execute(
            "INSERT INTO review_events (post_id, user_id, actor, at, action, before, after)"
            " VALUES (NULL, NULL, 'system', ?, ?, NULL, ?)",
            [now, reason, json.dumps(asdict(counts))],
        )
        return counts

    def post_texts(self, post_ids: list[int]) -> list[PostText]:
        rows = self.db.execute(
            "SELECT id, key, title, text, spoiler_text FROM posts WHERE id IN (SELECT value FROM json_each(?))"
            " ORDER BY id", [json.dumps(post_ids)]).fetchall()
        return [PostText(*r) for r in rows]

    def scrub_notes(self, gone: set[int], scrub: Callable[[str], str], blank: str) -> tuple[int, int]:
        """Scrub editors' notes before the posts in `gone` are deleted: (reviews, review_events) changed.

        Call it before deleting: the audit trail knows which events were about those posts only
        while they exist. Their own reviews go with them by cascade.
        """
        notes = 0
        for post_id, note in self.db.execute(
                "SELECT post_id, note FROM reviews WHERE note IS NOT NULL"
                " AND post_id NOT IN (SELECT value FROM json_each(?))", [json.dumps(sorted(gone))]).fetchall():
            cleaned = scrub(note)
            if cleaned != note:
                self.db.execute("UPDATE reviews SET note = ? WHERE post_id = ?", [cleaned, post_id])
                notes += 1
        return notes, self._scrub_events(gone, scrub, blank)

    def _scrub_events(self, gone: set[int], scrub: Callable[[str], str], blank: str) -> int:
        """Notes in the audit trail: `blank` on the posts in `gone`, scrubbed everywhere else."""
        changed = 0
        rows = self.db.execute(
            "SELECT id, post_id, before, after FROM review_events"
            " WHERE json_extract(before, '$.note') IS NOT NULL OR json_extract(after, '$.note') IS NOT NULL"
        ).fetchall()
        for event_id, post_id, *states in rows:
            new, modified = [], False
            for state in states:
                data = json.loads(state) if state else None
                if isinstance(data, dict) and isinstance(data.get("note"), str):
                    note = blank if post_id in gone else scrub(data["note"])
                    if note != data["note"]:
                        data["note"], modified = note, True
                        state = json.dumps(data, ensure_ascii=False)
                new.append(state)
            if modified:
                self.db.execute("UPDATE review_events SET before = ?, after = ? WHERE id = ?", [*new, event_id])
                changed += 1
        return changed
