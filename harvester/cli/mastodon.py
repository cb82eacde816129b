"""recheck: find Mastodon and Bluesky posts that were deleted at the source, and forget them."""

from __future__ import annotations

import sys
import threading

import click

from ..config import Config
from ..dutch import counted
from .common import EXIT_FAILED, EXIT_OK, require_database, with_config_file
from .dutch_click import Command


@click.command(cls=Command)
@with_config_file
def recheck(config: Config) -> None:
    """Controleer of recente Mastodon- en Bluesky-posts nog bestaan; verwijderde posts worden vergeten.

    Posts jonger dan `recheck_days` worden opnieuw opgevraagd bij elke instance waar ze gezien zijn,
    en bij Bluesky.
    Een verwijderde post verliest tekst en auteursgegevens; alleen een onherleidbare markering blijft,
    zodat hij nooit opnieuw wordt opgehaald. Heeft de auteur zich inmiddels afgemeld (#nobot, #noindex,
    ..., of op Bluesky !no-unauthenticated), dan worden al zijn/haar posts vergeten zoals met
    `harvester forget`. De uitkomst staat daarna in `harvester status` (hercontrole), net als die van
    de achtergrondtaak, ook als de controle mislukte. Exitstatus 1 als een instance of Bluesky niet te
    bereiken was of de controle mislukte.
    """
    from ..jobs.jobs import JobFailed, Jobs   # spaCy comes with the jobs: loaded when the command runs

    require_database(config)
    try:
        # the background job's pass: it decides the outcome and records it, a failure too
        result, not_compacted = Jobs(config, threading.Event()).recheck_pass()
    except JobFailed as e:
        raise e.__cause__ from None   # its reason ends the command in Dutch (`exit_on_error`)
    click.echo(f"Gecontroleerd: {counted(result.checked, 'post', 'posts')}, verwijderd bij de bron: {result.deleted}, "
               f"bijgewerkt na een bewerking: {result.updated}.")
    if result.opted_out:
        click.echo(f"Afgemelde auteurs vergeten (hun posts verwijderd): {result.opted_out}.")
    for problem in result.problems + result.warnings:
        click.echo(f"  probleem: {problem}", err=True)
    if not_compacted:
        click.echo(f"  probleem: het bestand is niet gecompacteerd: {not_compacted}", err=True)
    sys.exit(EXIT_FAILED if result.problems or not_compacted else EXIT_OK)
