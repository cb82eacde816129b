"""Learning from editors' decisions: retrain, refit thresholds, keep the better model, switch back.

Real SQLite files, a small trained model on disk, the CLI in-process (the background job's own
retraining is in test_learning_job.py).
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pytest
import spacy
from click.testing import CliRunner

from harvester import learning
from harvester.cli import main
from harvester.dutch import decimal
from harvester.config import load_config
from harvester.models import Classification
from harvester.nlp import Classifier, load_themes
from harvester.nlp.classifier import FROM_DECISIONS, FROM_DEFAULT, FROM_ROUNDS
from harvester.nlp.evidence import TERM_WEIGHT, TERM_WEIGHTS
from harvester.nlp.pipeline import ModelNotSaved
from harvester.nlp.thresholds import GRID, choose_threshold
from harvester.store import Store
from harvester.store.classifications import PendingCounts
from harvester.store.model_versions import ModelVersion
from harvester.timeutil import dutch_time, parse_iso

from .learningdata import NONE, OPEN, PLACES, SAMEN, decide, project_files
from .webdata import add_post, add_user


@pytest.fixture
def config(tmp_path, write_config, model_dir, monkeypatch):
    monkeypatch.setattr(learning, "EPOCHS", 15)   # a second per training
    themes, training = project_files(tmp_path, thresholds=False)
    return write_config(f'[nlp]\nmodel = "{model_dir}"\nthemes = "{themes}"\ntraining = "{training}"\n')


def run(config, *args: str):
    return CliRunner().invoke(main, [*args, "--config", str(config)], catch_exceptions=False)


def test_retrain_refits_a_threshold_switches_and_models_use_goes_back(config, tmp_path):
    with Store(tmp_path / "harvester.db") as store:
        # 30 on samenwerking (24 learned from: ids 5, 10, ... are held back), 10 open, 10 rejected
        decide(store, [(t, ["samenwerking"]) for t in SAMEN] + [(t, ["open_overheid"]) for t in OPEN[:10]]
               + [(t, []) for t in NONE[:10]])
        waiting = [add_post(store, 100 + n, f"Nog niet beoordeeld idee {n} over samenwerken") for n in range(3)]
        assert store.classifications.count_pending() == 0
    result = run(config, "retrain")
    assert result.exit_code == 0, result.output
    assert "Trainen op 40 beslissingen (elk 5 keer)" in result.output and "10 beslissingen blijven achter" in result.output
    assert "Drempels opnieuw bepaald op beslissingen: samenwerking " in result.output
    assert "Gewisseld: niet slechter op 10 achtergehouden beslissingen" in result.output
    with Store(tmp_path / "harvester.db") as store:
        (row,) = store.models.all()
        assert row.active and row.current_version == "themes-test" and row.reason.endswith("gewisseld")
        assert (row.learned_from, row.decisions, row.held_back) == (40, 50, 10)
        assert row.score is not None and row.current_score is not None and row.score >= row.current_score
        # the posts no editor decided wait for the new model
        assert sorted(p.post_id for p in store.classifications.pending()) == waiting
        assert learning.decisions_since(store) == 0
    saved = tmp_path / row.path
    meta = json.loads((saved / "meta.json").read_text())["harvester"]
    assert meta["threshold_sources"] == {"samenwerking": FROM_DECISIONS}
    assert meta["thresholds"]["samenwerking"] in GRID
    assert (meta["decisions"], meta["decision_weight"], meta["held_back"]) == (40, 5, 10)
    classifier = Classifier.load(saved, load_themes(tmp_path / "themes.toml"))
    assert classifier.version == row.version
    assert classifier.thresholds["samenwerking"] == pytest.approx(meta["thresholds"]["samenwerking"])
    assert classifier.threshold_sources == {"samenwerking": "beslissingen", "open_overheid": "standaard",
                                            "cultuur": "standaard"}

    listed = run(config, "models").output.splitlines()
    assert listed[0].startswith("  themes-test  geconfigureerd") and "geleerd van 0 beslissingen" in listed[0]
    # in the time people here read, as the review app shows it (stored in UTC)
    assert listed[1].startswith(f"* {row.version}  gemaakt {dutch_time(row.created_at)}, geleerd van 40 beslissingen")
    assert "achtergehouden 10: " in listed[1] and "drempels: beslissingen 1, standaard 2" in listed[1]
    status = run(config, "status").output
    assert f"Model: {row.version} (gekozen uit `harvester models`), geleerd van 40 beslissingen" in status
    threshold = f"{meta['thresholds']['samenwerking']:.2f}".replace(".", ",")
    assert f"drempel samenwerking: {threshold} (beslissingen)" in status
    assert "drempel cultuur: 0,35 (standaard)" in status
    assert "nieuwe beslissingen sinds de training: 0 van 50" in status
    assert f"met model {row.version}" in run(config, "classify").output

    back = run(config, "models", "use", "themes-test")
    assert back.exit_code == 0, back.output
    assert ("Model themes-test is nu in gebruik. 3 posts wachten op classificatie (door de achtergrondtaak, of met "
            "`harvester classify`): 3 geclassificeerd vóór een wissel van model.") in back.output
    assert run(config, "models").output.startswith("* themes-test  geconfigureerd")
    status = run(config, "status").output
    assert "Model: themes-test ([nlp] model), geleerd van 0 beslissingen" in status
    assert "drempel samenwerking: 0,35 (standaard)" in status
    assert "met model themes-test" in run(config, "classify").output
    again = run(config, "models", "use", row.version)
    assert again.exit_code == 0
    with Store(tmp_path / "harvester.db") as store:
        assert store.models.active().version == row.version
        assert "met de hand gekozen op" in store.models.active().reason
    unknown = CliRunner().invoke(main, ["models", "use", "themes-nooit", "--config", str(config)])
    assert unknown.exit_code == 2 and "onbekende modelversie" in unknown.output


def test_models_use_says_which_posts_wait_for_classification_and_why(tmp_path, write_config):
    config = write_config()                      # the shipped model: nothing to train or load
    shipped = learning.configured_model(load_config(config)).version
    with Store(tmp_path / "harvester.db") as store:
        add_post(store, 1, confidence=None)      # never classified
        add_post(store, 2)                       # classified by another model (test-1), not decided:
        add_post(store, 3)                       # these two go stale on the switch
        decided = add_post(store, 4)             # classified by test-1 and decided: keeps its verdict
        store.reviews.decide(decided, add_user(store, "eva", "redacteur"), 0, "accept")
        changed = add_post(store, 5, confidence=None)
        verdict = Classification(scores={"cultuur": 0.9}, assigned=("cultuur",), reasons={}, language="nl",
                                 is_dutch=True, confidence=0.9, model_version=shipped)
        # classified by the shipped model, but from a text the post had before its last change
        store.classifications.save_many([(changed, verdict)], seen={changed: "2000-01-01T00:00:00.000+00:00"})
    result = run(config, "models", "use", shipped)
    assert result.exit_code == 0, result.output
    assert result.output == (
        f"Model {shipped} is nu in gebruik. 4 posts wachten op classificatie (door de achtergrondtaak, of met "
        "`harvester classify`): 2 geclassificeerd vóór een wissel van model, 1 nog nooit geclassificeerd en 1 "
        "gewijzigd "
        "na de classificatie door dit model.\n")
    with Store(tmp_path / "harvester.db") as store:
        assert store.classifications.count_pending() == 4
        store.classifications.save_many([(p.post_id, verdict) for p in store.classifications.pending()])
    assert run(config, "models", "use", shipped).output.endswith(
        "is nu in gebruik. Er wachten geen posts op classificatie.\n")
    with Store(tmp_path / "harvester.db") as store:   # away to another model and back, before classifying
        store.classifications.mark_unreviewed_stale("test-2")
        assert store.classifications.count_pending_by_verdict(shipped) == PendingCounts(never=0, switched=4, changed=0)


def test_models_use_switches_and_sets_the_verdicts_aside_together_or_not_at_all(tmp_path, write_config):
    """When the verdicts of the model in use cannot be set aside (here: the disk full, as a trigger
    says), the switch does not happen either: the new model would otherwise be in use while the
    posts keep the old one's verdicts as current, and nothing would classify them again."""
    config = load_config(write_config())   # the shipped model
    shipped = learning.configured_model(config).version
    with Store(config.db_path) as store:
        store.models.add(ModelVersion(
            version="themes-1", path="models/1", created_at="2026-01-01T00:00:00.000+00:00", learned_from=0,
            decisions=0, decisions_read_at="2026-01-01T00:00:00.000+00:00", held_back=0, score=None,
            current_version=None, current_score=None, reason="getraind"), activate=True)
        add_post(store, 2)                # classified by another model, not decided
    with sqlite3.connect(config.db_path) as db:
        db.execute("CREATE TRIGGER full BEFORE UPDATE OF post_changed_at ON classifications"
                   " BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END")
    db.close()
    with Store(config.db_path) as store:
        with pytest.raises(sqlite3.Error, match="disk is full"):
            learning.use(store, config, shipped)
        assert store.models.active().version == "themes-1"


def test_models_use_says_in_dutch_that_the_database_is_busy(tmp_path, write_config):
    """Another connection holds the write lock beyond the busy timeout: one Dutch line, no English
    traceback (as for every command: `exit_on_error`)."""
    config = write_config()
    shipped = learning.configured_model(load_config(config)).version
    with Store(tmp_path / "harvester.db"):
        pass
    holder = sqlite3.connect(tmp_path / "harvester.db")
    holder.execute("BEGIN IMMEDIATE")
    try:
        result = CliRunner().invoke(main, ["models", "use", shipped, "--config", str(config)])
    finally:
        holder.rollback()
        holder.close()
    assert result.exit_code == 1
    assert result.output == ("harvester models: databasefout: de database is bezet: een ander proces hield haar "
                             "langer vast dan de harvester wacht\n")


def test_models_shows_the_time_of_a_switch_by_hand_in_dutch_time(config, tmp_path, model_dir):
    """`harvester models` writes when a version was made in Dutch time; when it was switched to by
    hand reads the same way beside it, whether stored now (ISO UTC) or as text '... UTC' before."""
    shutil.copytree(model_dir, tmp_path / "models" / "kopie")
    with Store(tmp_path / "harvester.db") as store:
        for version in ("themes-kopie", "themes-oud"):
            store.models.add(ModelVersion(
                version=version, path="models/kopie", created_at="2026-07-01T12:00:00.000+00:00", learned_from=0,
                decisions=0, decisions_read_at="", reason="getraind"))
        # as `models use` wrote it before: the time in UTC, said so in the text (14:05 in Amsterdam)
        store.models.activate("themes-oud", reason="getraind; met de hand gekozen op 2026-07-01 12:05 UTC")
    assert run(config, "models", "use", "themes-kopie").exit_code == 0
    with Store(tmp_path / "harvester.db") as store:
        stored = store.models.get("themes-kopie").reason
    trained, _, when = stored.partition("; met de hand gekozen op ")
    assert trained == "getraind" and parse_iso(when).tzinfo is not None   # unambiguous: ISO with its offset
    listed = run(config, "models").output
    assert "gemaakt 2026-07-01 14:00" in listed
    assert f"    getraind; met de hand gekozen op {dutch_time(when)}\n" in listed
    assert "    getraind; met de hand gekozen op 2026-07-01 14:05\n" in listed
    assert "UTC" not in listed


NEW_THEME = """
[[themes]]
id = "digitaal"
label = "Digitaal"
description = "Digitale dienstverlening."
terms = ["digitaal", "app"]
examples = ["Een app waarmee inwoners digitaal een vergunning aanvragen."]
"""


def test_models_use_refuses_a_model_that_cannot_load_and_status_shows_why(config, tmp_path, model_dir):
    """A version whose folder is gone (a clean-up, a database restored without data/models), or one
    that does not know a theme added since, would stop all classification: `models use` refuses it
    and keeps the model in use; `status` names the error instead of showing default thresholds."""
    shutil.copytree(model_dir, tmp_path / "models" / "kopie")
    with Store(tmp_path / "harvester.db") as store:
        store.models.add(ModelVersion(version="themes-kopie", path="models/kopie", created_at="",
                                      learned_from=0, decisions=0, decisions_read_at=""))
    shutil.rmtree(tmp_path / "models" / "kopie")
    refused = CliRunner().invoke(main, ["models", "use", "themes-kopie", "--config", str(config)])
    assert refused.exit_code == 2
    assert refused.output == (
        f"harvester models: modelfout: themes-kopie niet in gebruik genomen: {tmp_path / 'models' / 'kopie'}: "
        "geen getraind model (config.cfg ontbreekt); train een nieuw model met `harvester retrain` (dat neemt het "
        "in gebruik), of kies een ander met `harvester models use`\n")
    with Store(tmp_path / "harvester.db") as store:
        assert store.models.active() is None
        store.models.activate("themes-kopie")   # switched before the folder went
    status = run(config, "status").output
    assert "Model: themes-kopie (gekozen uit `harvester models`)" in status
    assert "  modelfout: " in status and "geen getraind model (config.cfg ontbreekt)" in status
    assert "drempel" not in status

    with Store(tmp_path / "harvester.db") as store:
        store.models.activate(None)
    with (tmp_path / "themes.toml").open("a", encoding="utf-8") as themes:
        themes.write(NEW_THEME)
    refused = CliRunner().invoke(main, ["models", "use", "themes-test", "--config", str(config)])
    assert refused.exit_code == 2
    assert ("themes-test niet in gebruik genomen: het model kent de thema's digitaal niet; train een nieuw model "
            "met `harvester retrain`") in refused.output
    status = run(config, "status").output
    assert "Model: themes-test ([nlp] model)" in status
    assert "  modelfout: het model kent de thema's digitaal niet; " in status and "drempel" not in status


def test_a_worse_candidate_is_kept_but_not_switched_to(config, tmp_path):
    """Decisions learned from contradict the held-back ones: the candidate learns them and loses."""
    items = []
    for n in range(1, 31):
        held = n % 5 == 0
        if n % 2:
            items.append((SAMEN[n - 1], ["samenwerking"] if held else ["open_overheid"]))
        else:
            items.append((OPEN[n - 1], ["open_overheid"] if held else ["samenwerking"]))
    with Store(tmp_path / "harvester.db") as store:
        ids = decide(store, items)
        assert ids == list(range(1, 31))
    result = run(config, "retrain")
    assert result.exit_code == 0, result.output
    assert "Pas 30 nieuwe beslissingen sinds de laatste training; de achtergrondtaak wacht op 50" in result.output
    assert "Niet gewisseld: slechter op 6 achtergehouden beslissingen" in result.output
    with Store(tmp_path / "harvester.db") as store:
        (row,) = store.models.all()
        assert not row.active and store.models.active() is None
        assert row.score < row.current_score and row.current_version == "themes-test"
        assert learning.active_model(store, load_config(config)).version == "themes-test"
        # the job does not try again before retrain_after more decisions came in
        assert learning.decisions_since(store) == 0
    assert "Model: themes-test ([nlp] model)" in run(config, "status").output
    listed = run(config, "models").output
    assert listed.startswith("* themes-test") and f"\n  {row.version}  " in listed and "niet gewisseld" in listed


def strict_model(model_dir, tmp_path, decisions: int = 0):
    """The test model with strict thresholds chosen for every term weight (as `harvester train`
    stores them): cultuur 0.75 at each, so that posts naming its terms reach it only with a larger
    weight; the others 0.7 + the weight. `decisions`: how many editors' decisions its meta says it
    learned from."""
    base = tmp_path / "base-model"
    shutil.copytree(model_dir, base)
    meta = json.loads((base / "meta.json").read_text())
    ids = load_themes(tmp_path / "themes.toml").ids
    table = {str(w): {t: 0.75 if t == "cultuur" else round(0.7 + w, 2) for t in ids} for w in TERM_WEIGHTS}
    meta["harvester"].update(term_weights=table,
                             term_weight=TERM_WEIGHT, term_weight_source=FROM_DEFAULT,
                             thresholds=dict.fromkeys(ids, 0.75), threshold_sources=dict.fromkeys(ids, FROM_ROUNDS),
                             decisions=decisions)
    (base / "meta.json").write_text(json.dumps(meta))
    return base


DEFAULT = decimal(TERM_WEIGHT)   # the default term weight as the CLI writes it
# posts that name two of cultuur's terms in words the model has not read: about 0.6-0.7 before term evidence
NAMING = [f"Bij de afdeling vergunningen in {p} gaat het nu om cultuur en lef." for p in PLACES]
CONCERTS = [f"Het cultuurpodium in {p} heeft vanavond lef: een concert." for p in PLACES]


@pytest.mark.parametrize("case", ["accepted", "rejected", "judged by a model that learned decisions"])
def test_learned_decisions_choose_the_term_weight_from_the_configured_model(tmp_path, write_config, model_dir,
                                                                             monkeypatch, case):
    """Accepted posts that name cultuur's terms choose a larger weight and its thresholds; the
    same kind of posts rejected keep the model's weight, and so does a configured model that
    learned from decisions (it cannot judge them). Held-back posts take no part."""
    monkeypatch.setattr(learning, "EPOCHS", 15)
    themes, training = project_files(tmp_path, thresholds=False)
    base = strict_model(model_dir, tmp_path, decisions=40 if case.startswith("judged") else 0)
    config = write_config(f'[nlp]\nmodel = "{base}"\nthemes = "{themes}"\ntraining = "{training}"\n')
    accepted = case != "rejected"
    naming = [(t, ["cultuur"]) for t in NAMING] if accepted else [(t, []) for t in CONCERTS]
    with Store(tmp_path / "harvester.db") as store:
        decide(store, naming + [(t, []) for t in NONE[:20]], skip_held_back=True)   # 50: MIN_TERM_DECISIONS
    result = run(config, "retrain")
    assert result.exit_code == 0, result.output
    assert "Trainen op 50 beslissingen" in result.output
    with Store(tmp_path / "harvester.db") as store:
        (row,) = store.models.all()
    meta = json.loads((tmp_path / row.path / "meta.json").read_text())["harvester"]
    classifier = Classifier.load(tmp_path / row.path, load_themes(themes))
    assert classifier.term_weight == meta["term_weight"]
    status = run(config, "status").output
    models = run(config, "models").output
    if case != "accepted":
        assert meta["term_weight"] == TERM_WEIGHT and meta["term_weight_source"] == FROM_DEFAULT
        why = ("geen ander gewicht stemt duidelijk beter overeen met de 50 beslissingen" if case == "rejected"
               else "het geconfigureerde model leerde zelf van beslissingen")
        assert f"Termgewicht blijft {DEFAULT}: {why}" in result.output
        assert f"termgewicht: {DEFAULT} (standaard)" in status
        return
    assert meta["term_weight"] in TERM_WEIGHTS and meta["term_weight"] > TERM_WEIGHT
    assert meta["term_weight_source"] == FROM_DECISIONS == classifier.term_weight_source
    weight = f"{meta['term_weight']:.2f}".replace(".", ",")
    assert (f"Termgewicht op basis van de beslissingen: {weight} (model in gebruik: {DEFAULT}), met de drempels die bij "
            "dat gewicht horen.") in result.output
    # the other themes take the chosen weight's thresholds; cultuur's 30 decisions refit its own
    chosen = meta["term_weights"][str(meta["term_weight"])]
    assert meta["thresholds"]["samenwerking"] == chosen["samenwerking"] == round(0.7 + meta["term_weight"], 2)
    assert meta["thresholds"]["open_overheid"] == chosen["open_overheid"]
    assert meta["threshold_sources"] == {"samenwerking": FROM_ROUNDS, "open_overheid": FROM_ROUNDS,
                                         "cultuur": FROM_DECISIONS}
    assert f"termgewicht: {weight} (beslissingen)" in status
    assert f"termgewicht {weight} (beslissingen)" in models and f"termgewicht {DEFAULT} (standaard)" in models
    # a post naming cultuur's terms the model had not read now reaches it
    (verdict,) = classifier.classify(["Bij de afdeling handhaving in Gouda gaat het nu om cultuur en lef."])
    assert "cultuur" in verdict.assigned
    # the next retrain: the model in use learned these decisions, the configured one still judges them
    with Store(tmp_path / "harvester.db") as store:
        decide(store, [(t, []) for t in NONE[20:30]], first=100, skip_held_back=True)
        assert store.models.active().version == row.version
    again = run(config, "retrain")
    assert again.exit_code == 0, again.output
    assert "Trainen op 60 beslissingen" in again.output and "leerde zelf van beslissingen" not in again.output


def test_the_term_weight_stays_and_says_why_when_the_decisions_cannot_choose(tmp_path, model_dir):
    """Too few learned decisions, a configured model that cannot be loaded, or one without thresholds
    per weight (trained before them): the current weight stays, with the reason the retrain prints."""
    themes = load_themes(project_files(tmp_path, thresholds=False)[0])
    decisions = [(n, text, ["cultuur"]) for n, text in enumerate(NAMING + NONE, start=1)][:learning.MIN_TERM_DECISIONS]
    few = learning.term_weight_on_decisions(str(model_dir), themes, decisions[:49], 0.1)
    assert (few.weight, few.kept) == (0.1, "pas 49 van de 50 beslissingen die het termgewicht kiezen")
    missing = learning.term_weight_on_decisions(str(tmp_path / "nergens"), themes, decisions, 0.1)
    assert missing.weight == 0.1 and missing.kept.startswith("het geconfigureerde model is niet te gebruiken (")
    untabled = learning.term_weight_on_decisions(str(model_dir), themes, decisions, 0.1)
    assert untabled.weight == 0.1 and untabled.table == {} and "geen drempels per termgewicht" in untabled.kept


def test_a_threshold_the_themes_file_sets_is_not_refitted(config, tmp_path):
    """The file's threshold is the one used: retraining neither spends fold trainings on it nor
    reports a refitted one that status would contradict."""
    project_files(tmp_path, thresholds=True)    # every theme: threshold = 0.45 in the file
    with Store(tmp_path / "harvester.db") as store:
        decide(store, [(t, ["samenwerking"]) for t in SAMEN] + [(t, []) for t in NONE[:10]])
    result = run(config, "retrain")
    assert result.exit_code == 0, result.output
    assert "Drempels opnieuw bepaald" not in result.output
    with Store(tmp_path / "harvester.db") as store:
        (row,) = store.models.all()
    meta = json.loads((tmp_path / row.path / "meta.json").read_text())["harvester"]
    assert FROM_DECISIONS not in meta["threshold_sources"].values()
    assert "drempel samenwerking: 0,45 (themabestand)" in run(config, "status").output


def without_cultuur(tmp_path) -> None:
    """The operator takes the theme cultuur out of the themes file (the test themes' last one)."""
    themes = tmp_path / "themes.toml"
    text = themes.read_text(encoding="utf-8")
    themes.write_text(text[:text.index('[[themes]]\nid = "cultuur"')], encoding="utf-8")


def test_a_theme_gone_from_the_themes_file_is_dropped_from_the_decisions(config, tmp_path):
    """Decisions carrying a theme the file no longer has would stop every retraining; the theme is
    left out of them instead, and a failed training leaves no empty version directory behind."""
    with Store(tmp_path / "harvester.db") as store:
        # ids 1-30 samenwerking, 31-40 cultuur only, 41-50 rejected (ids % 5 == 0 held back)
        decide(store, [(t, ["samenwerking"]) for t in SAMEN] + [(t, ["cultuur"]) for t in OPEN[:10]]
               + [(t, []) for t in NONE[:10]])
    without_cultuur(tmp_path)
    # the training texts still name cultuur: this training fails
    failed = CliRunner().invoke(main, ["retrain", "--config", str(config)])
    assert failed.exit_code == 2 and "onbekend thema 'cultuur'" in failed.output
    assert list((tmp_path / "models").iterdir()) == []
    training = tmp_path / "training.jsonl"
    training.write_text("".join(line + "\n" for line in training.read_text(encoding="utf-8").splitlines()
                                if "cultuur" not in json.loads(line)["themes"]), encoding="utf-8")

    result = run(config, "retrain")
    assert result.exit_code == 0, result.output
    assert ("Weggelaten uit de beslissingen, want het themabestand kent ze niet meer: cultuur (10 keer); 10 "
            "geaccepteerde posts hielden geen bekend thema over en tellen niet mee.") in result.output
    assert "Trainen op 32 beslissingen" in result.output and "8 beslissingen blijven achter" in result.output
    with Store(tmp_path / "harvester.db") as store:
        (row,) = store.models.all()
    assert row.active and (row.learned_from, row.held_back) == (32, 8)
    assert [p.name for p in (tmp_path / "models").iterdir()] == [row.version.removeprefix("themes-")]

    trained = run(config, "train", "--from-reviews", "--epochs", "5")
    assert trained.exit_code == 0, trained.output
    assert "het themabestand kent ze niet meer: cultuur (10 keer)" in trained.output
    assert "32 beoordeelde posts van redacteuren toegevoegd" in trained.output


def test_a_retraining_for_a_renamed_theme_keeps_the_thresholds_and_term_weight_of_the_others(
        tmp_path, write_config, model_dir, monkeypatch):
    """The model in use cannot be loaded under a renamed theme; the themes it does know keep the
    thresholds and the term weight its meta.json carries, rather than fall back to the defaults."""
    monkeypatch.setattr(learning, "EPOCHS", 15)
    themes, training = project_files(tmp_path, thresholds=False)
    base = strict_model(model_dir, tmp_path)
    meta = json.loads((base / "meta.json").read_text())
    meta["harvester"]["threshold_sources"]["samenwerking"] = FROM_DECISIONS
    meta["harvester"].update(term_weight=0.15, term_weight_source=FROM_DECISIONS)
    (base / "meta.json").write_text(json.dumps(meta))
    for path in (themes, training):
        path.write_text(path.read_text(encoding="utf-8").replace('"cultuur"', '"werkcultuur"'), encoding="utf-8")
    config = load_config(write_config(f'[nlp]\nmodel = "{base}"\nthemes = "{themes}"\ntraining = "{training}"\n'))
    with Store(config.db_path) as store:
        _, outcome, row = learning.retrain(store, config)
    assert row.active and outcome.current_score is None   # the model in use could not judge
    carried = json.loads((tmp_path / row.path / "meta.json").read_text())["harvester"]
    others = [t for t in load_themes(themes).ids if t != "werkcultuur"]
    assert carried["thresholds"] == dict.fromkeys(others, 0.75)
    assert carried["threshold_sources"] == {t: FROM_DECISIONS if t == "samenwerking" else FROM_ROUNDS for t in others}
    assert (carried["term_weight"], carried["term_weight_source"]) == (0.15, FROM_DECISIONS)
    assert Classifier.load(tmp_path / row.path, load_themes(themes)).term_weight == 0.15


def test_a_decision_keeps_its_known_themes_and_one_left_without_any_is_skipped():
    decisions = [(1, "a", ["samenwerking", "cultuur"]), (2, "b", ["cultuur"]), (3, "c", [])]
    kept, dropped = learning.known_themes_only(decisions, {"samenwerking"})
    assert kept == [(1, "a", ["samenwerking"]), (3, "c", [])]   # a rejected post stays a post without a theme
    assert dropped == learning.DroppedThemes({"cultuur": 2}, skipped=1)
    assert learning.known_themes_only(decisions, {"samenwerking", "cultuur"}) == (decisions, learning.DroppedThemes())
    assert learning.DroppedThemes().text() == ""


def test_retrain_without_decisions_says_so(config, tmp_path):
    result = run(config, "retrain")
    assert result.exit_code == 0, result.output
    assert "Pas 0 nieuwe beslissingen" in result.output
    assert "Nog geen beslissingen van redacteuren" in result.output
    assert "Gewisseld: geen achtergehouden beslissingen om op te meten" in result.output


def best_threshold(pairs: list[tuple[float, bool]]) -> float:
    return choose_threshold([g for _, g in pairs], [s for s, _ in pairs])


def test_the_threshold_with_the_best_f1_wins_and_ties_go_toward_035():
    # positives score 0.22-0.28, negatives below 0.1: every threshold from 0.10 to 0.20 separates them
    pairs = [(0.22 + 0.02 * (i % 4), True) for i in range(8)] + [(0.05, False)] * 8
    assert best_threshold(pairs) == 0.2
    # a negative at 0.5: 0.55 and 0.60 both separate perfectly, 0.55 is closer to 0.35
    pairs = [(0.6, True), (0.65, True), (0.5, False), (0.1, False)]
    assert best_threshold(pairs) == 0.55
    assert best_threshold([(0.5, False)]) == 0.35     # nothing to find: the default


def test_the_gate_allows_the_noise_of_a_small_slice_and_refuses_a_clearly_worse_candidate():
    # 20 posts: the candidate misses two the current model had right and gets one it missed
    current = [1.0] * 18 + [0.0, 0.0]
    candidate = [1.0] * 16 + [0.0, 0.0, 1.0, 0.0]
    switch, reason = learning.judge(candidate, current)
    assert switch and reason.startswith("niet slechter op 20 achtergehouden beslissingen (0,850 tegen 0,900, meetruis ±0,088)")
    # wrong on half the posts the current model had right: worse beyond the noise
    clearly = [1.0] * 9 + [0.0] * 11
    switch, reason = learning.judge(clearly, current)
    assert not switch and reason.startswith("slechter op 20 achtergehouden beslissingen (0,450 tegen 0,900")
    # two posts lost and none gained: 0.1 down, beyond the 0.069 of noise
    switch, reason = learning.judge([1.0] * 18 + [0.0, 0.0], [1.0] * 20)
    assert not switch and "(0,900 tegen 1,000, meetruis ±0,069)" in reason
    # one post lost is exactly one standard error down, whatever the slice's size: not worse
    for held in (5, 6, 7, 15, 20):
        assert learning.judge([1.0] * (held - 1) + [0.0], [1.0] * held)[0], held
    # the same per-post results are never worse; nothing held back or no usable current model: switch
    assert learning.judge(current, current)[0]
    assert learning.judge([], [])[0] and learning.judge([0.0], None)[0]


def test_the_held_back_score_is_the_agreement_per_post_averaged():
    """One post with one of two decided themes suggested weighs as much as any other post, whatever
    its themes: a slice of 10-40 decisions holds only one or two posts of most themes."""
    assert learning.agreement(set(), set()) == 1.0
    assert learning.agreement({"cultuur"}, set()) == 0.0 and learning.agreement(set(), {"cultuur"}) == 0.0
    assert learning.agreement({"cultuur"}, {"cultuur", "structuur"}) == pytest.approx(2 / 3)
    assert learning.agreement({"cultuur", "structuur"}, {"structuur", "cultuur"}) == 1.0


def test_two_trainings_in_the_same_second_get_two_versions(tmp_path, monkeypatch):
    monkeypatch.setattr(learning, "new_version", lambda: "20261206-120000")
    first, second = learning.unused_version(tmp_path / "models"), learning.unused_version(tmp_path / "models")
    assert (first, second) == ("20261206-120000", "20261206-120000-2")
    assert (tmp_path / "models" / first).is_dir() and (tmp_path / "models" / second).is_dir()


def test_discarding_a_training_removes_what_it_was_saving_and_nothing_of_another(config, tmp_path):
    """A training killed while it saved (the background job ends it when asked to stop, or the
    system did) leaves part of a model in save_pipeline's hidden folder: `discard` takes it too."""
    with Store(tmp_path / "harvester.db") as store:
        job = learning.prepare(store, load_config(config))
    models = tmp_path / "models"
    killed = models / f".{job.version}.unfinished-k1ll3d"
    other = models / f".{job.version}-2.unfinished-0th3r"   # another training, still saving
    for folder in (killed, other):
        (folder / "model" / "vocab").mkdir(parents=True)
        (folder / "model" / "vocab" / "strings.json").write_text("[]", encoding="utf-8")
    learning.discard(job.output)
    assert [p.name for p in models.iterdir()] == [other.name]


def test_a_model_the_database_cannot_record_leaves_no_folder_and_a_dutch_error(config, tmp_path):
    """Another connection holds the write lock longer than the busy timeout (a compaction of a large
    file, a backup tool): the trained version's row cannot be written. Its folder would then be a
    model no `harvester models` row names, which nothing lists or removes: it goes too."""
    db = tmp_path / "harvester.db"
    with Store(db) as store:
        decide(store, [(t, ["samenwerking"]) for t in SAMEN[:10]])
    holder = sqlite3.connect(db)
    holder.execute("BEGIN IMMEDIATE")
    try:
        for command in (["retrain"], ["train", "--epochs", "2"]):
            result = CliRunner().invoke(main, [*command, "--config", str(config)])
            assert result.exit_code == 1, result.output
            assert (f"harvester {command[0]}: modelfout: model themes-" in result.output
                    and " niet vastgelegd: de database is bezet" in result.output
                    and "; het model is niet bewaard\n" in result.output), result.output
            assert list((tmp_path / "models").iterdir()) == []
    finally:
        holder.rollback()
        holder.close()
    with Store(db) as store:
        assert store.models.all() == []


def test_a_bug_in_recording_a_model_keeps_its_traceback_and_still_removes_the_folder(tmp_path):
    """Only a database that refused (busy, full, read-only) is a model "niet vastgelegd": a statement
    that is wrong in itself (here a table that does not exist) is a bug, and goes on as it is, to be
    seen and fixed; the folder no row will name goes all the same."""
    folder = tmp_path / "models" / "v1"
    (folder / "model").mkdir(parents=True)
    with Store(tmp_path / "harvester.db") as store:
        with pytest.raises(sqlite3.OperationalError, match="no such table: nowhere"):
            with learning.recording("v1", folder), store.atomic():
                store.db.execute("INSERT INTO nowhere VALUES (1)")
    assert not folder.exists()


def test_train_keeps_the_folder_of_a_version_once_its_row_is_committed(config, tmp_path, monkeypatch):
    """Once the version's row is committed the folder is that version's: a statement that fails after
    the commit (here SQLite interrupts the first one after it) must not remove it, or `harvester
    models` would list a version whose model is gone."""
    connect = sqlite3.connect

    def interrupting_after_commit(*args, **kwargs):
        conn = connect(*args, **kwargs)
        state = {"at": "start"}

        def traced(sql: str) -> None:
            if state["at"] == "start" and sql.startswith("INSERT INTO models"):
                state["at"] = "inserted"
            elif state["at"] == "inserted" and sql == "COMMIT":
                state["at"] = "committed"
            elif state["at"] == "committed":
                state["at"] = "interrupt"

        conn.set_trace_callback(traced)
        conn.set_progress_handler(lambda: state["at"] == "interrupt", 1)
        return conn

    monkeypatch.setattr(sqlite3, "connect", interrupting_after_commit)
    result = CliRunner().invoke(main, ["train", "--epochs", "2", "--config", str(config)])
    monkeypatch.undo()
    assert result.exit_code == 0, result.output
    with Store(tmp_path / "harvester.db") as store:
        (row,) = store.models.all()
    assert (tmp_path / row.path / "meta.json").is_file()


def test_a_training_that_cannot_read_the_themes_file_names_it(config, tmp_path):
    """The themes file became unreadable after the training was prepared (here: a folder took its
    place): the error names that file, not the model's folder, which is not what failed."""
    with Store(tmp_path / "harvester.db") as store:
        job = learning.prepare(store, load_config(config))
    themes = Path(job.themes_path)
    themes.unlink()
    themes.mkdir()
    with pytest.raises(ModelNotSaved) as failed:
        learning.train_candidate(job)
    assert str(failed.value).startswith(f"{themes}: model niet bewaard: "), failed.value
    assert not Path(job.output).exists()


def test_a_retraining_loads_the_configured_model_once_while_it_is_the_one_in_use(tmp_path, write_config, model_dir,
                                                                                   monkeypatch):
    """Until a trained version is switched to, the model in use and the one that scores the
    decisions for the term weight are the same folder: a training loads it once, not twice."""
    monkeypatch.setattr(learning, "EPOCHS", 15)
    themes, training = project_files(tmp_path, thresholds=False)
    base = strict_model(model_dir, tmp_path)
    config = load_config(write_config(f'[nlp]\nmodel = "{base}"\nthemes = "{themes}"\ntraining = "{training}"\n'))
    with Store(config.db_path) as store:
        decide(store, [(t, ["cultuur"]) for t in NAMING] + [(t, []) for t in NONE[:20]], skip_held_back=True)
        job = learning.prepare(store, config)
    assert len(job.learn) >= learning.MIN_TERM_DECISIONS and job.current_path == job.base_path == str(base)
    loaded: list[Path] = []
    load = spacy.load
    monkeypatch.setattr(spacy, "load", lambda path, **kwargs: loaded.append(Path(path)) or load(path, **kwargs))
    outcome = learning.train_candidate(job)
    assert outcome.term_weight > TERM_WEIGHT   # the configured model did score the decisions
    assert loaded.count(base) == 1
