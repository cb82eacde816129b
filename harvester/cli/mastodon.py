"""recheck: find Mastodon and Bluesky posts that were deleted at the source, and forget them."""

from __future__ import annotations

import sys

import click

from ..collectors.http import Fetcher
from ..config import Config
from ..jobs.mastodon_recheck import recheck as run_recheck
from .common import EXIT_FAILED, EXIT_OK, open_existing_store, with_config_file
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
    `harvester forget`. Exitstatus 1 als een instance of Bluesky niet te bereiken was.
    """
    with open_existing_store(config) as store, Fetcher(config.harvest) as fetcher:
        result = run_recheck(store, config, fetcher)
        if result.removed:
            store.privacy.compact()
    click.echo(f"Gecontroleerd: {result.checked} posts, verwijderd bij de bron: {result.deleted}, "
               f"bijgewerkt na een bewerking: {result.updated}.")
    if result.opted_out:
        click.echo(f"Afgemelde auteurs vergeten (hun posts verwijderd): {result.opted_out}.")
    for problem in result.problems + result.warnings:
        click.echo(f"  probleem: {problem}", err=True)
    sys.exit(EXIT_FAILED if result.problems else EXIT_OK)
