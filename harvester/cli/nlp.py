"""classify, train, evaluate: the theme classifier from the command line."""

from __future__ import annotations

import json
import time
from pathlib import Path

import click

from .. import learning
from ..jobs.classify import classify_pending
from ..nlp.related import TermExtractor
from ..related import index_pending
from ..config import Config
from ..dutch import counted
from ..nlp import (
    Classifier, evaluate as measure, format_report, load_themes,
    read_jsonl, read_writers, split, train as fit,
)
from ..learning import held_back, known_themes_only, term_weight_on_decisions, unused_version
from ..nlp.classifier import FROM_DECISIONS, FROM_DEFAULT, FROM_ROUNDS
from ..nlp.evidence import TERM_WEIGHT
from ..nlp.pipeline import save_pipeline, set_term_weight
from ..nlp.training import new_version, writer_thresholds
from ..store.model_versions import ModelVersion
from ..timeutil import utcnow
from .common import decimal, interactive, open_existing_store, open_store, with_config
from .dutch_click import Command, WholeNumber


def active_model(config: Config) -> learning.ActiveModel:
    """The store's active model version, else [nlp] model (empty = the one shipped)."""
    if not config.db_path.exists():   # nothing trained here yet; do not create a database for it
        return learning.configured_model(config)
    with open_store(config) as store:
        return learning.active_model(store, config)


def load_classifier(config: Config) -> Classifier:
    """The active model (`active_model`) with the configured themes."""
    return Classifier.load(active_model(config).path or None, load_themes(config.nlp.themes))


def as_config_path(path: Path, config: Config) -> str:
    """`path` as the config file must hold it: relative paths there count from the file's folder,
    not from where the command ran; absolute when it lies outside that folder, or there is no file."""
    path = path.resolve()
    if config.path is not None and path.is_relative_to(folder := Path(config.path).resolve().parent):
        return path.relative_to(folder).as_posix()
    return path.as_posix()


@click.command(cls=Command)
@click.option("--all", "include_all", is_flag=True, help="Alle posts opnieuw, niet alleen nieuwe en gewijzigde.")
@click.option("--workers", type=WholeNumber(min=1), default=None,
              help="Aantal processen (standaard: het aantal processorkernen).")
@with_config
def classify(config, include_all: bool, workers: int | None) -> None:
    """Wijs thema's toe aan nieuwe en gewijzigde posts (met --all: aan alle posts)."""
    classifier = load_classifier(config)
    started = time.perf_counter()
    with open_existing_store(config) as store:
        if interactive():
            total = store.classifications.count_pending(include_all=include_all)
            with click.progressbar(length=total, label="Classificeren", file=click.get_text_stream("stderr")) as bar:
                done = classify_pending(store, classifier, include_all, lambda n, _: bar.update(n - bar.pos), workers)
        else:
            done = classify_pending(store, classifier, include_all, workers=workers)
        seconds = time.perf_counter() - started
        indexed = index_pending(store, TermExtractor(classifier.themes.language))
    rate = f", {done / seconds:,.0f} per seconde".replace(",", ".") if done and seconds > 0 else ""
    click.echo(f"{counted(done, 'post', 'posts')} geclassificeerd met model {classifier.version} in {seconds:.1f} s{rate}.")
    if indexed:
        click.echo(f"{counted(indexed, 'post', 'posts')} toegevoegd aan de zoekindex voor verwante ideeën.")


@click.command(cls=Command)
@click.option("--from-reviews", is_flag=True,
              help="Leer ook van redacteuren: geaccepteerd = hun thema's, afgewezen = geen thema.")
@click.option("--output", type=click.Path(file_okay=False), default=None,
              help="Map voor het nieuwe model (standaard data/models/<versie> naast de database).")
@click.option("--epochs", type=WholeNumber(min=1), default=30, show_default=True, help="Rondes over de voorbeelden.")
@with_config
def train(config, from_reviews: bool, output: str | None, epochs: int) -> None:
    """Train het themamodel op de voorbeelden en bewaar het als nieuwe versie.

    Noemen de voorbeelden hun schrijver (twee of meer), dan meet het eerst per schrijver met een
    model dat diens teksten niet las, en kiest daarop per thema de drempel (die het model meekrijgt),
    voor elk termgewicht (hoe zwaar een genoemde term van een thema telt); anders meet het op een
    achtergehouden vijfde. Met --from-reviews kiezen de beslissingen (vanaf 50, de achtergehouden
    niet meegeteld) het termgewicht, gescoord door het geconfigureerde model. Daarna traint het op
    alles.
    """
    themes = load_themes(config.nlp.themes)
    labelled = read_jsonl(config.nlp.training, themes.ids)
    writers = read_writers(config.nlp.training, themes.ids)
    reviewed: list[tuple[str, list[str]]] = []
    read_at, decisions = "", 0
    if from_reviews:
        with open_store(config) as store:
            read_at = utcnow()
            decided, dropped = known_themes_only(store.classifications.decisions(), themes.ids)
        if dropped.themes:
            click.echo(dropped.text())
        # the held-back fifth stays unlearned, so that every version is scored on decisions it never saw
        reviewed = [(text, themes) for post_id, text, themes in decided if not held_back(post_id)]
        decisions = len(decided)
        click.echo(f"{counted(len(reviewed), 'beoordeelde post', 'beoordeelde posts')} van redacteuren toegevoegd "
                   f"(elk telt {config.nlp.decision_weight} keer; {decisions - len(reviewed)} achtergehouden om "
                   "modellen op te meten).")
    # learned from in every measuring round, never measured: the themes' statements and terms, and
    # the decisions, each weighing `decision_weight` times a written text
    always = themes.examples() + [item for item in reviewed for _ in range(config.nlp.decision_weight)]
    labels = {t.id: t.label for t in themes.themes}
    table: dict[float, dict[str, float]] = {}
    weight, weight_source = TERM_WEIGHT, FROM_DEFAULT
    if len({w for w in writers if w}) >= 2:
        # each writer's texts measured by a model that did not read them, as real posts will be
        click.echo(f"Drempels kiezen: per schrijver ({len({w for w in writers if w})}) een model op de andere teksten...")
        table, per_weight = writer_thresholds(labelled, writers, themes, always, epochs=epochs)
        if reviewed:
            learned = [d for d in decided if not held_back(d[0])]
            choice = term_weight_on_decisions(config.nlp.model, themes, learned, TERM_WEIGHT, table)
            if choice.weight != TERM_WEIGHT:
                weight, weight_source = choice.weight, FROM_DECISIONS
                click.echo(f"Termgewicht op basis van de beslissingen: {decimal(weight)} (standaard "
                           f"{decimal(TERM_WEIGHT)}): elk woord uit de termen van een thema telt "
                           f"{'zwaarder' if weight > TERM_WEIGHT else 'lichter'}.")
            else:
                click.echo(f"Termgewicht blijft {decimal(weight)}: {choice.kept}.")
        metrics = per_weight[weight]
        click.echo("Gemeten op teksten van schrijvers die het model niet las, met de gekozen drempels:")
    else:
        learn, held_out = split(labelled, 0.2, seed=0)
        click.echo(f"Trainen op {counted(len(learn) + len(always), 'voorbeeld', 'voorbeelden')}, meten op "
                   f"{counted(len(held_out), 'achtergehouden post', 'achtergehouden posts')}...")
        trial = Classifier(fit(learn + always, themes, epochs=epochs), themes)
        metrics = measure([labels for _, labels in held_out],
                          [c.assigned for c in trial.classify(text for text, _ in held_out)], themes.ids)
    click.echo(format_report(metrics, labels))
    version = unused_version(config.db_path.parent / "models") if not output else new_version()
    target = Path(output) if output else config.db_path.parent / "models" / version
    items = labelled + always
    # a failed fit, a full disk, Ctrl-C: the version set aside must not stay empty
    with learning.training_into(target, set_aside=not output):
        nlp = fit(items, themes, epochs=epochs, version=version)
        set_term_weight(nlp, weight)
        meta = nlp.meta["harvester"]
        meta["held_out"] = metrics
        meta["from_reviews"] = from_reviews
        meta["decisions"] = len(reviewed)
        meta["term_weight"], meta["term_weight_source"] = weight, weight_source
        if table:
            thresholds = table[weight]
            meta["thresholds"] = thresholds
            meta["threshold_sources"] = dict.fromkeys(thresholds, FROM_ROUNDS)
            meta["term_weights"] = {str(w): th for w, th in table.items()}
            click.echo("Drempels: " + ", ".join(f"{labels[t]} {decimal(v)}" for t, v in thresholds.items()))
        save_pipeline(nlp, target)
    name = f"{nlp.meta['name']}-{version}"
    saved = f"Model {name} (getraind op {'het ene voorbeeld' if len(items) == 1 else f'alle {len(items)} voorbeelden'}) staat in {target}."
    if output:
        click.echo(saved)
        # without a config file there is none to name: say how to get one
        where = config.path if config.path is not None else "een harvester.toml (maak er een met `harvester init`)"
        click.echo(f'Gebruik het met [nlp] model = "{as_config_path(target, config)}" in {where}, daarna '
                   '`harvester classify --all`.')
        return
    # a version in data/models/ is listed by `harvester models`, and chosen there: no row, no folder.
    # The commit is the last write `recording` covers (the row is read back inside the transaction);
    # after it only the store's close runs inside `recording`, and closing a connection whose work is
    # committed has nothing left to fail on: only a Ctrl-C in that instant could still remove the
    # folder of a recorded version. Nothing runs between saving and recording either (the echo comes
    # after), so Ctrl-C there leaves no folder without a row.
    with learning.recording(name, target), open_store(config) as store, store.atomic():
        store.models.add(ModelVersion(
            version=name, path=f"models/{version}", created_at=utcnow(), learned_from=len(reviewed),
            decisions=decisions, decisions_read_at=read_at,
            reason="getraind met `harvester train`; niet vanzelf in gebruik"))
    click.echo(saved)
    click.echo(f"Gebruik het met `harvester models use {name}` (de posts zonder beslissing worden dan opnieuw "
               "geclassificeerd), of met [nlp] model in de configuratie.")


@click.command(cls=Command)
@click.argument("file", type=click.Path(), metavar="BESTAND")   # a folder: the reader says so in Dutch
@click.option("--json", "as_json", is_flag=True, help="Eén JSON-object: per_theme, micro_f1, macro_f1, none_accuracy.")
@with_config
def evaluate(config, file: str, as_json: bool) -> None:
    """Meet het model op een gelabeld BESTAND (JSON lines: {"text": ..., "themes": [...]})."""
    classifier = load_classifier(config)
    items = read_jsonl(file, classifier.themes.ids)
    predicted = [c.assigned for c in classifier.classify(text for text, _ in items)]
    metrics = measure([labels for _, labels in items], predicted, classifier.themes.ids)
    metrics["model_version"] = classifier.version
    if as_json:
        click.echo(json.dumps(metrics, ensure_ascii=False, indent=2))
        return
    click.echo(f"{counted(len(items), 'tekst', 'teksten')}, model {classifier.version}")
    click.echo(format_report(metrics, {t.id: t.label for t in classifier.themes.themes}))
