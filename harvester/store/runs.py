"""Harvest runs: one row per collector run of one source, the history behind `harvester status`."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass

import sqlite_utils

from ..models import RunCounts, SourceStatus
from ..timeutil import utcnow


@dataclass(frozen=True)
class RunOwner:
    """A run still marked running and the process it names (None for runs recorded before runs named
    their process)."""

    id: int
    pid: int | None
    host: str | None
    started_at: str


class RunStore:
    def __init__(self, db: sqlite_utils.Database):
        self.db = db

    def running(self, source_id: int) -> list[RunOwner]:
        """The runs of a source still marked 'running', with the process each names, for the caller to
        tell which of them still go on and which lost their process."""
        rows = self.db.execute(
            "SELECT id, pid, host, started_at FROM runs WHERE source_id = ? AND status = 'running' ORDER BY id",
            [source_id],
        ).fetchall()
        return [RunOwner(*row) for row in rows]

    def interrupt(self, run_ids: Iterable[int]) -> None:
        """Close runs whose process is gone as failed: they never finished, and what they stored stays."""
        with self.db.atomic():
            self.db.execute(
                "UPDATE runs SET status = 'failed', error = 'onderbroken: het proces stopte tijdens deze run'"
                " WHERE status = 'running' AND id IN (SELECT value FROM json_each(?))",
                [json.dumps(list(run_ids))],
            )

    def start(self, source_id: int, pid: int, host: str) -> int:
        """Record a run before any fetching, so a crash leaves a visible unfinished row, with the
        process that runs it (`pid` on `host`), which tells `harvester status` whether it still runs
        and another process whether it may collect the source now (harvester.jobs.harvest)."""
        with self.db.atomic():
            cursor = self.db.execute(
                "INSERT INTO runs (source_id, started_at, pid, host) VALUES (?, ?, ?, ?)",
                [source_id, utcnow(), pid, host],
            )
        return cursor.lastrowid

    def count(self, run_id: int, counts: RunCounts) -> None:
        """A running run's counts so far, written in the transaction of each batch it stores: a
        process killed mid-run leaves a record that counts the posts it stored."""
        self.db.execute(
            "UPDATE runs SET new = ?, updated = ?, unchanged = ?, skipped = ? WHERE id = ?",
            [counts.new, counts.updated, counts.unchanged, counts.skipped, run_id],
        )

    def finish(self, run_id: int, status: str, counts: RunCounts, error: str | None = None) -> None:
        with self.db.atomic():
            self.db.execute(
                "UPDATE runs SET finished_at = ?, status = ?, new = ?, updated = ?, unchanged = ?, skipped = ?,"
                " requests = ?, error = ? WHERE id = ?",
                [utcnow(), status, counts.new, counts.updated, counts.unchanged, counts.skipped,
                 counts.requests, error, run_id],
            )

    def consecutive_failures(self, source_id: int) -> int:
        """Failed runs since the last one that did not fail."""
        return self.db.execute(
            "SELECT count(*) FROM runs WHERE source_id = ? AND status = 'failed'"
            " AND id > coalesce((SELECT max(id) FROM runs WHERE source_id = ?"
            " AND status IN ('ok', 'partial', 'not_modified')), 0)",
            [source_id, source_id],
        ).fetchone()[0]

    def status(self) -> list[SourceStatus]:
        """Per source: last run (and its process), last success, new posts in the last run, failures in a
        row, last error."""
        rows = self.db.execute(
            """
            SELECT s.id, s.name, s.type, s.url, s.gone_at, s.auth_required,
                   s.ratelimit_remaining, s.ratelimit_reset,
                   last.started_at, last.status, last.new,
                   (SELECT max(finished_at) FROM runs r WHERE r.source_id = s.id
                      AND r.status IN ('ok', 'partial', 'not_modified')),
                   (SELECT error FROM runs r WHERE r.source_id = s.id AND r.error IS NOT NULL
                      ORDER BY r.id DESC LIMIT 1),
                   last.pid, last.host
            FROM sources s
            LEFT JOIN runs last ON last.id = (SELECT max(id) FROM runs r WHERE r.source_id = s.id)
            ORDER BY s.name
            """
        ).fetchall()
        return [
            SourceStatus(
                name=r[1], type=r[2], url=r[3], gone=r[4] is not None, auth_required=bool(r[5]),
                ratelimit_remaining=r[6], ratelimit_reset=r[7],
                last_run_at=r[8], last_run_status=r[9], new_in_last_run=r[10] or 0,
                last_success_at=r[11], last_error=r[12],
                consecutive_failures=self.consecutive_failures(r[0]), last_run_pid=r[13], last_run_host=r[14],
            )
            for r in rows
        ]
