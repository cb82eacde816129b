"""collect: one pass over the sources (the background job is `harvester run`)."""

from __future__ import annotations

import sys

import click

from ..config import Config, Source
from ..dutch import counted
from ..jobs.harvest import log_line, run_sources
from ..models import RunResult
from ..store import Store
from .common import EXIT_FAILED, EXIT_OK, EXIT_USAGE, fail, interactive, open_store, with_config_file
from .dutch_click import Command

# how a run's or a job's status reads, here and in `harvester status`
STATUS_TEXT = {
    "ok": "gelukt",
    "partial": "deels gelukt",
    "failed": "MISLUKT",
    "not_modified": "ongewijzigd sinds vorige keer",
    "skipped": "overgeslagen",
    "running": "loopt nog",
    "interrupted": "onderbroken: het proces stopte tijdens deze run",
}


@click.command(cls=Command)
@click.option("--source", "names", multiple=True, metavar="NAAM",
              help="Alleen deze bron (mag vaker); standaard alle bronnen uit de configuratie.")
@with_config_file
def collect(config: Config, names: tuple[str, ...]) -> None:
    """Haal de bronnen één keer op en sla nieuwe en gewijzigde posts op.

    Een bron die een ander proces nu ophaalt (de achtergrondtaak, of een tweede `collect`), wordt
    overgeslagen: die run loopt door, en er telt geen fout mee.

    Exitstatus 0 als elke bron lukte, 1 als er een mislukte (wat wel lukte is opgeslagen).
    """
    sources = _select(config, names)
    with open_store(config) as store:
        results = collect_sources(store, config, sources)
    sys.exit(EXIT_FAILED if any(r.failed for r in results) else EXIT_OK)


def collect_sources(store: Store, config: Config, sources: list[Source]) -> list[RunResult]:
    """Run the sources with a progress bar on a terminal (plain lines otherwise), then summarise."""
    runs = run_sources(store, config, sources)
    results: list[RunResult] = []
    if interactive():
        with click.progressbar(runs, length=len(sources), label="Bronnen ophalen", file=sys.stderr,
                               item_show_func=lambda r: r.source if r else None) as bar:
            results.extend(bar)
        for result in results:
            click.echo(summary_line(result))
    else:
        for result in runs:
            results.append(result)
            click.echo(summary_line(result))
            click.echo(log_line(result), err=True)
    failed = sum(r.failed for r in results)
    click.echo(f"Klaar: {counted(len(results), 'bron', 'bronnen')}, "
               f"{counted(sum(r.counts.new for r in results), 'nieuwe post', 'nieuwe posts')}, {failed} mislukt.")
    if failed:
        click.echo("Wat lukte is opgeslagen; de foutmeldingen staan ook in `harvester status`.")
    return results


def summary_line(result: RunResult) -> str:
    c = result.counts
    line = f"{result.source}: {STATUS_TEXT.get(result.status, result.status)}"
    if result.status == "skipped":
        return f"{line}: {result.error}"
    line += f" ({c.new} nieuw, {c.updated} bijgewerkt, {c.unchanged} ongewijzigd, {c.skipped} overgeslagen)"
    if result.error:
        line += f"\n  {'probleem' if result.status == 'partial' else 'fout'}: {result.error}"
    return line


def _select(config: Config, names: tuple[str, ...]) -> list[Source]:
    if not names:
        return list(config.sources)
    known = {s.name for s in config.sources}
    unknown = [n for n in names if n not in known]
    if unknown:
        fail(f"onbekende bron: {', '.join(unknown)} (bekend: {', '.join(sorted(known)) or 'geen'})", EXIT_USAGE)
    return [config.source(n) for n in dict.fromkeys(names)]
