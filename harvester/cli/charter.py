"""charter: the concept charter as a document for the drafting team."""

from __future__ import annotations

from pathlib import Path

import click

from ..charter import Charter, build_charter, charter_format, statuses_of, write_charter
from ..dutch import counted
from ..files import replacing
from ..privacy.hashing import load_secret
from ..models import Status
from ..nlp.themes import load_themes
from .common import check_out_folder, open_existing_store, out_option, with_config
from .dutch_click import Command


@click.command(cls=Command)
@out_option("Het document dat gemaakt wordt: .md, .odt (OpenDocument) of .docx (Word).")
@click.option("--status", "statuses", multiple=True, metavar="STATUS",
              help=f"Ideeën met deze beoordeling ({Status.ACCEPTED}, {Status.NEW} of {Status.REJECTED}); "
                   f"herhaalbaar. Standaard {Status.ACCEPTED}.")
@click.option("--pseudonymize", is_flag=True,
              help="Auteurs (ook hun naam in de tekst) en @vermeldingen als vaste pseudoniemen "
                   "(sleutel uit de omgeving); geen links.")
@with_config
def charter(config, out: Path, statuses: tuple[str, ...], pseudonymize: bool) -> None:
    """Maak de conceptcharter: per thema de ideeën, verwante ideeën bij elkaar."""
    fmt = charter_format(out.name)
    themes = load_themes(config.nlp.themes)
    check_out_folder(out)
    secret = load_secret(config.privacy.secret_env) if pseudonymize else None
    with open_existing_store(config) as store:
        document = build_charter(store, themes, statuses=statuses_of(statuses), secret=secret)
    with replacing(out) as stream:   # a failed run leaves no half document
        write_charter(document, fmt, stream)
    click.echo(f"conceptcharter met {contents(document)} geschreven naar {out}")


def contents(document: Charter) -> str:
    """What the document holds, for the closing line: '3 ideeën in 2 thema's', '4 ideeën (1 zonder
    thema) in 3 thema's', '1 idee (zonder thema)'. The themes are those with ideas: a theme without
    any is in the document with '0 ideeën', but the line says where the ideas are."""
    text = counted(document.ideas, "idee", "ideeën")
    if document.unthemed:
        text += " (zonder thema)" if document.unthemed == document.ideas else f" ({document.unthemed} zonder thema)"
    if document.themes_with_ideas:
        text += " in " + counted(document.themes_with_ideas, "thema", "thema's")
    return text
