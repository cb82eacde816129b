"""initiatives and network: the initiatives posts talk about, their candidates and their network."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import click

from ..config import Config
from ..dutch import counted
from ..timeutil import dutch_time
from .common import check_out_folder, interactive, open_existing_store, out_option, with_config
from .dutch_click import Command


def _update(config: Config, store) -> None:
    """Bring the matches up to date first (all posts again when the catalogue changed)."""
    from ..initiatives import step

    if interactive():
        with click.progressbar(length=max(1, store.initiatives.count_pending()), label="Initiatieven koppelen",
                               file=click.get_text_stream("stderr")) as bar:
            result = step.update(store, config, lambda n, _: bar.update(n - bar.pos))
    else:
        result = step.update(store, config)
    if result.rematched and result.matched:
        click.echo(f"De lijst met initiatieven, de tags van de consultatie of de koppelregels zijn veranderd: "
                   f"{counted(result.matched, 'post', 'posts')} opnieuw gekoppeld.", err=True)


@click.command(cls=Command)
@click.option("--candidates", is_flag=True,
              help="Toon de kandidaten: hashtags, accounts, domeinen en namen die minstens twee auteurs "
                   "gebruiken en nog geen initiatief zijn.")
@click.option("--json", "as_json", is_flag=True, help="Als JSON: een lijst van objecten (name, posts, ...).")
@with_config
def initiatives(config: Config, candidates: bool, as_json: bool) -> None:
    """De initiatieven waar posts over gaan, met hun aantal posts en auteurs en eerste en laatste post.

    Koppelt eerst nieuwe en gewijzigde posts; zijn de lijst met initiatieven (het bestand of een
    besluit van de redactie), de tags van de consultatie ([harvest] tags) of de koppelregels van een
    nieuwe versie veranderd, dan alle posts opnieuw.
    """
    from ..initiatives import step

    with open_existing_store(config) as store:
        _update(config, store)
        if candidates:
            rows = store.initiatives.candidates(limit=1000, examples=0)
            items = [{"kind": c.kind, "term": c.term, "name": c.label, "posts": c.posts, "authors": c.authors,
                      "last_seen": c.last_seen} for c in rows]
            header, fields = ("Soort", "Kandidaat", "Posts", "Auteurs"), ("kind", "name", "posts", "authors")
        else:
            stats = {s.initiative: s for s in store.initiatives.stats()}
            items = []
            for name in step.catalogue(store, config).names():
                s = stats.get(name)
                row = asdict(s) if s else {"posts": 0, "authors": 0, "first_seen": None, "last_seen": None, "themes": {}}
                row.pop("initiative", None)
                items.append({"name": name, **row})
            items.sort(key=lambda i: (-i["posts"], i["name"].casefold()))
            header, fields = ("Initiatief", "Posts", "Auteurs", "Eerste", "Laatste"), \
                ("name", "posts", "authors", "first_seen", "last_seen")
    if as_json:
        click.echo(json.dumps(items, ensure_ascii=False, indent=2))
        return
    if not items:
        click.echo("Geen kandidaten." if candidates else "Geen initiatieven.")
        return
    # the days as people here read them: Dutch time (the JSON keeps the stored UTC)
    cells = [[dutch_time(i[f]) if f.endswith("_seen") and i[f] else str(i[f] if i[f] is not None else "-")
              for f in fields] for i in items]
    widths = [max(len(h), *(len(c[n]) for c in cells)) for n, h in enumerate(header)]
    for line in [list(header), *cells]:
        click.echo("  ".join(c.ljust(w) if n < len(widths) - 1 else c for n, (c, w) in enumerate(zip(line, widths)))
                   .rstrip())


@click.command(cls=Command)
@out_option("Bestand: .gexf of .graphml (voor Gephi), of .csv: dan komen er twee bestanden naast "
            "BESTAND; bij netwerk.csv zijn dat netwerk-knopen.csv en netwerk-verbindingen.csv.")
@with_config
def network(config: Config, out: Path) -> None:
    """Schrijf het netwerk van initiatieven: een knoop per initiatief (met het aantal posts en auteurs),
    een verbinding waar één post of één auteur beide noemt, gewogen naar posts."""
    from ..initiatives import step
    from ..initiatives.network import network_format, write_network

    network_format(out)   # a wrong name or folder stops here, not after the matching
    check_out_folder(out)
    with open_existing_store(config) as store:
        _update(config, store)
        g = step.network(store)
    written = write_network(g, out)
    click.echo(f"Netwerk met {counted(g.number_of_nodes(), 'initiatief', 'initiatieven')} en "
               f"{counted(g.number_of_edges(), 'verbinding', 'verbindingen')} geschreven naar "
               + " en ".join(str(p) for p in written) + ".")
