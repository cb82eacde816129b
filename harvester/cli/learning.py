"""models, models use, retrain: the model versions that learned from editors' decisions."""

from __future__ import annotations

from collections import Counter

import click

from .. import learning
from ..config import Config
from ..dutch import counted
from ..nlp import ThemesError, load_themes
from ..nlp.classifier import resolve_thresholds
from ..store.classifications import PendingCounts
from ..timeutil import dutch_time
from .common import EXIT_USAGE, config_option, decimal, fail, open_existing_store, open_store, with_config
from .dutch_click import Command, Group


def threshold_summary(config: Config, path: str) -> str:
    """Where a model's thresholds come from under the current themes file, counted per source."""
    meta = learning.read_meta(path)
    if not meta:
        return "map ontbreekt"
    try:
        _, sources = resolve_thresholds(load_themes(config.nlp.themes), meta)
    except ThemesError:
        sources = (meta.get("harvester") or {}).get("threshold_sources") or {}
    per_source = Counter(sources.values())
    summary = ", ".join(f"{source} {n}" for source, n in sorted(per_source.items())) or "-"
    weight = learning.meta_term_weight(meta)
    if weight:
        summary += f"; termgewicht {decimal(weight[0])} ({weight[1]})"
    return summary


@click.group(cls=Group, invoke_without_command=True)
@config_option
@click.pass_context
def models(ctx: click.Context, config_file: str | None) -> None:
    """Toon de modelversies (* = in gebruik); `models use VERSIE` wisselt."""
    if config_file:
        ctx.obj = {**(ctx.obj or {}), "config_file": config_file}
    if ctx.invoked_subcommand is None:
        ctx.invoke(list_versions)


@models.command("list")
@with_config
def list_versions(config) -> None:
    """Toon de modelversies: gemaakt, geleerd van, scores op achtergehouden beslissingen, drempels."""
    with open_existing_store(config) as store:
        rows = store.models.all()
        active = learning.active_model(store, config)
    configured = learning.configured_model(config)
    where = f"[nlp] model = {config.nlp.model}" if config.nlp.model else "meegeleverd model"
    listed = {r.version for r in rows}
    if configured.version not in listed:
        mark = "*" if active.row is None else " "
        click.echo(f"{mark} {configured.version}  geconfigureerd ({where}), geleerd van 0 beslissingen, "
                   f"drempels: {threshold_summary(config, configured.path)}")
    for r in rows:
        mark = "*" if r.active or (active.row is None and r.version == configured.version) else " "
        scores = (f"achtergehouden {r.held_back}: {decimal(r.score, 3)} (toen in gebruik {r.current_version}: "
                  f"{decimal(r.current_score, 3)})" if r.current_version else "niet gemeten op achtergehouden beslissingen")
        click.echo(f"{mark} {r.version}  gemaakt {dutch_time(r.created_at)}, geleerd van "
                   f"{counted(r.learned_from, 'beslissing', 'beslissingen')}, {scores}, drempels: {threshold_summary(config, str(learning.model_path(config, r.path)))}")
        if r.reason:
            click.echo(f"    {learning.shown_reason(r.reason)}")


@models.command("use")
@click.argument("version", metavar="VERSIE")
@with_config
def use(config, version: str) -> None:
    """Gebruik modelversie VERSIE (ook het geconfigureerde of meegeleverde model)."""
    with open_store(config) as store:
        try:
            active = learning.use(store, config, version)
        except KeyError:
            fail(f"onbekende modelversie {version!r}; `harvester models` toont ze", EXIT_USAGE)
        pending = store.classifications.count_pending_by_verdict(active.version)
    click.echo(f"Model {active.version} is nu in gebruik. {pending_text(pending)}")


def pending_text(pending: PendingCounts) -> str:
    """What waits for the model in use, and why: after a switch that is mostly the posts no editor
    decided (their verdicts were set aside), but posts never classified, or changed since, wait
    too; saying only the first would be a wrong count."""
    if not pending.total:
        return "Er wachten geen posts op classificatie."
    parts = [(pending.switched, "geclassificeerd vóór een wissel van model"),
             (pending.never, "nog nooit geclassificeerd"),
             (pending.changed, "gewijzigd na de classificatie door dit model")]
    said = [f"{n} {words}" for n, words in parts if n]
    listed = ", ".join(said[:-1]) + " en " + said[-1] if len(said) > 1 else said[0]
    waits = "wacht" if pending.total == 1 else "wachten"
    return (f"{counted(pending.total, 'post', 'posts')} {waits} op classificatie (door de achtergrondtaak, "
            f"of met `harvester classify`): {listed}.")


@click.command(cls=Command)
@with_config
def retrain(config) -> None:
    """Train een nieuw model op de beslissingen en wissel als het niet slechter is (wat de achtergrondtaak doet)."""
    with open_store(config) as store:
        since, total = learning.decisions_since(store), store.classifications.count_decisions()
        if since < config.nlp.retrain_after:
            click.echo(f"Pas {counted(since, 'nieuwe beslissing', 'nieuwe beslissingen')} sinds de laatste training; "
                       f"de achtergrondtaak wacht op {config.nlp.retrain_after} ([nlp] retrain_after). Er wordt nu toch getraind.")
        if not total:
            click.echo("Nog geen beslissingen van redacteuren: het model leert alleen van de geschreven teksten.")
        job = learning.prepare(store, config)
        held = counted(len(job.held), "beslissing", "beslissingen")
        stays = "blijft" if len(job.held) == 1 else "blijven"
        click.echo(f"Trainen op {counted(len(job.learn), 'beslissing', 'beslissingen')} (elk {job.decision_weight} "
                   f"keer) en de geschreven teksten; {held} {stays} achter om op te meten...")
        if job.dropped.themes:
            click.echo(job.dropped.text())
        outcome = learning.train_candidate(job)
        row = learning.register(store, config, job, outcome)
        store.job_outcomes.record("retrain", "ok")   # a failed retraining of the job is no longer the last word
    click.echo(f"Overeenstemming met de achtergehouden beslissingen: nieuw model {row.version} {decimal(row.score, 3)}, "
               f"model in gebruik {row.current_version} {decimal(row.current_score, 3)}.")
    if outcome.term_weight_kept:
        click.echo(f"Termgewicht blijft {decimal(outcome.term_weight)}: {outcome.term_weight_kept}.")
    else:
        click.echo(f"Termgewicht op basis van de beslissingen: {decimal(outcome.term_weight)} (model in gebruik: "
                   f"{decimal(outcome.current_term_weight)}), met de drempels die bij dat gewicht horen.")
    if outcome.refitted:
        click.echo("Drempels opnieuw bepaald op beslissingen: " + ", ".join(
            f"{theme} {decimal(value, 3)}" for theme, value in outcome.refitted.items()))
    click.echo(("Gewisseld" if row.active else "Niet gewisseld") + f": {row.reason}.")
