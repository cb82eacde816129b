"""Where each command's log records go: set up once, in the front door, by what the command is.

A command that nobody set logging up for gets Python's last resort: the bare message on stderr,
no time, no level, amid the command's own Dutch lines. So every command gets a handler here:
- the services (`run`, `up`, `serve`) log every event as one line, for the admin who reads their log
  (journald, a file): a timestamp, the level, then the message (the job's key=value line);
- a hand command says in Dutch what it did, so it logs only what the user must see besides that: a
  warning, and a bug's traceback (once, never swallowed). The background job's own log (logger
  `harvester.run`: its key=value outcome lines, that its outcome could not be recorded) is left out
  when a hand command runs a job's pass (`recheck`): the command reports that outcome itself.
"""

from __future__ import annotations

import logging
import sys

SERVICES = {"run", "up", "serve"}
FORMAT = "%(asctime)s %(levelname)s %(message)s"
DATEFMT = "%Y-%m-%dT%H:%M:%S%z"
JOB_LOG = "harvester.run"


def setup_logging(command: str) -> None:
    """One stderr handler on the root logger for `command`. No handler is added where the root already
    has one (a test's capturing handler, or a second call in the same process); a service still quiets
    apscheduler's and httpx's own INFO lines."""
    service = command in SERVICES
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(FORMAT, DATEFMT))
    if not service:
        handler.addFilter(_not_the_jobs_outcome)
    logging.basicConfig(level=logging.INFO if service else logging.WARNING, handlers=[handler])
    if service:
        # APScheduler's and httpx's own INFO lines ("Running job", "HTTP Request") would drown ours
        for noisy in ("apscheduler", "httpx"):
            logging.getLogger(noisy).setLevel(logging.WARNING)


def _not_the_jobs_outcome(record: logging.LogRecord) -> bool:
    """False for the background job's log, whose outcome a hand command says itself in Dutch; a
    record with a traceback is a bug, and always passes."""
    return record.exc_info is not None or record.name != JOB_LOG
