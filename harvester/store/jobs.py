"""The last outcome of each background job that is not per source, what `harvester status` shows
beside the sources' runs (those keep their own history in `runs`)."""

from __future__ import annotations

from dataclasses import dataclass

import sqlite_utils

from ..timeutil import utcnow


@dataclass(frozen=True)
class JobOutcome:
    job: str                           # recheck, purge, classify, retrain, initiatives, compact
    at: str                            # when its last pass ended (a failed retraining: when it read its input)
    status: str                        # ok, partial, failed
    error: str | None                  # the last pass's problem, in Dutch
    ok_at: str | None                  # when a pass last went well


class JobOutcomeStore:
    def __init__(self, db: sqlite_utils.Database):
        self.db = db

    def record(self, job: str, status: str, error: str | None = None, *, at: str | None = None) -> None:
        """The outcome of a pass of `job`, replacing the one before (a pass that went well clears the error).
        `at` (default now): the time the outcome is of, when that is not its end: a failed retraining
        is of the moment it read the files it trained on, so that a file saved while it trained counts
        as saved after it (`learning.themes_to_learn`)."""
        now = at or utcnow()
        with self.db.atomic():
            self.db.execute(
                "INSERT INTO job_outcomes (job, at, status, error, ok_at) VALUES (?1, ?2, ?3, ?4, iif(?3 = 'ok', ?2, NULL))"
                " ON CONFLICT (job) DO UPDATE SET at = excluded.at, status = excluded.status, error = excluded.error,"
                " ok_at = coalesce(excluded.ok_at, job_outcomes.ok_at)",
                [job, now, status, error])

    def get(self, job: str) -> JobOutcome | None:
        row = self.db.execute("SELECT job, at, status, error, ok_at FROM job_outcomes WHERE job = ?", [job]).fetchone()
        return JobOutcome(*row) if row else None

    def latest(self) -> list[JobOutcome]:
        return [JobOutcome(*row) for row in self.db.execute(
            "SELECT job, at, status, error, ok_at FROM job_outcomes ORDER BY job")]
