"""init, status, posts: looking after and looking into the database."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime
from pathlib import Path

import click

from ..jobs.backoff import next_attempt
from ..jobs.lock import run_abandoned, scheduler_state
from ..models import SourceStatus
from ..store.jobs import JobOutcome
from ..store.lock import LockHolder
from ..timeutil import dutch_time, to_utc_iso
from ..config import Source, config_path, load_config
from ..dutch import counted
from .collect import STATUS_TEXT
from .common import (EXIT_USAGE, config_args, config_option, decimal, fail, open_existing_store, open_store,
                     program, with_config)
from .dutch_click import Command, WholeNumber


STARTER = Path(__file__).resolve().parent.parent / "starter.toml"

# the background jobs that are not per source, as `harvester status` names them
JOB_NAMES = {
    "recheck": "hercontrole (verwijderd of bewerkt bij de bron)",
    "compact": "bestand compacteren",
    "classify": "classificeren",
    "retrain": "hertrainen",
    "initiatives": "initiatieven koppelen",
    "purge": "opschonen",
}


@click.command(cls=Command)
@click.argument("folder", required=False, type=click.Path(file_okay=False), metavar="[MAP]")
@config_option
def init(folder: str | None, config_file: str | None) -> None:
    """Maak de database aan of werk het schema bij (veilig om te herhalen).

    Is er nog geen configuratiebestand, dan schrijft init eerst een startbestand harvester.toml in
    MAP (standaard de huidige map), met voorbeeldbronnen die uit staan tot u ze invult.
    """
    config_file = config_file or (click.get_current_context().obj or {}).get("config_file")
    if folder and config_file:
        fail("Geef een map of --config, niet allebei.", EXIT_USAGE)
    path = Path(folder) / "harvester.toml" if folder else config_path(config_file) or Path("harvester.toml")
    written = not path.exists()
    if written:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(STARTER.read_text(encoding="utf-8"), encoding="utf-8")
        except OSError as e:
            fail(f"Kan {path} niet schrijven: {e.strerror or e}", EXIT_USAGE)
        click.echo(f"Configuratie geschreven: {path}")
    config = load_config(path)
    with open_store(config) as store:
        for source in config.sources:
            store.sources.sync(source.name, source.type, source.location)
        click.echo(f"Database {config.db_path} is klaar (schemaversie {store.schema_version}, "
                   f"{counted(len(config.sources), 'bron', 'bronnen')}).")
    if written:
        here = "" if path == Path("harvester.toml") else f"--config {path} "
        click.echo(
            "Volgende stappen:\n"
            f"  1. Vul in {path} de bronnen in en zet ze aan (enabled = true).\n"
            f"  2. Maak het eerste account: {program()} {here}users add NAAM --role beheerder\n"
            f"  3. Start het verzamelen en de beoordelingsapp: {program()} {here}up"
        )


@click.command(cls=Command)
@click.option("--json", "as_json", is_flag=True, help="Eén JSON-document in plaats van een tabel.")
@with_config
def status(config, as_json: bool) -> None:
    """Toon per bron: laatste run, laatste succes, nieuwe posts, fouten op rij, laatste fout.

    Een run die nog loopt, noemt het proces dat hem doet (ook een `harvester collect` met de hand);
    is dat proces weg (gestopt, afgebroken of de machine sindsdien herstart), dan heet de run onderbroken.
    Daarboven: of de achtergrondtaak draait (pid, host, hartslag; "draait niet meer" als het proces
    weg is of sinds de laatste herstart van de machine geen teken van leven gaf, of op een andere
    host drie minuten niet); per taak die niet bij één
    bron hoort (hercontrole, compacteren, classificeren, hertrainen, initiatieven koppelen,
    opschonen) de laatste keer en of die lukte, en zo niet de fout en het laatste succes; het model
    in gebruik, de drempel per thema en het termgewicht met waar die vandaan komen, en de
    beslissingen sinds de laatste training (van `retrain_after`); de laatste opschoning (wanneer,
    hoeveel verwijderd, wanneer gepseudonimiseerd, of dat mislukte zonder geheime sleutel); de
    initiatieven (wanneer geteld, hoeveel posts nog te koppelen, en de fout als het bestand met
    initiatieven onbruikbaar is; die fout staat alleen daar, niet nog eens bij de taak). Een bron die steeds faalt, toont wanneer hij het weer probeert
    (volgende poging). Een bron uit de configuratie zonder runs heet nog niet gedraaid; een bron
    die niet meer in de configuratie staat, wordt zo genoemd en niet als mislukt (in --json:
    "configured"); een uitgeschakelde bron (enabled = false) heet uitgeschakeld, met zijn laatste
    run als die er is maar zonder volgende poging (in --json: "enabled"). Tijden staan in Nederlandse tijd, in --json in UTC (ISO 8601). Is er nog geen
    database, dan zegt status dat (exitstatus 2) en maakt er geen.
    """
    with open_existing_store(config) as store:
        sources = _sources(config, store.runs.status())
        scheduler, scheduler_lives = scheduler_state(store)
        purge = store.privacy.last_purge()
        jobs = store.job_outcomes.latest()
        model = _model(config, store)
        initiatives = _initiatives(config, store)
    if as_json:
        sources_json = [{**dataclasses.asdict(r), "configured": configured,
                         "enabled": _collected(config, r) is not None,
                         "last_run_status": _run_state(r, scheduler, scheduler_lives),
                         "next_attempt_at": _next_attempt(config, r)} for r, configured in sources]
        scheduler_json = {**dataclasses.asdict(scheduler), "running": scheduler_lives} if scheduler else None
        click.echo(json.dumps({"scheduler": scheduler_json, "jobs": {j.job: dataclasses.asdict(j) for j in jobs},
                               "purge": purge, "model": model, "initiatives": initiatives, "sources": sources_json},
                              ensure_ascii=False, indent=2))
        return
    if scheduler and not scheduler_lives:
        click.echo(f"Achtergrondtaak: draait niet meer: geen teken van leven sinds {_when(scheduler.heartbeat_at)} "
                   f"(proces {scheduler.pid} op {scheduler.host}); start opnieuw met `harvester run` of `harvester up`")
    elif scheduler:
        click.echo(f"Achtergrondtaak: proces {scheduler.pid} op {scheduler.host}, "
                   f"laatste teken van leven {_when(scheduler.heartbeat_at)}")
    else:
        click.echo("Achtergrondtaak: draait niet (start met `harvester run` of `harvester up`)")
    # a broken initiatives file: said under Initiatieven, checked now (also before the job first ran),
    # not again as the job's error, which is that same file's error from the job's last pass
    _echo_jobs(jobs, {"initiatives"} if initiatives["error"] else set())
    if purge:
        click.echo(f"Opschonen: laatste keer {_when(purge['at'])}, {counted(purge['deleted'], 'post', 'posts')} verwijderd; "
                   f"laatst gepseudonimiseerd: {_when(purge['pseudonymized_at'])} "
                   f"({counted(purge['pseudonymized'], 'post', 'posts')})")
        if purge["error"]:
            click.echo(f"  laatste fout: {purge['error']}")
    else:
        click.echo("Opschonen: nog nooit gedaan (`harvester purge`, of de achtergrondtaak elke purge_hours)")
    _echo_model(model)
    _echo_initiatives(initiatives)
    if not sources:
        click.echo("Nog geen bronnen: vul ze in het configuratiebestand in (`harvester init` schrijft er een).")
        return
    for r, configured in sources:
        click.echo(f"{r.name} [{r.type}] {r.url}")
        if not configured:
            click.echo(f"  niet meer in de configuratie: wordt niet meer opgehaald (laatste run: {_when(r.last_run_at)}, "
                       f"laatste succes: {_when(r.last_success_at)})")
            continue
        if _collected(config, r) is None:
            click.echo("  uitgeschakeld (enabled = false): wordt niet opgehaald")
            if r.last_run_at is None:
                continue
        run_state = _run_state(r, scheduler, scheduler_lives)
        state = "weg (410)" if r.gone else STATUS_TEXT.get(run_state, "nog niet gedraaid")
        if run_state == "running" and r.last_run_pid is not None and not r.gone:
            state += f": proces {r.last_run_pid} op {r.last_run_host}"
        click.echo(f"  laatste run: {_when(r.last_run_at)} ({state}), laatste succes: {_when(r.last_success_at)}, "
                   f"nieuw: {r.new_in_last_run}, fouten op rij: {r.consecutive_failures}")
        if r.auth_required and r.type == "bluesky":
            click.echo("  inloggegevens nodig: zoeken kan alleen met een account (handle en app-wachtwoord)")
        elif r.auth_required:
            click.echo("  token nodig: deze instance vraagt om een ingelogde gebruiker")
        if r.ratelimit_remaining is not None:
            click.echo(f"  rate limit: nog {counted(r.ratelimit_remaining, 'verzoek', 'verzoeken')}, "
                       f"reset {_when(r.ratelimit_reset)}")
        if r.last_error:
            click.echo(f"  laatste fout: {r.last_error}")
        retry = _next_attempt(config, r)
        if retry:
            click.echo(f"  volgende poging: niet voor {_when(retry)} (wacht langer na elke fout op rij)")


def _when(value: str | None) -> str:
    """A stored UTC time in the plain output as the admin reads it elsewhere (Dutch time, as the
    review app and `harvester models` show it); '-' for none. --json keeps the stored UTC text."""
    return dutch_time(value) or "-"


def _sources(config, rows: list[SourceStatus]) -> list[tuple[SourceStatus, bool]]:
    """The database's sources and the configured ones it has no row for yet (added since the last
    `harvester init` or collection), by name, each with whether the config still has it. A source
    renamed or removed from the config keeps its rows, but its last failure is nothing left to fix."""
    configured = {s.name for s in config.sources}
    known = {r.name for r in rows}
    unseen = [SourceStatus(name=s.name, type=s.type, url=s.location, last_run_at=None, last_run_status=None,
                           last_success_at=None, new_in_last_run=0, consecutive_failures=0, last_error=None)
              for s in config.sources if s.name not in known]
    return sorted(((r, r.name in configured) for r in [*rows, *unseen]), key=lambda pair: pair[0].name)


def _run_state(r: SourceStatus, scheduler: LockHolder | None, scheduler_lives: bool) -> str | None:
    """A run still marked running whose process is gone was interrupted: it stays marked so until its
    source runs again (harvester.jobs.harvest); its process, or the scheduler lock, tells which it is."""
    if r.last_run_status == "running" and run_abandoned(r.last_run_pid, r.last_run_host, r.last_run_at, scheduler,
                                                         scheduler_lives):
        return "interrupted"
    return r.last_run_status


def _echo_jobs(jobs: list[JobOutcome], errors_shown_below: set[str]) -> None:
    """The last pass of each job that is not per source; while it is not `ok`, its problem and the
    last pass that went well. A job in `errors_shown_below` keeps its times but not its error: a
    section further down shows that error as it is now, and it is said once."""
    by_job = {j.job: j for j in jobs}
    for job, name in JOB_NAMES.items():
        if (j := by_job.get(job)) is None:
            continue
        line = f"  {name}: laatste keer {_when(j.at)} ({STATUS_TEXT[j.status]})"
        click.echo(line if j.status == "ok" else f"{line}, laatst gelukt: {_when(j.ok_at)}")
        if j.error and job not in errors_shown_below:
            click.echo(f"    fout: {j.error}")


def _model(config, store) -> dict:
    """The active model, its thresholds and their sources, and the decisions since it was trained."""
    from .. import learning   # loads spaCy: only here
    from ..nlp import ModelError, ThemesError, load_themes
    from ..nlp.classifier import check_saved, resolve_thresholds

    active = learning.active_model(store, config)
    row = active.row
    model = {
        "version": active.version, "path": active.path,
        "origin": "database" if row else ("configuratie" if config.nlp.model else "meegeleverd"),
        "learned_from": active.learned_from,
        "decisions_since_trained": store.classifications.count_decisions(
            since=row.decisions_read_at if row else None),
        "decisions_since_last_training": learning.decisions_since(store),
        "retrain_after": config.nlp.retrain_after, "thresholds": {}, "error": None,
        "term_weight": None,
    }
    meta = learning.read_meta(active.path)
    weight = learning.meta_term_weight(meta)
    if weight:
        model["term_weight"] = {"value": weight[0], "source": weight[1]}
    try:
        themes = load_themes(config.nlp.themes)
        check_saved(active.path, themes, meta)   # what classification would refuse: no thresholds to show
        values, sources = resolve_thresholds(themes, meta)
        model["thresholds"] = {t: {"value": v, "source": sources[t]} for t, v in values.items()}
    except (ThemesError, ModelError) as e:
        model["error"] = e.describe()
    return model


def _echo_model(model: dict) -> None:
    origin = {"database": "gekozen uit `harvester models`", "configuratie": "[nlp] model",
              "meegeleverd": "meegeleverd"}[model["origin"]]
    click.echo(f"Model: {model['version']} ({origin}), geleerd van "
               f"{counted(model['learned_from'], 'beslissing', 'beslissingen')}")
    if model["error"]:
        click.echo(f"  {model['error']}")
    for theme, t in model["thresholds"].items():
        click.echo(f"  drempel {theme}: {decimal(t['value'])} ({t['source']})")
    if model["term_weight"]:
        t = model["term_weight"]
        click.echo(f"  termgewicht: {decimal(t['value'])} ({t['source']})")
    since, last, after = (model["decisions_since_trained"], model["decisions_since_last_training"],
                          model["retrain_after"])
    line = f"  nieuwe beslissingen sinds de training: {since}"
    if last != since:
        line += f"; sinds de laatste training (een model dat niet in gebruik kwam): {last}"
    click.echo(f"{line} van {after} (bij {after} traint de achtergrondtaak opnieuw)")


def _initiatives(config, store) -> dict:
    """The initiatives job: when it last made the counts, the posts it has still to link, and what
    is wrong with the initiatives file. The job fails on a broken file at every pass until it is
    fixed, so the file is checked here as the job reads it, like the themes file above."""
    from ..initiatives.catalogue import InitiativesError, load_catalogue

    result = {"summarised_at": store.initiatives.summarised_at(), "pending": store.initiatives.count_pending(),
              "error": None}
    try:
        load_catalogue(config.initiatives.file)
    except InitiativesError as e:
        result["error"] = e.describe()
    return result


def _echo_initiatives(initiatives: dict) -> None:
    click.echo(f"Initiatieven: laatst geteld {_when(initiatives['summarised_at'])}, "
               f"nog te koppelen: {counted(initiatives['pending'], 'post', 'posts')}")
    if initiatives["error"]:
        click.echo(f"  fout: {initiatives['error']}")
        click.echo("  de achtergrondtaak koppelt geen posts aan initiatieven tot dit bestand klopt")


def _collected(config, row) -> Source | None:
    """The configured source the background job collects for `row`: None when the config no longer
    has it or it is switched off (enabled = false), and no run or next try will come."""
    return next((s for s in config.sources if s.name == row.name and s.enabled), None)


def _next_attempt(config, row) -> str | None:
    """When the background job tries a failing source again (None: not in back-off, or not collected)."""
    source = _collected(config, row)
    if source is None:
        return None
    when = next_attempt(row, source, config.schedule)
    return to_utc_iso(when) if when and when > datetime.now(UTC) else None


@click.command(cls=Command)
@click.option("--limit", default=20, show_default=True, type=WholeNumber(min=1), help="Hoeveel posts.")
@click.option("--json", "as_json", is_flag=True, help="Eén JSON-lijst.")
@with_config
def posts(config, limit: int, as_json: bool) -> None:
    """Toon de nieuwste opgeslagen posts.

    De publicatietijd staat in Nederlandse tijd, in --json in UTC (ISO 8601). Zijn er nog geen posts,
    dan zegt posts hoe ze binnenkomen (--json: een lege lijst). Is er nog geen database, dan zegt
    posts dat (exitstatus 2) en maakt er geen.
    """
    with open_existing_store(config) as store:
        rows = store.posts.latest(limit)
    if as_json:
        click.echo(json.dumps([dataclasses.asdict(r) for r in rows], ensure_ascii=False, indent=2))
        return
    if not rows:
        command = f"{program()} {config_args(config)}"
        click.echo(f"Nog geen posts: ze komen binnen met `{command}collect` of de achtergrondtaak "
                   f"(`{command}up`), van de bronnen met enabled = true.")
    for r in rows:
        first_line = (r.title or r.text).split("\n", 1)[0]
        click.echo(f"{r.id}\t{_when(r.published_at)}\t{r.author or '-'}\t{','.join(r.sources)}\t{first_line[:100]}")

