"""Accounts of the review app, their server-side sessions and failed logins.

Only hashes are stored: the password hash (made by harvester.web.auth) and a SHA-256 of the session
cookie, so a copy of the database does not let anyone log in.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlite_utils

from ..timeutil import utcnow

ROLES = ("lezer", "redacteur", "beheerder")


class UserExists(Exception):
    """An account with this name is already there."""


@dataclass(frozen=True)
class User:
    id: int
    name: str
    role: str
    created_at: str
    disabled_at: str | None = None

    @property
    def active(self) -> bool:
        return self.disabled_at is None

    def can(self, role: str) -> bool:
        """True when this user's role is at least `role` (lezer < redacteur < beheerder)."""
        return ROLES.index(self.role) >= ROLES.index(role)


_USER_COLUMNS = "id, name, role, created_at, disabled_at"


class UserStore:
    def __init__(self, db: sqlite_utils.Database):
        self.db = db

    # accounts

    def add(self, name: str, role: str, password_hash: str) -> User:
        if role not in ROLES:
            raise ValueError(f"onbekende rol {role!r}")
        with self.db.atomic():
            if self.get(name) is not None:
                raise UserExists(name)
            self.db.execute(
                "INSERT INTO users (name, role, password_hash, created_at) VALUES (?, ?, ?, ?)",
                [name, role, password_hash, utcnow()],
            )
        return self.get(name)  # type: ignore[return-value]

    def get(self, name: str) -> User | None:
        row = self.db.execute(f"SELECT {_USER_COLUMNS} FROM users WHERE name = ?", [name]).fetchone()
        return User(*row) if row else None

    def password_hash(self, user_id: int) -> str:
        return self.db.execute("SELECT password_hash FROM users WHERE id = ?", [user_id]).fetchone()[0]

    def set_password_hash(self, user_id: int, password_hash: str) -> None:
        with self.db.atomic():
            self.db.execute("UPDATE users SET password_hash = ? WHERE id = ?", [password_hash, user_id])

    def set_password(self, name: str, password_hash: str) -> bool:
        """A new password hash for `name`, ending its sessions; False if there is no such account."""
        with self.db.atomic():
            user = self.get(name)
            if user is None:
                return False
            self.db.execute("UPDATE users SET password_hash = ? WHERE id = ?", [password_hash, user.id])
            self.db.execute("DELETE FROM sessions WHERE user_id = ?", [user.id])
        return True

    def set_role(self, name: str, role: str) -> None:
        if role not in ROLES:
            raise ValueError(f"onbekende rol {role!r}")
        with self.db.atomic():
            self.db.execute("UPDATE users SET role = ? WHERE name = ?", [role, name])

    def all(self) -> list[User]:
        return [User(*r) for r in self.db.execute(f"SELECT {_USER_COLUMNS} FROM users ORDER BY name").fetchall()]

    def set_disabled(self, name: str, disabled: bool) -> bool:
        """Disable (ending every session at once) or re-enable an account; False if there is none."""
        with self.db.atomic():
            user = self.get(name)
            if user is None:
                return False
            self.db.execute("UPDATE users SET disabled_at = ? WHERE id = ?", [utcnow() if disabled else None, user.id])
            if disabled:
                self.db.execute("DELETE FROM sessions WHERE user_id = ?", [user.id])
        return True

    # sessions

    def create_session(self, token_hash: str, user_id: int, csrf_token: str, expires_at: str) -> None:
        with self.db.atomic():
            self.db.execute("DELETE FROM sessions WHERE expires_at < ?", [utcnow()])
            self.db.execute(
                "INSERT INTO sessions (token_hash, user_id, csrf_token, created_at, expires_at) VALUES (?, ?, ?, ?, ?)",
                [token_hash, user_id, csrf_token, utcnow(), expires_at],
            )

    def session_user(self, token_hash: str) -> tuple[User, str] | None:
        """The active user and CSRF token of an unexpired session."""
        row = self.db.execute(
            f"SELECT {', '.join('u.' + c for c in _USER_COLUMNS.split(', '))}, s.csrf_token"
            " FROM sessions s JOIN users u ON u.id = s.user_id"
            " WHERE s.token_hash = ? AND s.expires_at > ? AND u.disabled_at IS NULL",
            [token_hash, utcnow()],
        ).fetchone()
        return (User(*row[:5]), row[5]) if row else None

    def end_session(self, token_hash: str) -> None:
        with self.db.atomic():
            self.db.execute("DELETE FROM sessions WHERE token_hash = ?", [token_hash])

    # failed logins

    def record_failure(self, name: str, prune_before: str) -> None:
        with self.db.atomic():
            self.db.execute("DELETE FROM login_failures WHERE at < ?", [prune_before])
            self.db.execute("INSERT INTO login_failures (name, at) VALUES (?, ?)", [name, utcnow()])

    def failures_since(self, name: str, since: str) -> tuple[int, str | None]:
        """How many failed logins for `name` since a time, and when the last one was."""
        count, last = self.db.execute(
            "SELECT count(*), max(at) FROM login_failures WHERE name = ? AND at >= ?", [name, since]
        ).fetchone()
        return count, last

    def clear_failures(self, name: str) -> None:
        with self.db.atomic():
            self.db.execute("DELETE FROM login_failures WHERE name = ?", [name])
