"""purge: remove posts no editor accepted once they are older than the retention period, and give
accepted ones a pseudonym instead of their author once they are older than theirs."""

from __future__ import annotations

import click

from .. import retention
from ..config import Config
from .common import EXIT_FAILED, fail, open_store, with_config


@click.command()
@click.option("--dry-run", is_flag=True, help="Alleen tonen wat verwijderd zou worden; niets wijzigen.")
@with_config
def purge(config: Config, dry_run: bool) -> None:
    """Verwijder posts die nooit zijn geaccepteerd en ouder zijn dan `retention_days`; geef
    geaccepteerde ideeën ouder dan `pseudonymize_accepted_after_days` een pseudoniem.

    Oud is: langer geleden voor het eerst opgehaald. Met de post verdwijnen tags, classificatie,
    beoordeling en de tekst uit de zoekindex en uit het bestand; auteurs zonder overgebleven posts
    ook. Geaccepteerde ideeën houden hun tekst, maar hun auteur wordt een pseudoniem (daarvoor is de
    geheime sleutel nodig; ontbreekt die, dan wordt wel verwijderd en eindigt purge met status 1).
    """
    privacy = config.privacy
    with open_store(config) as store:
        result = retention.purge(store, config, dry_run=dry_run)
    due = result.pseudonymized
    if dry_run:
        click.echo(f"Proefdraai: {len(result.deleted)} posts ouder dan {privacy.retention_days} dagen "
                   "zouden worden verwijderd.")
        if result.deleted:
            click.echo("ids: " + ", ".join(map(str, result.deleted)))
        click.echo(f"Proefdraai: {len(due.posts)} geaccepteerde posts ouder dan "
                   f"{privacy.pseudonymize_accepted_after_days} dagen ({due.authors} auteurs) zouden een "
                   "pseudoniem krijgen.")
        if due.posts:
            click.echo("ids: " + ", ".join(map(str, due.posts)))
        for problem in result.problems:
            click.echo(f"Let op: {problem}", err=True)
        return
    click.echo(f"Verwijderd: {len(result.deleted)} posts ouder dan {privacy.retention_days} dagen die nooit zijn "
               "geaccepteerd.")
    click.echo(f"Gepseudonimiseerd: {len(due.posts)} geaccepteerde posts ouder dan "
               f"{privacy.pseudonymize_accepted_after_days} dagen ({due.authors} auteurs).")
    if result.problems:
        fail("; ".join(result.problems), EXIT_FAILED)
