"""purge: remove posts no editor accepted once they are older than the retention period, and give
accepted ones a pseudonym instead of their author once they are older than theirs.
forget: remove one author's posts and personal data, and never harvest them again."""

from __future__ import annotations

import click

from ..privacy import retention
from ..config import Config
from ..dutch import counted
from ..privacy.forget import parse_author
from ..privacy.forget import forget as forget_author
from ..privacy.hashing import load_secret
from .common import EXIT_FAILED, fail, open_existing_store, open_store, with_config
from .dutch_click import Command


@click.command(cls=Command)
@click.option("--dry-run", is_flag=True, help="Alleen tonen wat verwijderd zou worden; niets wijzigen.")
@with_config
def purge(config: Config, dry_run: bool) -> None:
    """Verwijder posts die nooit zijn geaccepteerd en ouder zijn dan `retention_days`; geef
    geaccepteerde ideeën ouder dan `pseudonymize_accepted_after_days` een pseudoniem.

    Oud is: langer geleden voor het eerst opgehaald. Met de post verdwijnen tags, classificatie,
    beoordeling en de tekst uit de zoekindex en uit het bestand; auteurs zonder overgebleven posts
    ook. Een verwijderde post wordt niet opnieuw opgeslagen, ook niet als de bron hem nog toont
    (een tombstone: alleen een hash van zijn sleutel). Geaccepteerde ideeën houden hun tekst, maar hun auteur wordt een pseudoniem (daarvoor is de
    geheime sleutel nodig; ontbreekt die, dan wordt wel verwijderd en eindigt purge met status 1).
    """
    privacy = config.privacy
    with open_existing_store(config) as store:   # nothing stored, nothing to remove
        result = retention.purge(store, config, dry_run=dry_run)
    due = result.pseudonymized
    days = counted(privacy.retention_days, "dag", "dagen")
    pseudonym_days = counted(privacy.pseudonymize_accepted_after_days, "dag", "dagen")
    authors = counted(due.authors, "auteur", "auteurs")
    if dry_run:
        click.echo(f"Proefdraai: {counted(len(result.deleted), 'post', 'posts')} ouder dan {days} "
                   f"{'zou' if len(result.deleted) == 1 else 'zouden'} worden verwijderd.")
        if result.deleted:
            click.echo("ids: " + ", ".join(map(str, result.deleted)))
        click.echo(f"Proefdraai: {counted(len(due.posts), 'geaccepteerde post', 'geaccepteerde posts')} ouder dan "
                   f"{pseudonym_days} ({authors}) {'zou' if len(due.posts) == 1 else 'zouden'} een "
                   "pseudoniem krijgen.")
        if due.posts:
            click.echo("ids: " + ", ".join(map(str, due.posts)))
        for problem in result.problems:
            click.echo(f"Let op: {problem}", err=True)
        return
    click.echo(f"Verwijderd: {counted(len(result.deleted), 'post', 'posts')} ouder dan {days} die nooit "
               f"{'is' if len(result.deleted) == 1 else 'zijn'} geaccepteerd.")
    click.echo(f"Gepseudonimiseerd: {counted(len(due.posts), 'geaccepteerde post', 'geaccepteerde posts')} "
               f"ouder dan {pseudonym_days} ({authors}).")
    if result.problems:
        fail("; ".join(result.problems), EXIT_FAILED)


@click.command(cls=Command)
@click.argument("author", metavar="AUTEUR")
@click.option("--dry-run", is_flag=True, help="Alleen tellen wat verwijderd zou worden; niets wijzigen.")
@with_config
def forget(config: Config, author: str, dry_run: bool) -> None:
    """Vergeet een auteur: verwijder alles van hem/haar en haal nooit meer iets van hem/haar op.

    AUTEUR is een Mastodon-account (naam@instance of @naam@instance), een Bluesky-handle
    (naam.bsky.social) of -DID (did:plc:...), een profiel-URL (https://instance/@naam,
    https://bsky.app/profile/..., of de profiel-URL van een feedauteur), of een feedauteur zoals de
    harvester die bewaart: 'Naam (site)', of alleen de naam als die bij één site voorkomt.

    Weg gaan: de posts (met tags, classificatie, beoordeling, zoekindex), de auteursgegevens, de
    auteur als vermelding in andere posts, en namen en citaten in notities (vervangen door
    [verwijderd]); daarna wordt het bestand herschreven (VACUUM). Er blijft alleen een vingerafdruk
    met geheime sleutel (suppressie) over, en in de audittrail een regel met aantallen. Daarvoor is de
    geheime sleutel nodig ([privacy] secret_env, standaard HARVESTER_SECRET).
    """
    request = parse_author(author)
    secret = load_secret(config.privacy.secret_env)
    # a forget before anything was collected still writes its suppression, so the author is never
    # harvested; a dry run writes nothing, so without a database there is nothing for it to count
    with (open_existing_store if dry_run else open_store)(config) as store:
        result = forget_author(store, secret, request, min_authors=config.initiatives.min_authors, dry_run=dry_run)
    c = result.counts
    click.echo("Proefdraai: er is niets gewijzigd. Dit zou gebeuren:" if dry_run else "Vergeten. Dit is gebeurd:")
    click.echo(f"  herkend als: {', '.join(result.keys)}")
    click.echo(f"  posts verwijderd: {c.posts} (met tags, classificatie, beoordeling en zoekindex)")
    click.echo(f"  auteursgegevens verwijderd: {c.authors}")
    click.echo(f"  notities geschoond: {c.notes} in beoordelingen, {c.events} in de audittrail")
    click.echo(f"  vermeldingen weggehaald uit andere posts: {c.mentions}, antwoordverwijzingen: {c.replies}, "
               f"links: {c.links}")
    click.echo(f"  nieuwe suppressies: {counted(c.suppressions, 'kenmerk van de auteur', 'kenmerken van de auteur')}, "
               f"{counted(c.tombstones, 'post', 'posts')}")
    if not c.posts and not c.authors:
        click.echo("Er was niets van deze auteur opgeslagen; de suppressie zorgt dat dat zo blijft.")
