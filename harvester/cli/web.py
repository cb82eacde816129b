"""serve and users: the review app and its accounts."""

from __future__ import annotations

import dataclasses
import json
import sys

import click

from ..models import Role
from ..timeutil import dutch_time
from ..store.users import name_problem
from .common import EXIT_USAGE, config_args, fail, open_existing_store, open_store, program, with_config
from .dutch_click import Command, Group, WholeNumber


@click.command(cls=Command)
@click.option("--host", default=None, metavar="ADRES", help="Adres om op te luisteren (standaard [web] host, 127.0.0.1).")
@click.option("--port", default=None, type=WholeNumber(1, 65535), help="Poort (standaard [web] port, 8000).")
@with_config
def serve(config, host: str | None, port: int | None) -> None:
    """Start de beoordelingsapp voor de redactie (stop met Ctrl-C)."""
    from ..web import serve as run

    with open_store(config) as store:  # create or migrate the database first, with a clean error if that fails
        if not store.users.all():
            click.echo("Nog geen accounts. Maak de eerste aan met:\n"
                       f"  {program()} {config_args(config)}users add NAAM --role beheerder", err=True)
    run(config, host, port)


@click.group(cls=Group)
def users() -> None:
    """Beheer de accounts van de beoordelingsapp."""


@users.command("add")
@click.argument("name", metavar="NAAM")
@click.option("--role", required=True, type=click.Choice([r.value for r in Role]),
              help="lezer: alleen lezen; redacteur: beoordelen; beheerder: ook accounts beheren.")
@click.option("--password-stdin", is_flag=True, help="Lees het wachtwoord van standaardinvoer (eerste regel).")
@with_config
def users_add(config, name: str, role: str, password_stdin: bool) -> None:
    """Maak een account NAAM aan; het wachtwoord wordt gevraagd (of gelezen met --password-stdin)."""
    from ..web.auth import hash_password

    if name_problem(name):
        fail(name_problem(name), EXIT_USAGE)
    password = _read_password(password_stdin)
    with open_store(config) as store:
        store.users.add(name, role, hash_password(password))
    click.echo(f"Account {name} ({role}) is aangemaakt.")


@users.command("passwd")
@click.argument("name", metavar="NAAM")
@click.option("--password-stdin", is_flag=True, help="Lees het nieuwe wachtwoord van standaardinvoer (eerste regel).")
@with_config
def users_passwd(config, name: str, password_stdin: bool) -> None:
    """Geef account NAAM een nieuw wachtwoord; lopende sessies eindigen meteen."""
    from ..web.auth import hash_password

    password = _read_password(password_stdin)
    with open_existing_store(config) as store:
        if not store.users.set_password(name, hash_password(password)):
            fail(f"Account {name} bestaat niet.", EXIT_USAGE)
    click.echo(f"Account {name} heeft een nieuw wachtwoord.")


def _read_password(from_stdin: bool) -> str:
    """A new password from stdin or a double prompt on a terminal; refused (exit 2) when too weak."""
    from ..web.auth import password_problem

    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    elif not sys.stdin.isatty():
        # getpass would warn in English that the password may be echoed, then abort
        fail("Geen terminal om het wachtwoord te vragen: geef het met --password-stdin op standaardinvoer "
             "(de eerste regel).", EXIT_USAGE)
    else:
        password = click.prompt("Wachtwoord", hide_input=True, confirmation_prompt="Nogmaals")
    problem = password_problem(password)
    if problem:
        fail(problem, EXIT_USAGE)
    return password


@users.command("list")
@click.option("--json", "as_json", is_flag=True, help="Eén JSON-lijst.")
@with_config
def users_list(config, as_json: bool) -> None:
    """Toon alle accounts met hun rol.

    Een uitgeschakeld account toont sinds wanneer, in Nederlandse tijd (in --json in UTC, ISO 8601).
    Is er nog geen database, dan zegt users list dat (exitstatus 2) en maakt er geen.
    """
    with open_existing_store(config) as store:
        rows = store.users.all()
    if as_json:
        click.echo(json.dumps([dataclasses.asdict(u) for u in rows], ensure_ascii=False, indent=2))
        return
    if not rows:
        click.echo(f"Nog geen accounts: maak er een met `{program()} {config_args(config)}users add NAAM --role beheerder`.")
    for u in rows:
        click.echo(f"{u.name}\t{u.role}\t{'actief' if u.active else 'uitgeschakeld sinds ' + dutch_time(u.disabled_at)}")


@users.command("disable")
@click.argument("name", metavar="NAAM")
@with_config
def users_disable(config, name: str) -> None:
    """Schakel account NAAM uit; lopende sessies eindigen meteen."""
    _set_disabled(config, name, True, f"Account {name} is uitgeschakeld.")


@users.command("enable")
@click.argument("name", metavar="NAAM")
@with_config
def users_enable(config, name: str) -> None:
    """Activeer een uitgeschakeld account NAAM weer."""
    _set_disabled(config, name, False, f"Account {name} is weer actief.")


def _set_disabled(config, name: str, disabled: bool, done: str) -> None:
    with open_existing_store(config) as store:
        if not store.users.set_disabled(name, disabled):
            fail(f"Account {name} bestaat niet.", EXIT_USAGE)
    click.echo(done)
