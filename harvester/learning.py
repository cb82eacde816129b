"""Learning as editors work: retrain the theme classifier on their decisions, and keep the better model.

The layer between the store and the NLP package (as harvester/jobs/classify.py is): it reads decisions
from the store, hands texts to harvester.nlp, and records the outcome. Three steps, so that the
background job can run the middle one in another process while holding nothing:

- `prepare` reads (decisions, the active model, the config) into a `TrainingJob`;
- `train_candidate` trains and scores, touching only files (no database);
- `register` records the version and switches to it when it is not worse.

Decisions are the editors' accepted posts (their themes) and rejected ones (no theme). A stable
fifth of them (post id % 5 == 0) is held back: never learned from, it scores the candidate and the
active model alike. The candidate learns from the written texts (`[nlp] training`), the themes'
examples, and the other decisions repeated `[nlp] decision_weight` times. Once MIN_TERM_DECISIONS
are learned, they also choose how much a matched term adds to a score (`term_weight_on_decisions`).
"""

from __future__ import annotations

import contextlib
import json
import math
import shutil
import sqlite3
import statistics
from collections import Counter
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from .config import Config
from .dutch import counted, database_condition, decimal, os_error
from .errors import HarvesterError
from .nlp import Classifier, ModelError, SHIPPED_MODEL, ThemeSet, ThemesError, load_themes, read_jsonl, train
from .nlp.classifier import FROM_DECISIONS, FROM_DEFAULT, FROM_ROUNDS, unknown_labels
from .nlp.evidence import TERM_WEIGHT, Table, choose_term_weight
from .nlp.pipeline import TEXTCAT, ModelNotSaved, save_pipeline, set_term_weight, unfinished_folders
from .nlp.thresholds import agreement, choose_threshold
from .nlp.training import new_version
from .store import Store
from .store.jobs import JobOutcome
from .store.model_versions import ModelVersion
from .timeutil import dutch_time, parse_iso, utcnow
from .tomlfile import file_state

HOLD_BACK_EVERY = 5       # decisions on posts whose id is a multiple of this are held back
FOLDS = 3                 # out-of-fold scores for refitting thresholds
MIN_POSITIVES = 20        # a theme's threshold is refitted once this many learned decisions carry it
MIN_TERM_DECISIONS = 50   # learned decisions before they choose the term weight (fewer: a wrong choice in 1 of 4)
YOUNG_BELOW = 200         # the queue shows the least certain posts first while the model learned from fewer
EPOCHS = 30               # as `harvester train`
# a failed retraining for themes the model lacks: tried again this long after it ended, twice as long
# after each further failure in a row, up to the longest wait (`retry_wait`)
RETRY_NEW_THEMES = timedelta(hours=1)
RETRY_NEW_THEMES_LONGEST = timedelta(hours=24)
# a version switched to by hand: its reason says when, in stored UTC (`use`); shown in Dutch time
MANUAL = "; met de hand gekozen op "

Decision = tuple[int, str, list[str]]   # post id, text, themes ([] = rejected)


def held_back(post_id: int) -> bool:
    return post_id % HOLD_BACK_EVERY == 0


def model_path(config: Config, stored: str) -> Path:
    """A models.path as a directory: relative paths are beside the database."""
    path = Path(stored)
    return path if path.is_absolute() else config.db_path.parent / path


def read_meta(path: str | Path) -> dict:
    """A model directory's meta.json ('' = the shipped model); {} when it cannot be read."""
    try:
        return json.loads((Path(path or SHIPPED_MODEL) / "meta.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def meta_term_weight(meta: dict) -> tuple[float, str] | None:
    """A model's term weight and where it came from, as its meta.json says (None: it does not say)."""
    ours = meta.get("harvester") or {}
    if ours.get("term_weight") is None:
        return None
    return float(ours["term_weight"]), ours.get("term_weight_source", FROM_ROUNDS)


def meta_version(meta: dict) -> str:
    """The version a Classifier of this model reports (classifications.model_version)."""
    return f"{meta.get('name', 'model')}-{meta.get('version', '0')}"


@dataclass(frozen=True)
class ActiveModel:
    version: str
    path: str                     # directory to load; '' = the shipped model
    row: ModelVersion | None      # None: the configured model ([nlp] model), not one we trained

    @property
    def learned_from(self) -> int:
        return self.row.learned_from if self.row else 0


def configured_model(config: Config) -> ActiveModel:
    return ActiveModel(meta_version(read_meta(config.nlp.model)), config.nlp.model, None)


def active_model(store: Store, config: Config) -> ActiveModel:
    """The store's active version if there is one, else `[nlp] model` (empty: the shipped model)."""
    row = store.models.active()
    if row is None:
        return configured_model(config)
    return ActiveModel(row.version, str(model_path(config, row.path)), row)


def decisions_since(store: Store) -> int:
    """Decisions made or changed since the newest trained version read them (all, before the first);
    a candidate that was not switched to counts too, so a worse one is not retrained at once."""
    read = [m.decisions_read_at for m in store.models.all()]
    return store.classifications.count_decisions(since=max(read) if read else None)


def decisions_to_learn(store: Store) -> int:
    """The decisions that count towards the background job's next retraining: those since the newest
    trained version read them, and after a failed retraining (its last outcome) only those since the
    failed one read them. A training the kernel killed for lack of memory, or one the themes file makes
    fail, would otherwise start again after every collection; now it waits for as many new decisions as
    any retraining does. A time back-off would need a setting of its own and would retry without anything
    new to learn. `harvester retrain` still trains at once. (A model that lacks a configured theme is
    retrained sooner: `themes_to_learn`.)"""
    read = [m.decisions_read_at for m in store.models.all()]
    last = store.job_outcomes.get("retrain")
    if last is not None and last.status == "failed":
        read.append(last.read_at or last.at)   # a pass that failed before reading: since it ended
    return store.classifications.count_decisions(since=max(read) if read else None)


def themes_to_learn(store: Store, config: Config) -> list[str]:
    """The configured themes the model in use does not know (the labels its meta.json lists): themes
    added to the themes file, or renamed there, since it was trained. Classification refuses such a
    model, so no post gets a verdict while editors wait for one, and waiting for `retrain_after`
    decisions could take weeks: the background job retrains for them at once (`Jobs.learn`).

    [] while a failed retraining stands (`failure_stands`): the same training would most likely fail
    again after every collection."""
    try:
        themes = load_themes(config.nlp.themes)
    except ThemesError:
        return []   # classification says what is wrong with the file; no training can follow it
    labels = (read_meta(active_model(store, config).path).get("labels") or {}).get(TEXTCAT)
    if labels is None:
        return []   # no model in the folder: not a matter of themes (status names it)
    unknown = unknown_labels(labels, themes)
    last = store.job_outcomes.get("retrain")
    if unknown and last is not None and last.status == "failed" and failure_stands(last, config):
        return []
    return unknown


def failure_stands(failed: JobOutcome, config: Config) -> bool:
    """Whether a retraining for new themes that `failed` is not yet to be tried again. It is tried
    again once the themes file or the training texts were saved after it read them (an edit saved
    while it trained counts: the admin fixing the cause), and in any case `retry_wait` after it
    ended: what no edit fixes (the database busy when the version was recorded, a models folder not
    writable for a while) may have passed, and every hour without a usable model is an hour without
    verdicts. Counted from the end, not the start: a training that ran longer than the wait and
    failed would otherwise start again at once. A failure the files cause fails in seconds, before
    any training, so the first retry costs little and keeps its error in the log; one that keeps
    failing (too little memory for the training, each time) waits longer each time."""
    if datetime.now(UTC) - parse_iso(failed.at) >= retry_wait(failed.failures):
        return False
    read = parse_iso(failed.read_at or failed.at)
    edited = [state[0] for state in map(file_state, (config.nlp.themes, config.nlp.training)) if state]
    return not edited or max(edited) <= read.timestamp() * 1e9


def retry_wait(failures: int) -> timedelta:
    """How long after the `failures`-th failed retraining in a row the next is tried without an edit:
    RETRY_NEW_THEMES, doubled for each failure before it, at most RETRY_NEW_THEMES_LONGEST."""
    doublings = min(max(failures - 1, 0), 8)   # 2**8 hours is past the longest wait already
    return min(RETRY_NEW_THEMES * 2**doublings, RETRY_NEW_THEMES_LONGEST)


@dataclass(frozen=True)
class DroppedThemes:
    """Themes of decisions that the themes file no longer has (removed or renamed since)."""

    themes: dict[str, int] = field(default_factory=dict)   # theme id -> decisions that carried it
    skipped: int = 0    # accepted posts left without a known theme: not learned from

    def text(self) -> str:
        """What was left out, in Dutch ('' when nothing)."""
        if not self.themes:
            return ""
        named = ", ".join(f"{theme} ({n} keer)" for theme, n in sorted(self.themes.items()))
        text = f"Weggelaten uit de beslissingen, want het themabestand kent ze niet meer: {named}"
        if self.skipped:
            kept, counts = ("hield", "telt") if self.skipped == 1 else ("hielden", "tellen")
            text += (f"; {counted(self.skipped, 'geaccepteerde post', 'geaccepteerde posts')} {kept} geen bekend "
                     f"thema over en {counts} niet mee")
        return text + "."


def known_themes_only(decisions: list[Decision], known: Collection[str]) -> tuple[list[Decision], DroppedThemes]:
    """The decisions with only the themes `known` (the themes file's now), and what was dropped.

    A theme removed or renamed in the themes file lives on in the editors' decisions; training on it
    fails, so no retraining (the one that would follow the new file) could ever succeed. An accepted
    post whose themes are all unknown is skipped rather than learned as a post without a theme:
    the editor did find a theme in it.
    """
    kept: list[Decision] = []
    dropped: Counter[str] = Counter()
    skipped = 0
    for post_id, text, themes in decisions:
        ours = [t for t in themes if t in known]
        dropped.update(t for t in themes if t not in known)
        if themes and not ours:
            skipped += 1
        else:
            kept.append((post_id, text, ours))
    return kept, DroppedThemes(dict(dropped), skipped)


# ---- training -------------------------------------------------------------------------------

@dataclass(frozen=True)
class TrainingJob:
    """Everything a training needs, read at its start (picklable: it crosses into another process)."""

    version: str                  # the new model's meta version (its directory name)
    output: str                   # where it is saved
    stored_path: str              # models.path (relative to the database's directory)
    themes_path: str
    training_path: str
    current_path: str             # the active model ('' = shipped)
    base_path: str                # the configured model ('' = shipped): scores decisions it never learned
    current_version: str
    learn: list[Decision]
    held: list[Decision]
    decisions: int
    read_at: str
    decision_weight: int
    epochs: int = EPOCHS
    dropped: DroppedThemes = DroppedThemes()


@dataclass(frozen=True)
class Outcome:
    version: str                  # as Classifier.version
    score: float | None           # the candidate's agreement with the held-back decisions
    current_score: float | None
    switch: bool
    reason: str
    refitted: dict[str, float] = field(default_factory=dict)
    term_weight: float = TERM_WEIGHT
    current_term_weight: float | None = None  # None: no current model, or one from before term evidence
    term_weight_kept: str = ""                # why the decisions did not choose the weight (Dutch)


def prepare(store: Store, config: Config, *, epochs: int | None = None) -> TrainingJob:
    """Read what a training needs; the only reads it does. Themes the themes file no longer has
    are dropped from the decisions (`known_themes_only`)."""
    read_at = utcnow()
    decisions, dropped = known_themes_only(store.classifications.decisions(), load_themes(config.nlp.themes).ids)
    current = active_model(store, config)
    models = config.db_path.parent / "models"
    version = unused_version(models)
    return TrainingJob(
        version=version, output=str(models / version), stored_path=f"models/{version}",
        themes_path=str(config.nlp.themes), training_path=str(config.nlp.training),
        current_path=current.path, current_version=current.version, base_path=config.nlp.model,
        learn=[d for d in decisions if not held_back(d[0])], held=[d for d in decisions if held_back(d[0])],
        decisions=len(decisions), read_at=read_at, decision_weight=config.nlp.decision_weight, epochs=epochs or EPOCHS,
        dropped=dropped,
    )


class ModelNotRecorded(HarvesterError):
    """A trained model whose version the database could not record; its folder went with it."""

    kind = "modelfout"


def unused_version(models: Path) -> str:
    """A new version, its directory under `models` made at once so that no other training (the
    background job, `harvester train`) takes it while this one trains: the time of training, with
    -2, -3, ... when another took that second. A training that fails removes it (`discard`).
    ModelNotSaved (Dutch) when the directory cannot be made."""
    version = base = new_version()
    n = 1
    try:
        models.mkdir(parents=True, exist_ok=True)
        while True:
            try:
                (models / version).mkdir()
                return version
            except FileExistsError:
                n += 1
                version = f"{base}-{n}"
    except OSError as e:
        raise ModelNotSaved(f"{e.filename or models}: geen map voor het nieuwe model te maken: {os_error(e)}") from None


@contextlib.contextmanager
def training_into(folder: str | Path, *, set_aside: bool = True) -> Iterator[None]:
    """Around training a model and saving it into `folder`: whatever stops it (a failed fit, a full
    disk, Ctrl-C) leaves nothing of it in a folder `unused_version` set aside (`discard`); a folder
    the user named (`set_aside=False`) keeps what it held, as save_pipeline replaces it whole or not
    at all. An OSError (building a pipeline writes temporary files too) becomes a Dutch
    ModelNotSaved instead of Python's English traceback, naming the file it concerned when it
    says one (the themes file that could not be read, say), else the model's folder."""
    try:
        yield
    except BaseException as e:
        if set_aside:
            discard(folder)
        if isinstance(e, OSError):
            raise ModelNotSaved(f"{e.filename or folder}: model niet bewaard: {os_error(e)}") from None
        raise


@contextlib.contextmanager
def recording(version: str, folder: str | Path) -> Iterator[None]:
    """Around writing a trained model's version row, so that the row and the folder land together
    or not at all: when the row cannot be written (the database busy beyond the wait, full,
    read-only, or not to be opened) the folder goes too (`discard`), as no row would ever name it
    for `harvester models` to list, and nothing would remove it. Such a refusal
    (`dutch.database_condition`) or an error the harvester expects becomes a Dutch
    ModelNotRecorded; any other error (a bug in the SQL, say) goes on with its traceback, after the
    folder all the same. Only the writing belongs inside: once the row is committed, the folder is
    that version's."""
    try:
        yield
    except BaseException as e:
        discard(folder)
        reason = (str(e) if isinstance(e, HarvesterError)
                  else database_condition(e) if isinstance(e, sqlite3.Error) else None)
        if reason is None:
            raise
        raise ModelNotRecorded(f"model {version} niet vastgelegd: {reason}; het model is niet bewaard") from e


def discard(version_folder: str | Path) -> None:
    """Remove a training's version folder (`unused_version`'s) after it failed or was stopped: no
    version is recorded for it, so nothing would ever list or remove it (a training killed while it
    saved may have left part of a model in a hidden folder beside it, `unfinished_folders`)."""
    for folder in [Path(version_folder), *unfinished_folders(version_folder)]:
        shutil.rmtree(folder, ignore_errors=True)


def weighted(written: list[tuple[str, list[str]]], decisions: list[Decision], weight: int) -> list[tuple[str, list[str]]]:
    return written + [(text, themes) for _, text, themes in decisions] * weight


def train_candidate(job: TrainingJob) -> Outcome:
    """Train, refit thresholds, save, and score candidate and current model on the held-back decisions.

    No database: this runs in a process of its own under the background job. When it fails, the
    version's directory is removed (`training_into`).
    """
    with training_into(job.output):
        return _train_and_score(job)


def _train_and_score(job: TrainingJob) -> Outcome:
    themes = load_themes(job.themes_path)
    written = read_jsonl(job.training_path, themes.ids) + themes.examples()
    try:
        current: Classifier | None = Classifier.load(job.current_path or None, themes)
    except ModelError:
        current = None   # e.g. it does not know a theme the file has now: any candidate is better
    # what the model in use carries, from its meta.json: also when it cannot be loaded (it lacks a
    # theme of the file), so that the themes it knows keep their thresholds and the term weight
    meta = read_meta(job.current_path)
    carried = meta.get("harvester") or {}
    thresholds = {t: float(v) for t, v in (carried.get("thresholds") or {}).items() if t in themes.ids}
    sources = {t: (carried.get("threshold_sources") or {}).get(t, FROM_ROUNDS) for t in thresholds}
    weight, weight_source = meta_term_weight(meta) or (TERM_WEIGHT, FROM_DEFAULT)
    # until a trained version is switched to, the model in use is the configured one: not loaded twice
    choice = term_weight_on_decisions(job.base_path, themes, job.learn, weight,
                                      loaded=current if job.current_path == job.base_path else None)
    if choice.weight != weight:
        # the current thresholds (refitted ones too) belong to the old weight: start from the new one's
        weight, weight_source = choice.weight, FROM_DECISIONS
        thresholds = {t: v for t, v in choice.table[weight].items() if t in themes.ids}
        sources = dict.fromkeys(thresholds, FROM_ROUNDS)
    refitted = refit_thresholds(written, job.learn, themes, job.decision_weight, job.epochs, weight)
    thresholds.update(refitted)
    sources.update(dict.fromkeys(refitted, FROM_DECISIONS))
    nlp = train(weighted(written, job.learn, job.decision_weight), themes, epochs=job.epochs, version=job.version)
    set_term_weight(nlp, weight)
    nlp.meta["harvester"].update(thresholds=thresholds, threshold_sources=sources, decisions=len(job.learn),
                                 decision_weight=job.decision_weight, held_back=len(job.held),
                                 term_weight=weight, term_weight_source=weight_source)
    if choice.table:
        nlp.meta["harvester"]["term_weights"] = {str(w): row for w, row in choice.table.items()}
    save_pipeline(nlp, job.output)
    candidate = Classifier(nlp, themes, job.output)
    ours = held_back_agreements(candidate, job.held)
    theirs = held_back_agreements(current, job.held) if current else None
    switch, reason = judge(ours, theirs)
    return Outcome(candidate.version, mean(ours), mean(theirs) if theirs is not None else None, switch, reason, refitted,
                   weight, current.term_weight if current else None, choice.kept)


@dataclass(frozen=True)
class TermWeightChoice:
    weight: float
    table: Table        # the thresholds per weight it chose from ({}: none to choose from)
    kept: str = ""      # why `weight` is the current one (Dutch); "" when the decisions chose it


def term_weight_on_decisions(base_path: str, themes: ThemeSet, learn: list[Decision], current: float,
                             table: Table | None = None, *, loaded: Classifier | None = None) -> TermWeightChoice:
    """The term weight the learned decisions choose (`choose_term_weight`) from `table`, else from
    the configured model's thresholds per weight; `current` while there are fewer than
    MIN_TERM_DECISIONS, or nothing to choose from or with. `loaded`: the configured model, when the
    caller has it loaded already (loading one takes seconds).

    The decisions are scored by the configured model (`[nlp] model`, else the shipped one), which
    learned from none of them: a model scores posts it learned high already and would choose no
    weight. One that did learn from decisions (`harvester train --from-reviews`) cannot judge them.
    A threshold the themes file sets is the one used, so it is the one judged. The held-back
    decisions take no part: they judge the candidate afterwards.
    """
    if len(learn) < MIN_TERM_DECISIONS:
        return TermWeightChoice(current, table or {}, f"pas {len(learn)} van de {MIN_TERM_DECISIONS} beslissingen "
                                                      "die het termgewicht kiezen")
    try:
        base = loaded or Classifier.load(base_path or None, themes)
    except ModelError as e:
        return TermWeightChoice(current, table or {}, f"het geconfigureerde model is niet te gebruiken ({e})")
    table = table if table is not None else base.term_weights
    if not table:
        return TermWeightChoice(current, {}, "het geconfigureerde model heeft geen drempels per termgewicht "
                                             "(train het opnieuw met `harvester train`)")
    if (base.nlp.meta.get("harvester") or {}).get("decisions"):
        return TermWeightChoice(current, table, "het geconfigureerde model leerde zelf van beslissingen en kan ze "
                                                "niet onbevooroordeeld scoren")
    fixed = {t.id: t.threshold for t in themes.themes if t.threshold is not None}
    judged = {w: {**row, **fixed} for w, row in table.items()}
    rows, words = base.scores_before_evidence(text for _, text, _ in learn)
    chosen = choose_term_weight([labels for *_, labels in learn], rows, words, themes.ids, judged, current)
    return TermWeightChoice(chosen, table, "" if chosen != current else
                            f"geen ander gewicht stemt duidelijk beter overeen met de {len(learn)} beslissingen")


def held_back_agreements(classifier: Classifier, held: list[Decision]) -> list[float]:
    """Per held-back post, how well the suggested themes match the decided ones (`agreement`).

    Per post, not per theme: a slice of 10-40 decisions holds one or two posts of most themes, and
    a macro-F1 over those swings with each of them (docs/nlp-log.md, "Eighth round")."""
    predicted = [set(c.assigned) for c in classifier.classify(text for _, text, _ in held)]
    return [agreement(suggested, set(decided)) for suggested, (*_, decided) in zip(predicted, held)]


def mean(values: list[float]) -> float | None:
    """Rounded to four places, as stored; None without values."""
    return round(sum(values) / len(values), 4) if values else None


def noise(diffs: list[float]) -> float:
    """The standard error of the mean of per-post differences; 0 for a single post, where it is
    not defined (the gate is then as strict as it can be)."""
    if len(diffs) < 2:
        return 0.0
    return statistics.stdev(diffs) / math.sqrt(len(diffs))


def judge(ours: list[float], theirs: list[float] | None) -> tuple[bool, str]:
    """Switch unless the candidate is worse on the held-back decisions by more than their noise.

    "Not worse" is measured on 10-40 posts: on 20 one standard error of the difference is 0.06-0.09
    in agreement, more than what learning from 50-100 decisions adds. Demanding a score at least as
    high refused a third to a half of the slices of candidates that were as good or better on other
    texts; allowing one standard error refuses about a fifth, and still refuses a candidate that is
    clearly worse (docs/nlp-log.md, "Ninth round")."""
    if not ours:
        return True, "geen achtergehouden beslissingen om op te meten: gewisseld"
    if theirs is None:
        return True, "het huidige model is met deze thema's niet te gebruiken: gewisseld"
    diffs = [a - b for a, b in zip(ours, theirs, strict=True)]
    margin = noise(diffs)
    held = counted(len(ours), "achtergehouden beslissing", "achtergehouden beslissingen")
    measured = f"{decimal(mean(ours), 3)} tegen {decimal(mean(theirs), 3)}, meetruis ±{decimal(margin, 3)}"
    # unrounded, with room for float error: one post lost is exactly one standard error down
    if math.fsum(diffs) / len(ours) >= -margin - 1e-9:
        return True, f"niet slechter op {held} ({measured}): gewisseld"
    return False, f"slechter op {held} ({measured}): niet gewisseld"


def refit_thresholds(written: list[tuple[str, list[str]]], learn: list[Decision], themes: ThemeSet,
                     weight: int, epochs: int, term_weight: float) -> dict[str, float]:
    """Per theme with at least MIN_POSITIVES among the learned decisions: the threshold chosen
    (`choose_threshold`) on out-of-fold scores of those decisions (fold = post id % FOLDS), with
    the candidate's term weight. Not for a theme whose threshold the themes file sets: that one is
    used whatever the model carries, so refitting it would cost fold trainings and report a
    threshold nobody uses."""
    due = [t.id for t in themes.themes
           if t.threshold is None and sum(t.id in labels for *_, labels in learn) >= MIN_POSITIVES]
    if not due:
        return {}
    scored: list[tuple[dict[str, float], list[str]]] = []
    for fold in range(FOLDS):
        inside = [d for d in learn if d[0] % FOLDS != fold]
        outside = [d for d in learn if d[0] % FOLDS == fold]
        if not outside:
            continue
        nlp = train(weighted(written, inside, weight), themes, epochs=epochs)
        set_term_weight(nlp, term_weight)
        model = Classifier(nlp, themes)
        scored += zip(model.scores(text for _, text, _ in outside), (labels for *_, labels in outside))
    return {theme: choose_threshold([theme in labels for _, labels in scored], [cats[theme] for cats, _ in scored])
            for theme in due}


# ---- recording ------------------------------------------------------------------------------

def register(store: Store, config: Config, job: TrainingJob, outcome: Outcome) -> ModelVersion:
    """Record the trained version; make it active when it won and nobody switched models meanwhile.
    Posts no editor decided are then marked for classification by the new model, in the same
    transaction. When that cannot be written, the model's folder is removed (`recording`)."""
    with recording(outcome.version, job.output), store.atomic():
        switch, reason = outcome.switch, outcome.reason
        if switch and active_model(store, config).version != job.current_version:
            switch, reason = False, "het actieve model is tijdens de training gewisseld: niet gewisseld"
        row = store.models.add(ModelVersion(
            version=outcome.version, path=job.stored_path, created_at=utcnow(), learned_from=len(job.learn),
            decisions=job.decisions, decisions_read_at=job.read_at, held_back=len(job.held), score=outcome.score,
            current_version=job.current_version, current_score=outcome.current_score, reason=reason,
        ), activate=switch)
        if switch:
            store.classifications.mark_unreviewed_stale(row.version)
    return row


def retrain(store: Store, config: Config, *, epochs: int | None = None) -> tuple[TrainingJob, Outcome, ModelVersion]:
    """What the background job does, in one call and this process (`benchmarks/learning_curve.py`;
    `harvester retrain` takes the same three steps itself, to report between them)."""
    job = prepare(store, config, epochs=epochs)
    outcome = train_candidate(job)
    return job, outcome, register(store, config, job, outcome)


def shown_reason(reason: str) -> str:
    """A version's reason as people here read it: the time it was switched to by hand in Dutch time,
    as its creation time is shown beside it. Rows switched before that time was stored as ISO text
    hold '2026-12-07 15:40 UTC', which reads the same way once converted."""
    trained, manual, when = reason.partition(MANUAL)
    return f"{trained}{manual}{dutch_time(when.removesuffix(' UTC'))}" if manual else reason


def use(store: Store, config: Config, version: str) -> ActiveModel:
    """Switch to `version`: one we trained, or the configured model's (back to `[nlp] model`).

    Only to a model that loads with the themes file as it is now, as classification will load it:
    a version whose folder is gone, or that does not know a theme added since, would stop all
    classification. ModelError (or ThemesError) says why, and nothing is switched."""
    row = store.models.get(version)
    if row is not None:
        path = str(model_path(config, row.path))
    elif version == configured_model(config).version:
        path = config.nlp.model
    else:
        raise KeyError(version)
    try:
        Classifier.load(path or None, load_themes(config.nlp.themes))
    except ModelError as e:
        raise ModelError(f"{version} niet in gebruik genomen: {e}") from None
    # one transaction, as in `register`: a model switched to while the posts keep the old one's
    # verdicts as current would leave them unclassified by it until the next switch
    with store.atomic():
        if row is not None:
            trained = row.reason.split(MANUAL)[0]
            store.models.activate(version, reason=f"{trained}{MANUAL}{utcnow()}")
        else:
            store.models.activate(None)
        active = active_model(store, config)
        store.classifications.mark_unreviewed_stale(active.version)
    return active
