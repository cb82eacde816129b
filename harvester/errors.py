"""The root of the harvester's own exceptions.

Every error the harvester expects (a bad option, a missing secret, a database it cannot use, a
second scheduler) derives from `HarvesterError` and says in `exit_status` how a command ends when
it is not handled on the way: the CLI turns it into one line on stderr and that status
(harvester.cli.common), never a traceback. Messages are Dutch: people read them as they are.
"""

from __future__ import annotations

# exit statuses, documented in the README
EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class HarvesterError(Exception):
    """An error the harvester expects; the message (Dutch) is shown as it is."""

    exit_status: int = EXIT_FAILED


class UsageError(HarvesterError):
    """Something the person asked for or configured cannot be done as asked (exit status 2)."""

    exit_status = EXIT_USAGE
