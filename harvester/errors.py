"""The root of the harvester's own exceptions.

Every error the harvester expects (a bad option, a missing secret, a database it cannot use, a
second scheduler) derives from `HarvesterError` and says in `exit_status` how a command ends when
it is not handled on the way: the CLI turns it into one line on stderr and that status
(harvester.cli.common.exit_on_error), never a traceback. Messages are Dutch: people read them as
they are, after the error's `kind` when it has one (`describe`). A `sqlite3.Error` a command lets
through because the database refused (busy, full, read-only, damaged) ends there too, as a
"databasefout" with the reason in Dutch (`dutch.database_condition`); any other is a bug and keeps
its traceback.

The tree; each class lives beside the code that raises it:

    HarvesterError                       exit status 1
    ├── UsageError                       exit status 2: what was asked or configured cannot be done
    │   ├── ConfigError                  harvester.config: the config file
    │   ├── ThemesError                  harvester.nlp.themes: the themes file
    │   ├── TomlError                    harvester.tomlfile: TOML syntax, re-raised by the loaders
    │   ├── ModelError                   harvester.nlp.pipeline: a model directory
    │   ├── DataError                    harvester.nlp.training: a labelled-data file
    │   ├── StoreError                   harvester.store: a database file it cannot use
    │   ├── UserExists                   harvester.store.users
    │   ├── SecretMissing                harvester.privacy.hashing: the key for pseudonyms
    │   ├── BadAuthor                    harvester.privacy.forget: AUTHOR of `harvester forget`
    │   ├── ExportError                  harvester.export: export options
    │   └── BadParameter                 harvester.web.params: a query parameter
    ├── FetchError                       harvester.collectors.http: a source failed as a whole
    │   ├── ResponseTooLarge, RateLimited
    │   └── AuthRequired                 harvester.collectors.mastodon
    ├── StaleReview, NothingToUndo       harvester.store.reviews.decisions
    ├── AlreadyRunning                   harvester.jobs.lock: a second scheduler
    ├── ModelNotSaved                    harvester.nlp.pipeline: a trained model not written (disk full)
    ├── ModelNotRecorded                 harvester.learning: a trained model's version row not written
    ├── ModelUnavailable                 harvester.jobs.model
    ├── JobFailed                        harvester.jobs.jobs
    ├── WriteFailed                      harvester.files: an --out file could not be written
    ├── BodyTooLarge                     harvester.web.app
    └── AddressUnusable                  harvester.web.app: the app's host and port
"""

from __future__ import annotations

import sqlite3

from .dutch import database_condition

# exit statuses, documented in the README
EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class HarvesterError(Exception):
    """An error the harvester expects; the message (Dutch) is shown as it is."""

    exit_status: int = EXIT_FAILED
    kind: str = ""          # a Dutch word put before the message where it stands alone ("themafout")

    def describe(self) -> str:
        """The message with its kind, for a line of its own (stderr, a status page)."""
        return f"{self.kind}: {self}" if self.kind else str(self)


class UsageError(HarvesterError):
    """Something the person asked for or configured cannot be done as asked (exit status 2)."""

    exit_status = EXIT_USAGE


def error_text(e: BaseException) -> str:
    """A failure caught where it must not stop the rest (a job, a source's run), as its log line and
    its record say it: an error the harvester expects (no model, an unusable initiatives file) says
    so itself, and so does a database that refused (busy, full, read-only:
    `dutch.database_condition`, as the CLI words it); anything else is named as an internal error."""
    if isinstance(e, HarvesterError):
        return str(e)
    if isinstance(e, sqlite3.Error) and (reason := database_condition(e)):
        return f"databasefout: {reason}"
    return f"interne fout: {type(e).__name__}: {e}"


def quoted(value: object) -> str:
    """A value someone typed, quoted in a message: at most 40 characters, control characters as '?',
    so a long or hostile parameter cannot fill or break the line it is shown on."""
    text = str(value)
    shown = "".join(c if c.isprintable() else "?" for c in text[:40])
    return repr(shown + ("…" if len(text) > 40 else ""))
