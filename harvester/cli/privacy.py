"""purge: remove posts no editor accepted once they are older than the retention period."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import click

from ..config import Config
from ..timeutil import to_utc_iso
from .common import open_store, with_config


@click.command()
@click.option("--dry-run", is_flag=True, help="Alleen tonen wat verwijderd zou worden; niets wijzigen.")
@with_config
def purge(config: Config, dry_run: bool) -> None:
    """Verwijder posts die nooit zijn geaccepteerd en ouder zijn dan `retention_days`.

    Oud is: langer dan `[privacy] retention_days` geleden voor het eerst opgehaald. Met de post
    verdwijnen tags, classificatie, beoordeling en de tekst uit de zoekindex en uit het bestand;
    auteurs zonder overgebleven posts ook. Geaccepteerde ideeën blijven.
    """
    days = config.privacy.retention_days
    cutoff = to_utc_iso(datetime.now(UTC) - timedelta(days=days))
    with open_store(config) as store:
        if dry_run:
            ids = store.privacy.expired_posts(cutoff)
            click.echo(f"Proefdraai: {len(ids)} posts ouder dan {days} dagen zouden worden verwijderd.")
            if ids:
                click.echo("ids: " + ", ".join(map(str, ids)))
            return
        ids = store.privacy.purge(cutoff)
    click.echo(f"Verwijderd: {len(ids)} posts ouder dan {days} dagen die nooit zijn geaccepteerd.")
