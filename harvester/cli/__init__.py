"""The `harvester` command: one front door for every job."""

from __future__ import annotations

import click

from .. import __version__
from . import basic, collect
from . import nlp as nlp_commands
from . import web as web_commands
from .common import config_option
from .export import export as export_command
from .mastodon import recheck as recheck_command
from .privacy import forget as forget_command
from .privacy import purge as purge_command
from .run import run as run_command
from .run import up as up_command


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="harvester")
@config_option
@click.pass_context
def main(ctx: click.Context, config_file: str | None) -> None:
    """Verzamel, classificeer, beoordeel en exporteer #innoverheid-ideeën."""
    ctx.obj = {"config_file": config_file}


for command in (basic.init, basic.status, basic.posts, collect.collect):
    main.add_command(command)
main.add_command(recheck_command)
for command in (nlp_commands.classify, nlp_commands.train, nlp_commands.evaluate):
    main.add_command(command)
main.add_command(run_command)
main.add_command(up_command)
for command in (web_commands.serve, web_commands.users):
    main.add_command(command)
main.add_command(export_command)
main.add_command(purge_command)
main.add_command(forget_command)
