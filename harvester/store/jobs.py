"""The last outcome of each background job that is not per source, what `harvester status` shows
beside the sources' runs (those keep their own history in `runs`)."""

from __future__ import annotations

from dataclasses import dataclass

import sqlite_utils

from ..timeutil import utcnow


@dataclass(frozen=True)
class JobOutcome:
    job: str                           # recheck, purge, classify, retrain, initiatives, compact
    at: str                            # when its last pass ended
    status: str                        # ok, partial, failed
    error: str | None                  # the last pass's problem, in Dutch
    ok_at: str | None                  # when a pass last went well
    read_at: str | None                # a retraining's: when it read its input (None: it read nothing)
    failures: int                      # failed passes in a row, this one included (0: it did not fail)


class JobOutcomeStore:
    def __init__(self, db: sqlite_utils.Database):
        self.db = db

    def record(self, job: str, status: str, error: str | None = None, *, read_at: str | None = None) -> None:
        """The outcome of a pass of `job` as it ends now, replacing the one before (a pass that went well
        clears the error), and the count of failed passes in a row. `read_at`: when a retraining read
        the files and decisions it trained on, so that one saved while it trained counts as saved
        after it (`learning.themes_to_learn`, `learning.decisions_to_learn`)."""
        with self.db.atomic():
            self.db.execute(
                "INSERT INTO job_outcomes (job, at, status, error, ok_at, read_at, failures)"
                " VALUES (?1, ?2, ?3, ?4, iif(?3 = 'ok', ?2, NULL), ?5, iif(?3 = 'failed', 1, 0))"
                " ON CONFLICT (job) DO UPDATE SET at = excluded.at, status = excluded.status, error = excluded.error,"
                " ok_at = coalesce(excluded.ok_at, job_outcomes.ok_at), read_at = excluded.read_at,"
                " failures = iif(excluded.status = 'failed', job_outcomes.failures + 1, 0)",
                [job, utcnow(), status, error, read_at])

    def get(self, job: str) -> JobOutcome | None:
        row = self.db.execute(f"SELECT {_COLUMNS} FROM job_outcomes WHERE job = ?", [job]).fetchone()
        return JobOutcome(*row) if row else None

    def latest(self) -> list[JobOutcome]:
        return [JobOutcome(*row) for row in self.db.execute(f"SELECT {_COLUMNS} FROM job_outcomes ORDER BY job")]


_COLUMNS = "job, at, status, error, ok_at, read_at, failures"   # JobOutcome's fields, in order
