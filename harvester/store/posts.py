"""Posts, their authors, tags and sightings."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import NamedTuple

import sqlite_utils

from ..models import Author, Post, site_of
from ..timeutil import utcnow


class PostText(NamedTuple):
    """A post's text as a pass (classification, related terms) reads it, and the change it is of.

    What the pass makes from it records `changed_at`, not the pass's clock: a harvest stamps each
    post of a page as it writes it and commits the page at the end, so a pass that read between
    the two would have stamped its row later than an edit it never saw."""

    post_id: int
    text: str
    changed_at: str


@dataclass(frozen=True)
class StoredPost:
    """A post as listed by `harvester posts` and read by later steps."""

    id: int
    key: str
    kind: str
    url: str | None
    title: str | None
    text: str
    author: str | None
    published_at: str | None
    tags: list[str]
    sources: list[str]


def content_hash(post: Post) -> str:
    """What counts as an edit: the words, the tags and the warning, not the boost counts."""
    return content_digest(post.title, post.content_html, post.text, post.spoiler_text, post.tags, post.edited_at)


def content_digest(title: str | None, content_html: str, text: str, spoiler_text: str | None,
                   tags: Iterable[str], edited_at: str | None) -> str:
    """`content_hash` from the stored columns, for a post whose stored words were rewritten."""
    material = json.dumps([title, content_html, text, spoiler_text, sorted(tags), edited_at], ensure_ascii=False)
    return hashlib.sha256(material.encode("utf-8")).hexdigest()


class PostStore:
    def __init__(self, db: sqlite_utils.Database):
        self.db = db

    def upsert(self, post: Post, source_id: int) -> str:
        """Store one post seen on one source; returns 'new', 'updated' or 'unchanged'.

        Call inside `Store.atomic()` to batch many; the post, its tags and its sighting are
        written together either way. A tag feed's entry of a status stored from the API only adds
        its sighting: an edit shows through the API (and `harvester recheck`), not the feed.
        """
        now = utcnow()
        digest = content_hash(post)
        with self.db.atomic():
            existing = self._stored_as(post, source_id)
            if existing is not None and existing[3] == "mastodon" and post.kind == "feed":
                # the API's row of this status is richer than the tag feed's entry: only the sighting is new
                self.db.execute("UPDATE posts SET last_seen_at = ? WHERE id = ?", [now, existing[0]])
                self._sighted(existing[0], source_id, post, now)
                return "unchanged"
            author_id = self._upsert_author(post.author) if post.author else None
            values = {
                "kind": post.kind, "url": post.url, "title": post.title, "content_html": post.content_html,
                "text": post.text, "spoiler_text": post.spoiler_text, "language": post.language,
                "author_id": author_id, "in_reply_to": post.in_reply_to,
                "links": json.dumps(list(post.links)), "mentions": json.dumps(list(post.mentions)),
                "replies_count": post.replies_count, "reblogs_count": post.reblogs_count,
                "favourites_count": post.favourites_count, "published_at": post.published_at,
                "edited_at": post.edited_at, "content_hash": digest, "last_seen_at": now,
            }
            if existing is None:
                values.update(key=post.key, first_seen_at=now, changed_at=now)
                columns = ", ".join(values)
                post_id = self.db.execute(
                    f"INSERT INTO posts ({columns}) VALUES ({', '.join('?' * len(values))})", list(values.values())
                ).lastrowid
                outcome = "new"
            else:
                post_id, old_digest, old_key, _kind = existing
                outcome = "unchanged" if old_digest == digest else "updated"
                if outcome == "updated":
                    values["changed_at"] = now
                if old_key != post.key:   # the tag feed's row of a status becomes the API's; a former key goes
                    values["key"] = post.key
                assignments = ", ".join(f"{column} = ?" for column in values)
                self.db.execute(f"UPDATE posts SET {assignments} WHERE id = ?", [*values.values(), post_id])
            if outcome != "unchanged":
                self.db.execute("DELETE FROM post_tags WHERE post_id = ?", [post_id])
                self.db.conn.executemany(
                    "INSERT OR IGNORE INTO post_tags (post_id, tag) VALUES (?, ?)", [(post_id, t) for t in post.tags]
                )
            self._sighted(post_id, source_id, post, now)
        return outcome

    def _stored_as(self, post: Post, source_id: int) -> tuple[int, str, str, str] | None:
        """(id, content_hash, key, kind) of the row holding this post, if one does.

        Usually the row with the post's key, else the row with its `former_key` that only sources of
        this source's site have seen (see `_former_row`): it takes the new key.
        A Mastodon status has a second name: an instance's tag feed (`/tags/NAME.rss`) gives it its
        web address as guid, while the API names it by its `uri`. So a Mastodon post also finds the
        feed row keyed by its `url`, and a feed entry the Mastodon row with that `url`: one status
        seen both ways is one post with two sightings.
        """
        row = self.db.execute("SELECT id, content_hash, key, kind FROM posts WHERE key = ?", [post.key]).fetchone()
        if row is None and post.former_key:
            row = self._former_row(post, source_id)
        if row is None and post.kind == "mastodon" and post.url:
            row = self.db.execute("SELECT id, content_hash, key, kind FROM posts WHERE key = ? AND kind = 'feed'",
                                  [post.url]).fetchone()
        if row is None and post.kind == "feed":
            row = self.db.execute("SELECT id, content_hash, key, kind FROM posts WHERE url = ? AND kind = 'mastodon'",
                                  [post.key]).fetchone()
        return row

    def _former_row(self, post: Post, source_id: int) -> tuple[int, str, str, str] | None:
        """The row stored under the post's `former_key` (a feed entry's bare id), if it can only be
        this post: every source that saw it belongs to this source's site, the one the new key names.

        A site's feed and its tag feed, a source added later or a renamed source (a new source row)
        all number the site's entries alike, so their row is this entry. A row that sources of two
        sites saw may hold two entries written over each other: it stays as it is.
        """
        row = self.db.execute("SELECT id, content_hash, key, kind FROM posts WHERE key = ? AND kind = ?",
                              [post.former_key, post.kind]).fetchone()
        if row is None:
            return None
        urls = self.db.execute("SELECT configured_url FROM sources WHERE id = ?"
                               " OR id IN (SELECT source_id FROM sightings WHERE post_id = ?)", [source_id, row[0]])
        return row if len({site_of(url) for (url,) in urls}) == 1 else None

    def _sighted(self, post_id: int, source_id: int, post: Post, now: str) -> None:
        self.db.execute(
            "INSERT INTO sightings (post_id, source_id, remote_id, url, first_seen_at, last_seen_at)"
            " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (post_id, source_id) DO UPDATE SET"
            " remote_id = excluded.remote_id, url = excluded.url, last_seen_at = excluded.last_seen_at",
            [post_id, source_id, post.remote_id, post.url, now, now],
        )

    def _upsert_author(self, author: Author) -> int:
        """The author's row by key, updated with what the post being stored says of them (a new
        handle, a new name)."""
        self.db.execute(
            "INSERT INTO authors (key, display_name, profile_url, bot, handle) VALUES (?, ?, ?, ?, ?)"
            " ON CONFLICT (key) DO UPDATE SET display_name = excluded.display_name,"
            " profile_url = excluded.profile_url, bot = excluded.bot, handle = excluded.handle"
            " WHERE authors.pseudonymized_at IS NULL",
            [author.key, author.display_name, author.profile_url, int(author.bot), author.handle],
        )
        return self.db.execute("SELECT id FROM authors WHERE key = ?", [author.key]).fetchone()[0]

    def count(self) -> int:
        return self.db.execute("SELECT count(*) FROM posts").fetchone()[0]

    def latest(self, limit: int = 20) -> list[StoredPost]:
        """The most recently published posts, newest first."""
        rows = self.db.execute(
            """
            SELECT p.id, p.key, p.kind, p.url, p.title, p.text, coalesce(a.handle, a.key), p.published_at,
                   (SELECT json_group_array(tag) FROM (SELECT tag FROM post_tags WHERE post_id = p.id ORDER BY tag)),
                   (SELECT json_group_array(name) FROM (SELECT s.name FROM sightings g JOIN sources s ON s.id = g.source_id
                      WHERE g.post_id = p.id ORDER BY s.name))
            FROM posts p LEFT JOIN authors a ON a.id = p.author_id
            ORDER BY coalesce(p.published_at, p.first_seen_at) DESC, p.id DESC
            LIMIT ?
            """,
            [limit],
        ).fetchall()
        return [StoredPost(*r[:8], json.loads(r[8]), json.loads(r[9])) for r in rows]
