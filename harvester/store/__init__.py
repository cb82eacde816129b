"""The SQLite store: the only place that speaks SQL.

`Store` opens the file with the pragmas every connection needs, migrates it, and exposes one
small object per concern (`store.sources`, `store.posts`, `store.runs`, ...). Write methods
do not commit on their own when called inside `store.atomic()`, so a caller can make a page of
posts and the cursor that points past it land together, or not at all.
"""

from __future__ import annotations

import contextlib
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import sqlite_utils

from ..dutch import database_error
from ..errors import UsageError
from .classifications import ClassificationStore
from .cursors import CursorStore
from .exports import ExportStore
from .groups import GroupStore
from .initiatives import InitiativeStore
from .jobs import JobOutcomeStore
from .lock import SchedulerLockStore
from .mastodon import MastodonStore
from .model_versions import ModelStore
from .movement import MovementStore
from .posts import PostStore
from .privacy import ForgetStore, PrivacyStore
from .related import RelatedStore
from .reviews import ReviewStore
from .reviews.search import lemma_text
from .runs import RunStore
from .schema import MIGRATIONS
from .sources import SourceStore
from .users import UserStore

BUSY_TIMEOUT_MS = 10_000
# the oldest SQLite the schema and its queries run on: UPDATE ... FROM (3.33, migration
# V_BLUESKY_DIDS), count(*) FILTER (3.30), window functions (3.25). Python carries its own SQLite;
# Debian 12 has 3.40, Ubuntu 20.04 3.31
MIN_SQLITE = (3, 33, 0)
# a second process waits this long for a migration another one runs (a million posts: ~1 minute)
MIGRATION_WAIT_S = 600


class StoreError(UsageError):
    """The database file cannot be used (newer schema, not a database, not writable)."""


class Database(sqlite_utils.Database):
    """sqlite-utils' Database, but a transaction takes the write lock as it begins.

    sqlite-utils opens transactions with a deferred BEGIN. In WAL mode a transaction that reads
    first and writes later then fails at once with "database is locked" when another connection
    committed in between (the scheduler's jobs write concurrently); BEGIN IMMEDIATE instead waits
    for the lock (busy_timeout). Nested blocks stay savepoints.
    """

    @contextlib.contextmanager
    def atomic(self) -> Iterator[Database]:
        if self.conn.in_transaction:
            with super().atomic():
                yield self
            return
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            with super().atomic():
                yield self
        except BaseException:
            self.rollback()
            raise
        try:
            self.conn.execute("COMMIT")
        except BaseException:
            self.rollback()
            raise


def _statements(script: str) -> list[str]:
    """A migration script as single statements (a trigger's body stays whole), so that they run
    inside a transaction this module opened: executescript would commit it first."""
    statements, current = [], ""
    for piece in script.split(";"):
        current += piece + ";"
        if sqlite3.complete_statement(current):
            statements.append(current)
            current = ""
    if current[:-1].strip():   # a last statement without its ";" (or a comment)
        statements.append(current[:-1])
    return statements


class Store:
    def __init__(self, path: str | Path, *, migrate: bool = True):
        self.path = Path(path)
        if sqlite3.sqlite_version_info < MIN_SQLITE:
            raise StoreError(f"deze Python gebruikt SQLite {sqlite3.sqlite_version}; de harvester heeft minstens "
                             f"{'.'.join(map(str, MIN_SQLITE))} nodig (zie docs/deploy.md)")
        if str(path) != ":memory:":
            self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            conn = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_MS / 1000)
            self.db = Database(conn)
            with self.db.ensure_autocommit_on():
                self.db.execute("PRAGMA journal_mode = WAL")
            self.db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            self.db.execute("PRAGMA foreign_keys = ON")
            # deleted text is overwritten in the file, not just unlinked (privacy: purge, forget)
            self.db.execute("PRAGMA secure_delete = ON")
            self.db.execute("PRAGMA synchronous = NORMAL")
            # the lemma index's triggers call it (schema.V_LEMMAS)
            conn.create_function("harvester_lemmas", 2, lemma_text, deterministic=True)
        except sqlite3.DatabaseError as e:
            raise StoreError(f"{path}: niet te gebruiken als database: {database_error(e)}") from None
        self.sources = SourceStore(self.db)
        self.posts = PostStore(self.db)
        self.runs = RunStore(self.db)
        self.job_outcomes = JobOutcomeStore(self.db)
        self.classifications = ClassificationStore(self.db)
        self.exports = ExportStore(self.db)
        self.users = UserStore(self.db)
        self.reviews = ReviewStore(self.db)
        self.cursors = CursorStore(self.db)
        self.mastodon = MastodonStore(self.db)
        self.scheduler_lock = SchedulerLockStore(self.db)
        self.privacy = PrivacyStore(self.db)
        self.forget = ForgetStore(self.db)
        self.models = ModelStore(self.db)
        self.groups = GroupStore(self.db)
        self.movement = MovementStore(self.db)
        self.related = RelatedStore(self.db)
        self.initiatives = InitiativeStore(self.db)
        if migrate:
            self.migrate()

    @property
    def schema_version(self) -> int:
        return self.db.execute("PRAGMA user_version").fetchone()[0]

    def migrate(self, migrations: list[str] = MIGRATIONS) -> int:
        """Apply the migrations this file has not had yet; returns how many were applied."""
        current = self.schema_version
        if current > len(migrations):
            raise StoreError(
                f"{self.path}: schemaversie {current} is nieuwer dan dit programma kent "
                f"({len(migrations)}); installeer een nieuwere versie van de harvester"
            )
        applied = 0
        for version, script in enumerate(migrations[current:], start=current + 1):
            self._begin_migration()
            try:
                # another process may have migrated the file while this one waited for the lock
                if self.schema_version < version:
                    for statement in _statements(script):
                        self.db.conn.execute(statement)
                    self.db.conn.execute(f"PRAGMA user_version = {version}")
                    applied += 1
                self.db.conn.execute("COMMIT")
            except sqlite3.Error:
                self.db.rollback()
                raise
        return applied

    def _begin_migration(self) -> None:
        """Take the write lock, waiting as long as another process's migration may take."""
        deadline = time.monotonic() + MIGRATION_WAIT_S
        while True:
            try:
                self.db.conn.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as e:
                if "locked" not in str(e) or time.monotonic() > deadline:
                    raise StoreError(f"{self.path}: kon de database niet bijwerken: {e}") from None

    @contextlib.contextmanager
    def atomic(self) -> Iterator[Store]:
        """One transaction: everything inside lands together or not at all."""
        with self.db.atomic():
            yield self

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
