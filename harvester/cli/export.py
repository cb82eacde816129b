"""export: the reviewed ideas as a spreadsheet for workshops."""

from __future__ import annotations

from pathlib import Path

import click

from ..dutch import counted
from ..export import DIALECTS, FORMATS, ExportOptions, parse_day, write_export
from ..files import replacing
from ..privacy.hashing import load_secret
from ..models import Status
from ..nlp.themes import load_themes
from .common import check_out_folder, interactive, open_existing_store, out_option, with_config
from .dutch_click import Command


@click.command(cls=Command)
@out_option("Het bestand dat gemaakt wordt (een bestaand bestand wordt pas aan het eind vervangen).")
@click.option("--format", "fmt", metavar="|".join(FORMATS), default=None,
              help="Bestandsformaat; standaard xlsx als --out op .xlsx eindigt, anders csv.")
@click.option("--dialect", metavar="|".join(DIALECTS), default="excel-nl", show_default=True,
              help="CSV-dialect: excel-nl (';', UTF-8 met BOM, voor Nederlandse Excel) of rfc4180 (',', zonder BOM).")
@click.option("--status", "statuses", multiple=True, metavar="STATUS",
              help=f"Alleen posts met deze beoordeling ({', '.join(Status)}); herhaalbaar. Standaard alle, "
                   "behalve duplicaten: die tellen mee bij hun origineel, en krijgen alleen met --status "
                   "duplicaat een eigen regel.")
@click.option("--theme", "themes", multiple=True, metavar="ID",
              help="Alleen ideeën met dit thema (id uit themes.toml); herhaalbaar.")
@click.option("--since", metavar="JJJJ-MM-DD", help="Alleen posts vanaf deze dag (Nederlandse tijd).")
@click.option("--until", metavar="JJJJ-MM-DD", help="Alleen posts tot en met deze dag (Nederlandse tijd).")
@click.option("--source", "sources", multiple=True, metavar="NAAM", help="Alleen posts van deze bron; herhaalbaar.")
@click.option("--per-theme", is_flag=True, help="Eén regel per idee per thema (kolom 'thema').")
@click.option("--pseudonymize", is_flag=True,
              help="Auteurs (ook hun naam in tekst en notitie) en @vermeldingen vervangen door vaste "
                   "pseudoniemen (sleutel uit de omgeving); geen links.")
@click.option("--raw", is_flag=True, help="Alleen met --dialect rfc4180: cellen precies zoals opgeslagen, "
                                          "zonder bescherming tegen formules.")
@with_config
def export(config, out: Path, fmt: str | None, dialect: str, statuses: tuple[str, ...], themes: tuple[str, ...],
           since: str | None, until: str | None, sources: tuple[str, ...], per_theme: bool, pseudonymize: bool,
           raw: bool) -> None:
    """Exporteer ideeën als CSV (opent goed in Nederlandse Excel) of XLSX, voor workshops."""
    options = ExportOptions(
        format=fmt or ("xlsx" if out.suffix.lower() == ".xlsx" else "csv"),
        dialect=dialect, statuses=statuses, themes=themes,
        since=parse_day(since, "--since") if since else None,
        until=parse_day(until, "--until") if until else None,
        sources=sources, per_theme=per_theme, pseudonymize=pseudonymize, raw=raw,
    )
    theme_set = load_themes(config.nlp.themes)
    secret = load_secret(config.privacy.secret_env) if pseudonymize else None
    check_out_folder(out)
    labels = {t.id: t.label for t in theme_set.themes}
    with open_existing_store(config) as store:
        options.check(themes=theme_set.ids, sources={*store.sources.names(), *(s.name for s in config.sources)})
        with replacing(out) as stream:   # a failed export leaves no half file
            if interactive():
                with click.progressbar(length=store.exports.count(options.query()), label="Exporteren",
                                       file=click.get_text_stream("stderr")) as bar:
                    count = write_export(store, options, stream, secret=secret, progress=bar.update,
                                         labels=labels)
            else:
                count = write_export(store, options, stream, secret=secret, labels=labels)
    click.echo(f"{counted(count, 'regel', 'regels') if per_theme else counted(count, 'idee', 'ideeën')} "
               f"geëxporteerd naar {out}")
