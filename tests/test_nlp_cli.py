"""classify / train / evaluate end to end: real SQLite files, a trained model on disk, the CLI."""

from __future__ import annotations

import json
import re
import resource
import threading
import time

import pytest
from click.testing import CliRunner

from harvester.jobs import classify as classify_step
from harvester.jobs.classify import classify_pending
from harvester.cli import main
from harvester.config import load_config
from harvester.dutch import decimal
from harvester.models import Post
from harvester.nlp import SHIPPED_MODEL, Classifier, load_themes
from harvester.nlp.classifier import FROM_DECISIONS, FROM_DEFAULT, FROM_ROUNDS, FROM_THEMES_FILE
from harvester.nlp.evidence import TERM_WEIGHT, TERM_WEIGHTS
from harvester.nlp.thresholds import GRID
from harvester.store import Store

from .conftest import ROOT
from .learningdata import NONE, PLACES, decide
from .nlpdata import THEMES, THEMES_TOML, TRAINING, write_jsonl, write_project_files
from .races import uncommitted_edit
from .test_nlp import files_up_to


@pytest.fixture
def nlp_config(tmp_path, write_config, model_dir):
    themes, training = write_project_files(tmp_path)
    return write_config(f'[nlp]\nmodel = "{model_dir}"\nthemes = "{themes}"\ntraining = "{training}"\n')


def post(key: str, text: str) -> Post:
    return Post(key=key, kind="mastodon", content_html=f"<p>{text}</p>", text=text,
                url=f"https://mastodon.example/@a/{key}", published_at="2026-11-20T10:00:00+00:00")


def fill(store: Store, texts: list[str]) -> list[int]:
    source = store.sources.sync("test", "mastodon", "https://mastodon.example")
    with store.atomic():
        for i, text in enumerate(texts):
            store.posts.upsert(post(f"https://mastodon.example/s/{i}", text), source.id)
    return [r[0] for r in store.db.execute("SELECT id FROM posts ORDER BY id").fetchall()]


def verdicts(store: Store) -> dict[int, tuple[str, ...]]:
    rows = store.db.execute("SELECT post_id, theme FROM post_themes WHERE assigned = 1 ORDER BY post_id, theme").fetchall()
    out: dict[int, tuple[str, ...]] = {pid: () for (pid,) in store.db.execute("SELECT post_id FROM classifications")}
    for pid, theme in rows:
        out[pid] = out[pid] + (theme,)
    return out


def run(*args: str):
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result


def test_stale_posts_are_classified_again_after_an_edit(store, model_dir):
    classifier = Classifier.load(model_dir, THEMES)
    a, b = fill(store, ["We werken samen met bewoners aan het nieuwe park.", "Lekker weertje vandaag."])
    assert classify_pending(store, classifier) == 2
    assert verdicts(store) == {a: ("samenwerking",), b: ()}
    assert classify_pending(store, classifier) == 0          # nothing new, nothing stale
    source = store.sources.get("test")
    assert store.posts.upsert(post("https://mastodon.example/s/1",
                                   "Alle besluiten staan nu openbaar als open data online, transparant voor iedereen."),
                              source.id) == "updated"
    assert [(p.post_id, p.text) for p in store.classifications.pending()] == [
        (b, "Alle besluiten staan nu openbaar als open data online, transparant voor iedereen.")]
    seen = []
    assert classify_pending(store, classifier, progress=lambda done, total: seen.append((done, total))) == 1
    assert seen == [(1, 1)]
    assert verdicts(store) == {a: ("samenwerking",), b: ("open_overheid",)}
    reasons = json.loads(store.db.execute("SELECT reasons FROM classifications WHERE post_id = ?", [b]).fetchone()[0])
    assert "open data" in reasons["open_overheid"]
    assert classify_pending(store, classifier, include_all=True) == 2


def test_an_edit_committed_after_its_old_text_was_read_is_classified_again(store, model_dir, monkeypatch):
    """The edit was stamped before the pass read the post, and committed after: its verdict is of
    the old text, so the post must stay pending (it did not when verdicts recorded the pass's clock)."""
    classifier = Classifier.load(model_dir, THEMES)
    (new,) = fill(store, ["Lekker weertje vandaag."])   # never classified: the next pass reads it
    edited = post("https://mastodon.example/s/0", "Alle besluiten staan nu openbaar als open data online.")
    with uncommitted_edit(store.path, "test", edited) as commit:
        classify = classifier.classify

        def classify_then_commit(texts):
            verdicts = list(classify(texts))
            assert texts == ["Lekker weertje vandaag."]   # the old text: the edit was not committed
            commit()
            return iter(verdicts)

        monkeypatch.setattr(classifier, "classify", classify_then_commit)
        assert classify_pending(store, classifier, workers=1) == 1
    monkeypatch.undo()
    assert store.classifications.count_pending() == 1
    assert classify_pending(store, classifier) == 1
    assert verdicts(store) == {new: ("open_overheid",)}
    assert classify_pending(store, classifier) == 0


def test_worker_pool_gives_the_same_verdicts(store, model_dir, monkeypatch):
    classifier = Classifier.load(model_dir, THEMES)
    texts = [text for text, _ in TRAINING] * 4
    ids = fill(store, texts)
    classify_pending(store, classifier, workers=1)
    alone = verdicts(store)
    monkeypatch.setattr(classify_step, "POOL_FROM", 10)
    monkeypatch.setattr(classify_step, "CHUNK", 7)
    assert classify_pending(store, classifier, include_all=True, workers=2) == len(ids)
    assert verdicts(store) == alone
    scores = store.db.execute("SELECT count(*) FROM post_themes").fetchone()[0]
    assert scores == len(ids) * 3


def test_classify_command_on_a_real_database(nlp_config, tmp_path):
    with Store(tmp_path / "harvester.db") as store:
        ids = fill(store, ["Samen met de provincie bouwen we één loket.", "Nice weather in London today, isn't it lovely."])
    result = run("classify", "--config", str(nlp_config))
    assert result.exit_code == 0, result.output
    assert "2 posts geclassificeerd met model themes-test" in result.output
    with Store(tmp_path / "harvester.db") as store:
        assert verdicts(store) == {ids[0]: ("samenwerking",), ids[1]: ()}
        row = store.db.execute("SELECT language, is_dutch, model_version FROM classifications WHERE post_id = ?",
                               [ids[1]]).fetchone()
        assert row == ("en", 0, "themes-test")
    again = run("classify", "--config", str(nlp_config))
    assert "0 posts geclassificeerd" in again.output
    assert "2 posts" in run("classify", "--all", "--config", str(nlp_config)).output


def test_classify_refuses_a_missing_model_clearly(tmp_path, write_config):
    themes, _ = write_project_files(tmp_path)
    config = write_config(f'[nlp]\nmodel = "{tmp_path / "nergens"}"\nthemes = "{themes}"\n')
    result = CliRunner().invoke(main, ["classify", "--config", str(config)])
    assert result.exit_code == 2
    assert "modelfout" in result.output and "`harvester retrain`" in result.output


def test_evaluate_prints_metrics_and_json(nlp_config, tmp_path):
    eval_file = write_jsonl(tmp_path / "eval.jsonl", [
        ("De gemeente en de bewoners werken samen aan de wijk.", ["samenwerking"]),
        ("Alle vergaderstukken zijn openbaar als open data.", ["open_overheid"]),
        ("Durf te experimenteren en leer van fouten.", ["cultuur"]),
        ("Vanavond eet ik met mijn zus.", []),
    ])
    result = run("evaluate", str(eval_file), "--json", "--config", str(nlp_config))
    assert result.exit_code == 0, result.output
    metrics = json.loads(result.output)
    assert {"per_theme", "micro_f1", "macro_f1", "none_accuracy"} <= set(metrics)
    assert set(metrics["per_theme"]) == {"samenwerking", "open_overheid", "cultuur"}
    assert set(metrics["per_theme"]["cultuur"]) == {"precision", "recall", "f1", "support"}
    assert metrics["none_accuracy"] == 1.0 and metrics["macro_f1"] == 1.0
    text = run("evaluate", str(eval_file), "--config", str(nlp_config)).output
    assert "4 teksten" in text and "macro-F1 1,000" in text and "Open overheid" in text
    assert not re.search(r"\d\.\d", text), text   # decimal commas throughout, as on every Dutch screen
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "x", "themes": ["geen_thema"]}\n', encoding="utf-8")
    failed = CliRunner().invoke(main, ["evaluate", str(bad), "--config", str(nlp_config)])
    assert failed.exit_code == 2 and "bad.jsonl, regel 1: onbekend thema" in failed.output
    folder = CliRunner().invoke(main, ["evaluate", str(tmp_path), "--config", str(nlp_config)])
    assert folder.exit_code == 2 and folder.output.endswith(f"{tmp_path}: niet te lezen: is een map, geen bestand\n")


def test_train_command_saves_a_versioned_model_and_learns_from_reviews(nlp_config, tmp_path):
    with Store(tmp_path / "harvester.db") as store:
        ids = fill(store, ["De bibliotheek en het buurthuis bundelen hun krachten.", "Koop nu goedkope zonnebrillen!!!"])
        store.db.execute("INSERT INTO reviews (post_id, status, themes, version, updated_at) VALUES"
                         " (?, 'geaccepteerd', '[\"samenwerking\"]', 1, '2026-11-20T10:00:00+00:00'),"
                         " (?, 'afgewezen', '[]', 1, '2026-11-20T10:00:00+00:00')", ids)
        store.db.conn.commit()
        assert store.classifications.decisions() == [
            (ids[0], "De bibliotheek en het buurthuis bundelen hun krachten.", ["samenwerking"]),
            (ids[1], "Koop nu goedkope zonnebrillen!!!", []),
        ]
    result = run("train", "--from-reviews", "--epochs", "10", "--config", str(nlp_config))
    assert result.exit_code == 0, result.output
    assert "2 beoordeelde posts" in result.output and "macro-F1" in result.output and "Samenwerking" in result.output
    (saved,) = (tmp_path / "models").iterdir()
    classifier = Classifier.load(saved, THEMES)
    assert classifier.version == f"themes-{saved.name}"
    meta = classifier.nlp.meta["harvester"]
    # each decision counts [nlp] decision_weight (default 5) times
    assert meta["examples"] == len(TRAINING) + len(THEMES.examples()) + 2 * 5 and meta["from_reviews"] is True
    assert meta["decisions"] == 2
    assert set(meta["held_out"]["per_theme"]) == set(THEMES.ids)
    # listed as a version, not in use until chosen
    with Store(tmp_path / "harvester.db") as store:
        (row,) = store.models.all()
    assert (row.version, row.path, row.learned_from, row.active) == (classifier.version, f"models/{saved.name}", 2, False)
    assert f"harvester models use {classifier.version}" in result.output


def test_a_failed_train_leaves_no_empty_version_folder_and_says_why_in_dutch(nlp_config, tmp_path):
    """The version folder is set aside before the final training: one that fails then (here the
    disk fills once the folder is there, and building the pipeline writes a temporary file) must not
    leave it behind empty, where `harvester models` never lists it and nothing removes it; the
    reason is said in Dutch, not in Python's traceback."""
    models = tmp_path / "models"
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)

    def fill_the_disk_once_reserved() -> None:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if models.is_dir() and any(models.iterdir()):
                resource.setrlimit(resource.RLIMIT_FSIZE, (1_000_000, hard))   # for every thread: a full disk
                return
            time.sleep(0.005)

    with files_up_to(soft):   # SIGXFSZ ignored (set from this thread), the limit restored afterwards
        filler = threading.Thread(target=fill_the_disk_once_reserved, daemon=True)
        filler.start()
        result = CliRunner().invoke(main, ["train", "--epochs", "2", "--config", str(nlp_config)])
        filler.join()
    assert result.exit_code == 1 and not isinstance(result.exception, OSError), result.exception
    assert re.search(r"harvester train: modelfout: \S+/models/\d{8}-\d{6}: model niet bewaard: het bestand wordt "
                     r"groter dan het systeem toestaat\n$", result.output), result.output
    assert list(models.iterdir()) == []


def test_a_model_folder_that_cannot_be_made_is_a_dutch_error(nlp_config, tmp_path):
    """A file stands where the models' folder, or the folder --output names, must be made: said in
    Dutch, and nothing is left behind."""
    (tmp_path / "models").write_text("geen map", encoding="utf-8")
    result = CliRunner().invoke(main, ["train", "--epochs", "2", "--config", str(nlp_config)])
    assert result.exit_code == 1, result.exception
    assert result.output.endswith(f"harvester train: modelfout: {tmp_path / 'models'}: geen map voor het nieuwe model "
                                  "te maken: er staat al een bestand met die naam\n")
    assert (tmp_path / "models").read_text(encoding="utf-8") == "geen map"
    output = tmp_path / "models" / "mijnmodel"
    result = CliRunner().invoke(main, ["train", "--epochs", "2", "--output", str(output), "--config", str(nlp_config)])
    assert result.exit_code == 1, result.exception
    assert result.output.endswith(f"harvester train: modelfout: {output}: model niet bewaard: er staat al een bestand "
                                  "met die naam\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["harvester.toml", "models", "themes.toml", "training.jsonl"]


def test_train_output_is_named_as_the_config_file_must_hold_it(tmp_path, write_config, monkeypatch):
    """Relative paths in a config file count from its folder, not from where the command ran: with
    the config in config/harvester.toml, `--output mijnmodel` typed in the project folder is not
    "mijnmodel" there (that is config/mijnmodel), and following the advice finds the model."""
    themes, training = write_project_files(tmp_path)
    body = write_config(f'[nlp]\nthemes = "{themes}"\ntraining = "{training}"\n').read_text(encoding="utf-8")
    (tmp_path / "config").mkdir()
    config = tmp_path / "config" / "harvester.toml"
    config.write_text(body, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    result = run("train", "--epochs", "2", "--output", "mijnmodel", "--config", "config/harvester.toml")
    assert result.exit_code == 0, result.output
    assert f'[nlp] model = "{(tmp_path / "mijnmodel").as_posix()}" in config/harvester.toml' in result.output
    # inside the config's folder: relative to it, as someone would write it; the advice followed finds it
    result = run("train", "--epochs", "2", "--output", "config/modellen/m", "--config", "config/harvester.toml")
    assert '[nlp] model = "modellen/m" in config/harvester.toml' in result.output
    config.write_text(body.replace("[nlp]\n", '[nlp]\nmodel = "modellen/m"\n'), encoding="utf-8")
    assert Classifier.load(load_config(config).nlp.model, THEMES).nlp.meta["version"]


def test_train_chooses_thresholds_on_writers_the_model_did_not_read(tmp_path, write_config):
    """With two or more writers in the training file each theme's threshold is chosen on scores of
    writers a model had not read, and travels in the model's meta; the themes file sets none."""
    themes = tmp_path / "themes.toml"
    themes.write_text(THEMES_TOML.replace("threshold = 0.45\n", ""), encoding="utf-8")
    training = tmp_path / "training.jsonl"
    training.write_text("".join(json.dumps({"text": t, "themes": th, "writer": f"w{i % 2}"}, ensure_ascii=False) + "\n"
                                for i, (t, th) in enumerate(TRAINING)), encoding="utf-8")
    config = write_config(f'[nlp]\nthemes = "{themes}"\ntraining = "{training}"\n')
    result = run("train", "--epochs", "10", "--config", str(config), "--output", str(tmp_path / "model"))
    assert result.exit_code == 0, result.output
    assert "per schrijver (2)" in result.output and "Drempels: Samenwerking" in result.output
    classifier = Classifier.load(tmp_path / "model", load_themes(themes))
    meta = classifier.nlp.meta["harvester"]
    assert set(meta["thresholds"]) == set(THEMES.ids)
    assert all(round(v, 4) in GRID for v in meta["thresholds"].values()), meta["thresholds"]
    assert classifier.thresholds == pytest.approx(meta["thresholds"])
    assert classifier.threshold_sources == dict.fromkeys(THEMES.ids, FROM_ROUNDS)
    # thresholds for every term weight, for editors' decisions to choose from; the default in use
    assert [float(w) for w in meta["term_weights"]] == list(TERM_WEIGHTS)
    assert meta["thresholds"] == meta["term_weights"][str(TERM_WEIGHT)]
    assert (meta["term_weight"], meta["term_weight_source"]) == (TERM_WEIGHT, FROM_DEFAULT)
    assert classifier.term_weight == TERM_WEIGHT and classifier.term_weights[0.3] == meta["term_weights"]["0.3"]
    # a threshold in the themes file still wins over the model's
    pinned = load_themes(themes).themes[0].id
    themes.write_text(THEMES_TOML.replace("threshold = 0.45\n", "", 1).replace("threshold = 0.45\n", "")
                      .replace(f'id = "{pinned}"', f'id = "{pinned}"\nthreshold = 0.61'), encoding="utf-8")
    again = Classifier.load(tmp_path / "model", load_themes(themes))
    assert again.thresholds[pinned] == 0.61 and again.threshold_sources[pinned] == FROM_THEMES_FILE


@pytest.mark.parametrize("accepted, threshold, change", [(True, 0.75, "zwaarder"), (False, 0.75, None), (False, 0.66, "lichter")])
def test_train_from_reviews_lets_decisions_choose_the_term_weight(tmp_path, write_config, model_dir, accepted, threshold,
                                                                  change):
    """Fifty learned decisions on posts that name two of cultuur's terms, scored by the configured
    model (which learned none) at about 0.6; the default weight lifts them to about 0.71.
    Accepted, under a strict 0.75 for cultuur in the themes file, they choose a weight that lifts
    them over it, with that weight's thresholds from the table this training chose on the writers;
    rejected, the default stays under 0.75, and under 0.66 (which the default lifts them over, a
    smaller weight not) they choose a smaller weight."""
    themes = tmp_path / "themes.toml"
    themes.write_text(THEMES_TOML.replace("threshold = 0.45\n", "").replace('id = "cultuur"', f'id = "cultuur"\nthreshold = {threshold}'),
                      encoding="utf-8")
    training = tmp_path / "training.jsonl"
    training.write_text("".join(json.dumps({"text": t, "themes": th, "writer": f"w{i % 2}"}, ensure_ascii=False) + "\n"
                                for i, (t, th) in enumerate(TRAINING)), encoding="utf-8")
    config = write_config(f'[nlp]\nmodel = "{model_dir}"\nthemes = "{themes}"\ntraining = "{training}"\n')
    posts = [f"Het rapport over parkeervergunningen, afvalinzameling en wegonderhoud in {p} noemt ook cultuur en lef."
             for p in PLACES]
    with Store(tmp_path / "harvester.db") as store:
        decide(store, [(t, ["cultuur"] if accepted else []) for t in posts] + [(t, []) for t in NONE[:20]],
               skip_held_back=True)
    result = run("train", "--from-reviews", "--epochs", "10", "--config", str(config), "--output", str(tmp_path / "m"))
    assert result.exit_code == 0, result.output
    meta = Classifier.load(tmp_path / "m", load_themes(themes)).nlp.meta["harvester"]
    weight = meta["term_weight"]
    assert meta["thresholds"] == meta["term_weights"][str(weight)]
    if change is None:
        assert (weight, meta["term_weight_source"]) == (TERM_WEIGHT, FROM_DEFAULT)
        assert f"Termgewicht blijft {decimal(TERM_WEIGHT)}: geen ander gewicht stemt duidelijk beter overeen met de 50" in result.output
        return
    assert (weight > TERM_WEIGHT) == accepted and weight != TERM_WEIGHT and meta["term_weight_source"] == FROM_DECISIONS
    assert (f"Termgewicht op basis van de beslissingen: {decimal(weight)} (standaard {decimal(TERM_WEIGHT)}): elk woord "
            f"uit de termen van een thema telt {change}.") in result.output
    # the report and the stored figures are those of the chosen weight's thresholds
    assert meta["held_out"]["macro_f1"] == pytest.approx(float(result.output.split("macro-F1 ")[1].split()[0].replace(",", ".")), abs=1e-3)


def test_shipped_model_classifies_out_of_the_box():
    themes = load_themes(ROOT / "config" / "themes.toml")
    classifier = Classifier.load(None, themes)
    assert classifier.model_dir == "" and (SHIPPED_MODEL / "config.cfg").is_file()
    result = next(classifier.classify([
        "Alle besluiten en vergaderstukken van de gemeenteraad staan voortaan als open data online. #OpenOverheid",
    ]))
    assert "open_overheid" in result.assigned
    assert result.reasons["open_overheid"]


def test_the_shipped_model_names_no_stop_word_as_a_reason():
    """Stop words' forms weigh in its scores (we, als, iets say how a post is put), but an editor
    reads the reasons: those name content words."""
    classifier = Classifier.load(None, load_themes(ROOT / "config" / "themes.toml"))
    text = "Waarom moeten wij als ambtenaren altijd eerst toestemming vragen voordat we iets nieuws mogen proberen?"
    words = classifier.nlp(text)._.words
    stop = {n for n, minor in zip(words.norms, words.minor) if minor}
    assert {"wij", "als", "we", "iets", "eerst"} <= stop
    result = next(classifier.classify([text]))
    named = {r for reasons in result.reasons.values() for r in reasons}
    assert "cultuur" in result.assigned and "proberen" in named
    assert not named & stop
