"""Fingerprints and pseudonyms: how we remember *that* something must be left alone, or refer
to someone, without keeping who or what it was.

- `fingerprint`: plain SHA-256, for post keys (a status URI with its random id cannot be guessed
  back from the hash), used for tombstones of deleted posts.
- `keyed_fingerprint` / `pseudonym`: HMAC-SHA256 with the secret from the environment variable that
  `[privacy] secret_env` names (default HARVESTER_SECRET). Author names are guessable, so only a
  keyed hash keeps someone without the key from testing a name against the list or an export.

The module takes the variable's name, not the configuration, so that the store, the export and
the tests can use it without loading a config file.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import unicodedata

from ..errors import UsageError


class SecretMissing(UsageError):
    """The pseudonym key is not set; the message says which variable to set."""


def canonical(value: str) -> str:
    """The form every fingerprint is taken of: NFC, trimmed, lower-case (so `Anne@X` is `anne@x`)."""
    return unicodedata.normalize("NFC", value.strip()).lower()


def _canonical(value: str) -> bytes:
    return canonical(value).encode("utf-8")


def fingerprint(value: str) -> str:
    return hashlib.sha256(_canonical(value)).hexdigest()


def keyed_fingerprint(secret: bytes, value: str) -> str:
    return hmac.digest(secret, _canonical(value), "sha256").hex()   # one-shot: a fraction of hmac.new's cost


def pseudonym(secret: bytes, value: str) -> str:
    """A short, stable stand-in for a name: the same author gets the same pseudonym in every export."""
    return "deelnemer-" + keyed_fingerprint(secret, value)[:10]


def load_secret(name: str) -> bytes:
    """The key in the environment variable `name` (the config's `[privacy] secret_env`)."""
    value = os.environ.get(name, "")
    if len(value) < 16:
        raise SecretMissing(
            f"zet de omgevingsvariabele {name} op een geheime sleutel van minstens 16 tekens "
            f"(bijvoorbeeld: export {name}=$(python3 -c 'import secrets; print(secrets.token_hex(32))'))"
        )
    return value.encode("utf-8")
