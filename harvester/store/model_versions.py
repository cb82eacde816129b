"""Model versions: every trained model, its held-back scores, and which one is active.

The store records and applies; whether a candidate is good enough is decided elsewhere
(harvester/learning.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlite_utils

from ..timeutil import utcnow

COLUMNS = ("version", "path", "created_at", "learned_from", "decisions", "decisions_read_at", "held_back",
           "score", "current_version", "current_score", "active", "reason")


@dataclass(frozen=True)
class ModelVersion:
    version: str
    path: str
    created_at: str
    learned_from: int
    decisions: int
    decisions_read_at: str
    held_back: int = 0
    score: float | None = None
    current_version: str | None = None
    current_score: float | None = None
    active: bool = False
    reason: str = ""


class ModelStore:
    def __init__(self, db: sqlite_utils.Database):
        self.db = db

    def _select(self, where: str = "1", params: list | None = None) -> list[ModelVersion]:
        rows = self.db.execute(f"SELECT {', '.join(COLUMNS)} FROM models WHERE {where} ORDER BY created_at, version",
                               params or []).fetchall()
        return [ModelVersion(*r[:10], bool(r[10]), r[11]) for r in rows]

    def all(self) -> list[ModelVersion]:
        """Oldest first."""
        return self._select()

    def get(self, version: str) -> ModelVersion | None:
        found = self._select("version = ?", [version])
        return found[0] if found else None

    def active(self) -> ModelVersion | None:
        found = self._select("active = 1")
        return found[0] if found else None

    def add(self, model: ModelVersion, *, activate: bool = False) -> ModelVersion:
        """Record a trained version (and make it the active one, in the same transaction)."""
        with self.db.atomic():
            if activate:
                self.db.execute("UPDATE models SET active = 0 WHERE active = 1")
            values = [getattr(model, c) for c in COLUMNS]
            values[COLUMNS.index("active")] = int(activate)
            values[COLUMNS.index("created_at")] = model.created_at or utcnow()
            self.db.execute(f"INSERT INTO models ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})",
                            values)
        return self.get(model.version)  # type: ignore[return-value]

    def activate(self, version: str | None, reason: str | None = None) -> None:
        """Make `version` the active model; None: none of them (the configured model is used)."""
        with self.db.atomic():
            if version is not None and self.get(version) is None:
                raise KeyError(version)
            self.db.execute("UPDATE models SET active = 0 WHERE active = 1")
            if version is not None:
                self.db.execute("UPDATE models SET active = 1, reason = coalesce(?, reason) WHERE version = ?",
                                [reason, version])
