"""run and up: the background job (scheduler), one cycle of it for cron, and the whole tool at once."""

from __future__ import annotations

import sys

import click

from ..config import Config
from ..jobs.service import run_once, serve
from .common import EXIT_FAILED, config_args, fail, open_store, program, with_config_file
from .dutch_click import Command


@click.command(cls=Command)
@click.option("--once", is_flag=True,
              help="Eén ronde van alles (elke bron, classificatie, initiatieven, hercontrole, opschonen) en dan "
                   "stoppen; voor cron.")
@with_config_file
def run(config: Config, once: bool) -> None:
    """De achtergrondtaak: haal elke bron op volgens zijn interval_minutes, classificeer wat nieuw is,
    koppel posts aan hun initiatieven, controleer dagelijks of recente Mastodon- en Bluesky-posts nog
    bestaan, en schoon elke `purge_hours` op (zoals `harvester purge`).

    Stopt netjes op SIGTERM of Ctrl-C (exitstatus 0). Met --once: exitstatus 0 als alles lukte,
    1 als een taak mislukte, 2 bij een fout in de configuratie. Draait er al een achtergrondtaak op
    dezelfde database, dan weigert deze te starten (exitstatus 1).
    """
    open_store(config).close()   # create or migrate first, with a clean error if that fails
    sys.exit(run_once(config) if once else serve(config))


@click.command(cls=Command)
@with_config_file
def up(config: Config) -> None:
    """Het hoofdwerk (`make run`): database aanmaken of bijwerken, dan de achtergrondtaak en de
    beoordelingsapp samen, tot Ctrl-C of SIGTERM."""
    from ..web import ServerThread

    with open_store(config) as store:
        click.echo(f"Database {config.db_path} is klaar (schemaversie {store.schema_version}).")
        has_users = bool(store.users.all())
    web = ServerThread(config, config.web.host, config.web.port)

    def started() -> None:
        click.echo(f"Beoordelingsapp: {web.url}/  (stoppen: Ctrl-C)")
        if not has_users:
            click.echo("Nog geen accounts. Maak het eerste account (beheerder) aan met:\n"
                       f"  {program()} {config_args(config)}users add NAAM --role beheerder")

    try:
        status = serve(config, beside=web, on_started=started)
    except RuntimeError as e:   # the app did not come up (a taken port is refused before, by ServerThread)
        fail(f"harvester up: niet gestart: {e}", EXIT_FAILED)
    sys.exit(status)
