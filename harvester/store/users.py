"""Accounts of the review app, their server-side sessions and failed logins.

Only hashes are stored: the password hash (made by harvester.web.auth) and a SHA-256 of the session
cookie, so a copy of the database does not let anyone log in.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import sqlite_utils

from ..errors import UsageError
from ..models import Role
from ..timeutil import utcnow

# account names: ASCII letters, digits, '.', '_' and '-', so no two names look alike (a Cyrillic
# 'о' in 'bоss'), with a letter or digit among them: the Accounts page puts the name in an address,
# where '.' and '..' are path steps a browser resolves to another page; accounts made before this
# rule keep working, new ones must follow it (one named '.' or '..' is managed with `harvester users`)
NAME_PATTERN = re.compile(r"(?=.*[A-Za-z0-9])[A-Za-z0-9._-]{1,64}")
NAME_RULE = ("Een naam bestaat uit 1 tot 64 tekens: letters a-z en A-Z, cijfers, '.', '_' of '-', "
             "met minstens één letter of cijfer.")


def name_problem(name: str) -> str | None:
    """Why `name` cannot be a new account's name, in Dutch; None when it can."""
    return None if NAME_PATTERN.fullmatch(name) else NAME_RULE


class UserExists(UsageError):
    """An account with this name, or with one differing only in case, is already there (`name`)."""

    def __init__(self, name: str):
        super().__init__(f"er is al een account {name}")
        self.name = name


@dataclass(frozen=True)
class User:
    id: int
    name: str
    role: Role
    created_at: str
    disabled_at: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "role", Role(self.role))   # rows hold the plain word

    @property
    def active(self) -> bool:
        return self.disabled_at is None

    def can(self, role: str) -> bool:
        """True when this user's role is at least `role` (lezer < redacteur < beheerder)."""
        return self.role.includes(role)


_USER_COLUMNS = "id, name, role, created_at, disabled_at"


class UserStore:
    def __init__(self, db: sqlite_utils.Database):
        self.db = db

    # accounts

    def add(self, name: str, role: str, password_hash: str) -> User:
        if not Role.has(role):
            raise ValueError(f"onbekende rol {role!r}")
        if name_problem(name):
            raise ValueError(name_problem(name))
        with self.db.atomic():
            # 'Eva' beside 'eva' would be two people to the app and one to its readers
            same = self.db.execute("SELECT name FROM users WHERE name = ? COLLATE NOCASE", [name]).fetchone()
            if same is not None:
                raise UserExists(same[0])
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
        if not Role.has(role):
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
        """A fresh login's session: the account's other sessions end (one session per account)."""
        with self.db.atomic():
            self.db.execute("DELETE FROM sessions WHERE expires_at < ? OR user_id = ?", [utcnow(), user_id])
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

    # failed logins (harvester.web.auth.LoginThrottle decides; only hashes are stored)

    def admit_attempt(self, name_hash: str, client_hash: str, now: str, window_start: str,
                      wait: Callable[[int, str | None, int, str | None], float], max_rows: int) -> int | None:
        """In one write transaction: prune rows older than the window, count this pair's and this
        client's recent failures, ask `wait(pair_count, pair_last, client_count, client_last)`,
        and when it is 0 record the attempt as a failure in advance; returns its row id, or None
        (wait). The id is forgotten again when the password turns out right."""
        with self.db.atomic():
            self.db.execute("DELETE FROM login_failures WHERE at < ?", [window_start])
            pair = self.db.execute(
                "SELECT count(*), max(at) FROM login_failures WHERE name_hash = ? AND client_hash = ? AND at >= ?",
                [name_hash, client_hash, window_start]).fetchone()
            client = self.db.execute(
                "SELECT count(*), max(at) FROM login_failures WHERE client_hash = ? AND at >= ?",
                [client_hash, window_start]).fetchone()
            if wait(pair[0], pair[1], client[0], client[1]) > 0:
                return None
            row_id = self.db.execute("INSERT INTO login_failures (name_hash, client_hash, at) VALUES (?, ?, ?)",
                                     [name_hash, client_hash, now]).lastrowid
            self.db.execute("DELETE FROM login_failures WHERE id <= ?", [row_id - max_rows])
            return row_id

    def forget_attempt(self, row_id: int) -> None:
        with self.db.atomic():
            self.db.execute("DELETE FROM login_failures WHERE id = ?", [row_id])

    def clear_failures(self, name_hash: str, client_hash: str) -> None:
        """After a right password: this name's failures from this client are forgiven."""
        with self.db.atomic():
            self.db.execute("DELETE FROM login_failures WHERE name_hash = ? AND client_hash = ?",
                            [name_hash, client_hash])
