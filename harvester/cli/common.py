"""What every command shares: the --config option, opening the store, clean error exits.

Every `HarvesterError` a command lets through ends in one place, `exit_on_error` (the `harvester`
group calls every command through it): one line on stderr, "harvester COMMAND: message", and the
error's exit status; a database error (`sqlite3.Error`) too, in Dutch.
"""

from __future__ import annotations

import contextlib
import functools
import os
import shutil
import sqlite3
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import click

from ..config import Config, load_config
from ..dutch import database_condition
from ..dutch import decimal as decimal   # the commands' Dutch numbers, shared with learning and nlp
from ..errors import EXIT_FAILED, EXIT_OK, EXIT_USAGE, HarvesterError, UsageError
from ..store import Store

__all__ = ["EXIT_FAILED", "EXIT_OK", "EXIT_USAGE", "check_out_folder", "config_args", "config_option",
           "exit_on_error", "fail", "interactive", "open_existing_store", "open_store", "out_option", "program",
           "require_database", "with_config", "with_config_file"]


config_option = click.option(
    "--config", "config_file", type=click.Path(dir_okay=False), default=None,
    help="Configuratiebestand (standaard $HARVESTER_CONFIG, anders harvester.toml of config/harvester.toml "
         "in deze map, anders de ingebouwde standaardinstellingen).",
)


def with_config(command: Callable) -> Callable:
    """Add --config to a command and hand it the loaded, validated Config.

    `harvester --config X cmd` and `harvester cmd --config X` both work; the latter wins.
    A bad config (ConfigError) ends the command in `exit_on_error`, like every HarvesterError.
    """

    @config_option
    @functools.wraps(command)
    def wrapper(*args, config_file: str | None, **kwargs):
        ctx = click.get_current_context()
        config_file = config_file or (ctx.obj or {}).get("config_file")
        return command(*args, config=load_config(config_file), **kwargs)

    return wrapper


def with_config_file(command: Callable) -> Callable:
    """`with_config` for the commands that need sources: without a config file they stop at once."""

    @with_config
    @functools.wraps(command)
    def wrapper(*args, config: Config, **kwargs):
        if config.path is None:
            fail("Geen configuratiebestand gevonden (harvester.toml of config/harvester.toml in deze map), "
                 "dus ook geen bronnen. Maak er een met `harvester init`, of kies er een met --config.", EXIT_USAGE)
        return command(*args, config=config, **kwargs)

    return wrapper


def config_args(config: Config) -> str:
    """`--config BESTAND ` for a command line shown to the user ('' when no file was read)."""
    return f"--config {config.path} " if config.path is not None else ""


def program() -> str:
    """The harvester command as this shell can run it, for the command lines hints show.

    `make run` installs into .venv without activating it, so a plain `harvester` there is "command
    not found": when the running program is not the `harvester` found on PATH, the hint names its
    path (relative to this folder when that is shorter). Run as `python -m harvester`, mostly where
    the script is not on PATH, the hint is that, with the Python that runs it named the same way.
    Run otherwise (tests) it says `harvester`."""
    running = Path(sys.argv[0])
    if running.name == "__main__.py" and running.parent.name == "harvester":
        return f"{_as_typed(Path(sys.executable))} -m harvester"
    if running.name != "harvester":
        return "harvester"
    return _as_typed(running)


def _as_typed(program_path: Path) -> str:
    """A program as this shell can start it: its bare name when PATH finds it in the same folder, else
    its path. The folders are compared, not the files: a venv's python is a link to the system's,
    and only the one in the venv has the harvester."""
    found = shutil.which(program_path.name)
    absolute = program_path.absolute()
    if found and Path(found).absolute().parent.resolve() == absolute.parent.resolve():
        return program_path.name
    relative = os.path.relpath(absolute)
    relative = relative if os.sep in relative else os.path.join(".", relative)
    return min(relative, str(absolute), key=len)


def out_option(help: str) -> Callable:
    """--out BESTAND, the file a command writes. A folder, or a file in a folder that does not exist, is
    refused by `check_out_folder`: click's own check (dir_okay=False) would pass the missing folder."""
    return click.option("--out", required=True, type=click.Path(path_type=Path), metavar="BESTAND", help=help)


def check_out_folder(out: Path) -> None:
    """Refuse an --out that is a folder or whose folder does not exist, before the command does any
    work: a typo in the path would otherwise cost a whole run and end in Python's English OSError."""
    if not out.parent.is_dir():
        raise UsageError(f"map {out.parent} bestaat niet")
    if out.is_dir():
        raise UsageError(f"{out} is een map; geef de naam van het bestand dat gemaakt moet worden")


def open_store(config: Config) -> Store:
    """The configured database, created or migrated as needed (a StoreError ends the command)."""
    return Store(config.db_path)


def open_existing_store(config: Config) -> Store:
    """`open_store` for a command that needs what is already stored, to look at (status, export) or to
    work on (classify, purge, users passwd/disable/enable): where there is no database yet,
    it says so and how to make one (exit 2), instead of creating an empty one that then reports an
    empty tool or nothing done."""
    require_database(config)
    return open_store(config)


def require_database(config: Config) -> None:
    """`open_existing_store`'s check alone, for a command whose work opens the store itself (recheck runs
    the background job's pass, which records its own failures): no database yet ends it with exit 2."""
    if not config.db_path.exists():
        fail(f"Nog geen database {config.db_path}: maak die met `{program()} {config_args(config)}init` "
             "(of `make run` in de checkout).", EXIT_USAGE)


@contextlib.contextmanager
def exit_on_error(group: click.Context) -> Iterator[None]:
    """A HarvesterError out of the command `group` runs (a bad config or themes file, a StoreError,
    a missing secret, a second scheduler...) ends the process with one line on stderr and the
    error's exit status. So does a database that refuses a command's read or write (busy beyond the
    wait, a full disk), with SQLite's reason in Dutch (`dutch.database_condition`); any other SQLite
    error is a bug and keeps its traceback. The one place the CLI catches errors: commands let them
    through."""
    try:
        yield
    except HarvesterError as e:
        _exit(group, e.describe(), e.exit_status)
    except sqlite3.Error as e:
        reason = database_condition(e)
        if reason is None:   # a bug (bad SQL, a closed connection): its traceback is what helps
            raise
        _exit(group, f"databasefout: {reason}", EXIT_FAILED)


def _exit(group: click.Context, message: str, status: int) -> None:
    command = group.invoked_subcommand   # known only once the group has parsed its arguments
    fail(f"harvester {command}: {message}" if command else f"harvester: {message}", status)


def fail(message: str, status: int = EXIT_FAILED) -> None:
    click.echo(message, err=True)
    sys.exit(status)


def interactive() -> bool:
    """Progress bars only on a terminal; logs and cron get plain lines."""
    return sys.stderr.isatty()
