"""The `harvester` command: one front door for every job.

Each command's module is imported only when that command runs: loading spaCy, the scheduler or
the web stack takes a second or more, which `harvester status` or `harvester posts` should not pay.
Click's own texts (usage, headings, its errors) are Dutch through `dutch_click`.
"""

from __future__ import annotations

import importlib

import click

from . import dutch_click

dutch_click.install()   # before the commands' modules make their click types: Path names itself then

from .. import __version__  # noqa: E402
from .common import config_option, exit_on_error  # noqa: E402
from .logs import setup_logging  # noqa: E402

# command name -> "module:function" in this package
COMMANDS = {
    "init": "basic:init",
    "status": "basic:status",
    "posts": "basic:posts",
    "collect": "collect:collect",
    "recheck": "mastodon:recheck",
    "classify": "nlp:classify",
    "train": "nlp:train",
    "evaluate": "nlp:evaluate",
    "models": "learning:models",
    "retrain": "learning:retrain",
    "run": "run:run",
    "up": "run:up",
    "serve": "web:serve",
    "users": "web:users",
    "export": "export:export",
    "charter": "charter:charter",
    "initiatives": "initiatives:initiatives",
    "network": "initiatives:network",
    "purge": "privacy:purge",
    "forget": "privacy:forget",
}


class LazyGroup(dutch_click.Group):
    """A click group that imports a command's module when the command is looked up (click's lazy-loading pattern)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in COMMANDS:
            return None
        module, function = COMMANDS[name].split(":")
        return getattr(importlib.import_module(f".{module}", __name__), function)

    def resolve_command(self, ctx: click.Context, args: list[str]) -> tuple[str | None, click.Command | None, list[str]]:
        """The command to run, with logging set up for what it is (`logs`): before it runs, in one place."""
        name, command, rest = super().resolve_command(ctx, args)
        if command is not None:
            setup_logging(name)
        return name, command, rest

    def invoke(self, ctx: click.Context) -> object:
        with exit_on_error(ctx):
            return super().invoke(ctx)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="harvester")
@config_option
@click.pass_context
def main(ctx: click.Context, config_file: str | None) -> None:
    """Verzamel, classificeer, beoordeel en exporteer #innoverheid-ideeën."""
    ctx.obj = {"config_file": config_file}
