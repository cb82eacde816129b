"""The background job retrains once `retrain_after` decisions came in, in a process of its own, and
follows `harvester models use` while it runs: `harvester run` as a real process, real HTTP, real SQLite."""

from __future__ import annotations

import logging
import multiprocessing
import os
import shutil
import signal
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from click.testing import CliRunner

from harvester import learning
from harvester.cli import main
from harvester.config import load_config
from harvester.jobs.jobs import Jobs
from harvester.jobs.model import ModelLoader, ModelUnavailable
from harvester.jobs.service import run_once
from harvester.nlp import ModelError, load_themes
from harvester.nlp.classifier import check_saved, unknown_labels
from harvester.store.model_versions import ModelVersion
from harvester.store.schema import MIGRATIONS, V_JOB_FAILURES
from harvester.store import Store
from harvester.timeutil import to_utc_iso, utcnow

from .learningdata import OPEN, SAMEN, decide, project_files
from .test_scheduler import feed_source, growing_feed, harvester, query, runs, start, stop, wait_for


def unreviewed_versions(db: Path) -> set[str]:
    """Models whose verdicts the collected posts carry (none of them is decided)."""
    return {r[0] for r in query(db, "SELECT c.model_version FROM classifications c JOIN sightings g ON g.post_id ="
                                    " c.post_id JOIN sources s ON s.id = g.source_id AND s.name = 'tagfeed'"
                                    " WHERE c.post_changed_at <> ''")}


def stale(db: Path) -> int:
    return query(db, "SELECT count(*) FROM classifications WHERE post_changed_at = ''")[0][0]


def test_the_job_retrains_after_retrain_after_decisions_and_follows_models_use(server, write_config, model_dir,
                                                                                 tmp_path):
    server.route("/tags/innoverheid.rss", growing_feed())
    themes, training = project_files(tmp_path)
    config = write_config(f"""
[nlp]
model = "{model_dir}"
themes = "{themes}"
training = "{training}"
retrain_after = 6

[schedule]
jitter_seconds = 0
""" + feed_source("tagfeed", server.url("/tags/innoverheid.rss")))
    db = tmp_path / "harvester.db"
    # decisions only on posts that are not held back: nothing to measure on, so the candidate is
    # switched to (the held-back comparison has tests of its own in test_learning.py)
    with Store(db) as store:
        decide(store, [(t, ["samenwerking"]) for t in SAMEN[:5]], first=500, skip_held_back=True)
    process = start(config)
    try:
        # every collection looks whether to retrain: five decisions are not enough
        wait_for(lambda: runs(db, "tagfeed", "ok") >= 3 and unreviewed_versions(db) == {"themes-test"}, timeout=60,
                 what="three collections, classified by the configured model")
        assert query(db, "SELECT count(*) FROM models")[0][0] == 0
        # in one transaction: the running job never sees the post before its verdict and decision (it
        # would classify it as a new post, and the decided post would not carry the verdict decided on)
        with Store(db) as store, store.atomic():
            decide(store, [(OPEN[0], ["open_overheid"])], first=600, skip_held_back=True)
        wait_for(lambda: query(db, "SELECT count(*) FROM models WHERE active = 1")[0][0] == 1, timeout=120,
                 what="a retrained model, switched to")
        ((version, learned, held, reason),) = query(db, "SELECT version, learned_from, held_back, reason FROM models")
        assert (learned, held) == (6, 0) and reason.startswith("geen achtergehouden beslissingen")
        # the posts no editor decided are classified again, by the new model
        wait_for(lambda: unreviewed_versions(db) == {version} and stale(db) == 0, timeout=60,
                 what="unreviewed posts reclassified by the new model")
        # switching back from the command line while the job runs: the job loads that model too
        back = harvester(config, "models", "use", "themes-test")
        assert back.returncode == 0, back.stderr
        wait_for(lambda: unreviewed_versions(db) == {"themes-test"} and stale(db) == 0, timeout=60,
                 what="unreviewed posts reclassified by the configured model")
        # decided posts keep the verdict they were decided on
        assert query(db, "SELECT DISTINCT c.model_version FROM classifications c JOIN reviews r"
                         " ON r.post_id = c.post_id") == [("test-1",)]
    finally:
        code, seconds, _, err = stop(process)
    assert code == 0, err
    lines = [line for line in err.splitlines() if "job=retrain" in line]
    assert any("job=retrain status=started decisions=6 learned=6 held_back=0 current=themes-test" in line
               for line in lines), lines
    assert any(f"job=retrain status=switched candidate={version} current=themes-test" in line for line in lines), lines
    assert len([line for line in lines if "status=started" in line]) == 1   # once, not at every collection
    assert f"job=model status=loaded version={version}" in err
    assert "job=model status=loaded version=themes-test" in err


def test_a_model_that_failed_to_load_is_tried_again_and_an_edited_themes_file_is_read(write_config, model_dir,
                                                                                     tmp_path):
    """Fixing a broken themes file while the job runs is enough: no restart."""
    themes, _ = project_files(tmp_path)
    good = themes.read_text(encoding="utf-8")
    themes.write_text("dit is geen toml\n" + good, encoding="utf-8")   # a slip while editing
    config = load_config(write_config(f'[nlp]\nmodel = "{model_dir}"\nthemes = "{themes}"\n'))
    loader, stop = ModelLoader(config), threading.Event()
    with Store(config.db_path) as store:
        with pytest.raises(ModelUnavailable, match="geen geldige TOML"):
            loader.get(stop, store)
        themes.write_text(good, encoding="utf-8")
        fixed = loader.get(stop, store).themes
        assert fixed == load_themes(themes)
        project_files(tmp_path, thresholds=False)     # edited again: the thresholds taken out
        edited = loader.get(stop, store).themes
        assert edited == load_themes(themes) != fixed


@pytest.fixture
def learning_config(write_config, model_dir, tmp_path, monkeypatch, caplog):
    """A config whose job retrains after 6 decisions, with 10 in the store; the job's log captured."""
    monkeypatch.setattr(learning, "EPOCHS", 10)   # the job reads it when it prepares a training
    caplog.set_level(logging.INFO, logger="harvester.run")
    themes, training = project_files(tmp_path)
    config = load_config(write_config(f'[nlp]\nmodel = "{model_dir}"\nthemes = "{themes}"\ntraining = "{training}"\n'
                                      "retrain_after = 6\n"))
    with Store(config.db_path) as store:
        decide(store, [(t, ["samenwerking"]) for t in SAMEN[:10]])
    return config


def retrain_lines(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if "job=retrain" in r.getMessage()]


def kill_the_training(jobs: Jobs, stop: threading.Event, meanwhile=lambda: None) -> list[bool]:
    """learn(wait=True) with its training process killed (SIGKILL, as the OOM killer does), after
    calling `meanwhile` while it trains; what it returned."""
    results: list[bool] = []
    waiter = threading.Thread(target=lambda: results.append(jobs.learn(wait=True)), daemon=True)
    waiter.start()
    try:
        found: list[multiprocessing.Process] = []
        wait_for(lambda: found.extend(multiprocessing.active_children()) or found, timeout=30,
                 what="the training process")
        (child,) = found
        meanwhile()
        os.kill(child.pid, signal.SIGKILL)
        waiter.join(60)
        assert not waiter.is_alive(), "learn(wait=True) still waits for a killed training"
    finally:
        if waiter.is_alive():   # end the job's threads, so that a failure does not hang the run
            stop.set()
            waiter.join(10)
    return results


def test_a_killed_training_process_fails_the_retraining_which_waits_for_new_decisions(learning_config, caplog):
    """The kernel's OOM killer or an admin ends the training process: the job says so and does not
    wait for it forever (run --once would never end and keep the lock). It does not train again
    after every collection (the next one would run out of memory too), but after `retrain_after`
    new decisions."""
    stop = threading.Event()
    jobs = Jobs(learning_config, stop)
    assert kill_the_training(jobs, stop) == [False]
    (failed,) = [line for line in retrain_lines(caplog) if "status=failed" in line]
    assert "het trainingsproces stopte onverwacht (exitcode -9)" in failed
    models = learning_config.db_path.parent / "models"
    assert list(models.iterdir()) == []   # the version's directory went with it

    # the next pass (after the next collection) trains nothing, and leaves the failure in status
    assert jobs.learn(wait=True) is True
    assert len([line for line in retrain_lines(caplog) if "status=started" in line]) == 1
    with Store(learning_config.db_path) as store:
        assert store.models.all() == []
        assert store.job_outcomes.get("retrain").status == "failed"
    by_hand = CliRunner().invoke(main, ["--config", str(learning_config.path), "retrain"])   # trains at once
    assert by_hand.exit_code == 0, by_hand.output
    with Store(learning_config.db_path) as store:
        assert len(store.models.all()) == 1 and store.job_outcomes.get("retrain").status == "ok"
        decide(store, [(t, ["open_overheid"]) for t in OPEN[:6]], first=100)
    assert jobs.learn(wait=True) is True   # retrain_after new decisions: the job trains again, and records it
    with Store(learning_config.db_path) as store:
        assert len(store.models.all()) == 2 and store.job_outcomes.get("retrain").status == "ok"
    assert len([line for line in retrain_lines(caplog) if "status=started" in line]) == 2


def test_a_trained_model_that_could_not_be_registered_is_removed(learning_config, caplog):
    """The model is saved but its version row cannot be written (here: the version is taken while it
    trained): nothing would ever list or remove the folder, so it goes."""
    stop = threading.Event()
    jobs = Jobs(learning_config, stop)
    results: list[bool] = []
    waiter = threading.Thread(target=lambda: results.append(jobs.learn(wait=True)), daemon=True)
    waiter.start()
    models = learning_config.db_path.parent / "models"
    folders: list[Path] = []
    wait_for(lambda: models.is_dir() and (folders.extend(models.iterdir()) or folders), timeout=30,
             what="the training's folder")
    (folder,) = folders
    with Store(learning_config.db_path) as store:
        store.models.add(ModelVersion(
            version=f"themes-{folder.name}", path="elders", created_at=utcnow(), learned_from=0, decisions=0,
            decisions_read_at=utcnow(), held_back=0, score=None, current_version=None, current_score=None,
            reason="bezet"), activate=False)
    waiter.join(120)
    assert not waiter.is_alive() and results == [False]
    (failed,) = [line for line in retrain_lines(caplog) if "status=failed" in line]
    assert "UNIQUE constraint failed" in failed
    assert list(models.iterdir()) == []
    with Store(learning_config.db_path) as store:
        failed = store.job_outcomes.get("retrain")
        assert failed.status == "failed" and failed.error.endswith(
            "; opnieuw na [nlp] retrain_after nieuwe beslissingen, of nu met `harvester retrain`")
        assert failed.read_at < failed.at   # new decisions count from when it read them, the wait from its end


def test_a_retraining_that_fails_before_it_trains_says_when_it_is_tried_again(learning_config):
    """Its check fails (here: the models folder cannot be made, a file is in its place): the failure in
    `harvester status` says when the job tries again, as a failed training's does; it read nothing,
    so new decisions count from its end."""
    (learning_config.db_path.parent / "models").write_text("geen map", encoding="utf-8")
    assert Jobs(learning_config, threading.Event()).learn(wait=True) is False
    with Store(learning_config.db_path) as store:
        failed = store.job_outcomes.get("retrain")
        assert failed.status == "failed" and failed.read_at is None and failed.failures == 1
        assert failed.error.endswith("; opnieuw na [nlp] retrain_after nieuwe beslissingen, of nu met `harvester retrain`")
        assert learning.decisions_to_learn(store) == 0


def test_a_pass_without_enough_decisions_records_no_retraining(write_config, model_dir, tmp_path):
    """Nothing was trained: `harvester status` must not say a retraining just went well."""
    themes, training = project_files(tmp_path)
    config = load_config(write_config(f'[nlp]\nmodel = "{model_dir}"\nthemes = "{themes}"\n'
                                      f'training = "{training}"\nretrain_after = 6\n'))
    with Store(config.db_path) as store:
        decide(store, [(t, ["samenwerking"]) for t in SAMEN[:5]])
    assert Jobs(config, threading.Event()).learn(wait=True) is True
    with Store(config.db_path) as store:
        assert store.job_outcomes.get("retrain") is None and store.models.all() == []
    text = CliRunner().invoke(main, ["--config", str(config.path), "status"]).output
    assert "hertrainen" not in text and "nieuwe beslissingen sinds de training: 5 van 6" in text


def test_run_once_exits_1_when_its_retraining_failed(learning_config, caplog, tmp_path):
    without_cultuur = tmp_path / "themes.toml"   # the training texts still name cultuur: the training fails
    text = without_cultuur.read_text(encoding="utf-8")
    without_cultuur.write_text(text[:text.index('[[themes]]\nid = "cultuur"')], encoding="utf-8")
    assert run_once(learning_config) == 1
    failed = [r.getMessage() for r in caplog.records if "status=failed" in r.getMessage()]
    assert len(failed) == 1 and "job=retrain" in failed[0] and "onbekend thema 'cultuur'" in failed[0], failed


def test_a_theme_renamed_in_the_themes_file_is_learned_at_once_and_a_failure_waits_for_an_edit(
        write_config, model_dir, tmp_path, monkeypatch, caplog):
    """After a rename the model in use does not know the theme: classification refuses it, and the
    decisions that would start a retraining cannot come in while no post is classified. The job
    retrains at once. When that fails (the training texts still name the old id), it does not fail
    again after every collection, but once the admin saved the file."""
    monkeypatch.setattr(learning, "EPOCHS", 10)
    caplog.set_level(logging.INFO, logger="harvester.run")
    themes, training = project_files(tmp_path)
    config = load_config(write_config(f'[nlp]\nmodel = "{model_dir}"\nthemes = "{themes}"\ntraining = "{training}"\n'))
    themes.write_text(themes.read_text(encoding="utf-8").replace('id = "cultuur"', 'id = "werkcultuur"'),
                      encoding="utf-8")
    jobs = Jobs(config, threading.Event())

    def started() -> list[str]:
        return [line for line in retrain_lines(caplog) if "status=started" in line]

    assert jobs.learn(wait=True) is False   # no decisions at all, yet it trained
    (line,) = started()
    assert "decisions=0" in line and "new_themes=werkcultuur" in line
    with Store(config.db_path) as store:
        failed = store.job_outcomes.get("retrain")
        assert failed.status == "failed" and "onbekend thema 'cultuur'" in failed.error
    assert jobs.learn(wait=True) is True and len(started()) == 1   # nothing edited: not again

    training.write_text(training.read_text(encoding="utf-8").replace('"cultuur"', '"werkcultuur"'), encoding="utf-8")
    assert jobs.learn(wait=True) is True and len(started()) == 2
    with Store(config.db_path) as store:
        (row,) = store.models.all()
        assert row.active and store.job_outcomes.get("retrain").status == "ok"
        assert learning.themes_to_learn(store, config) == []
        assert "werkcultuur" in jobs.model.get(threading.Event(), store).labels   # classification can go on
    assert jobs.learn(wait=True) is True and len(started()) == 2   # the model in use knows them all now


def renamed_theme(config) -> None:
    themes = Path(config.nlp.themes)
    themes.write_text(themes.read_text(encoding="utf-8").replace('id = "cultuur"', 'id = "werkcultuur"'),
                      encoding="utf-8")


def test_a_failed_retraining_for_a_renamed_theme_sees_an_edit_saved_while_it_trained(learning_config, caplog):
    """The admin saves the training texts while the retraining for a renamed theme runs, and that
    training then fails (here: killed, as for lack of memory). The edit came after the training read
    the files, so the job tries again; it did not when it counted from the moment the failure was
    recorded. The failure says when it is tried again: not after `retrain_after` decisions, which
    cannot come in while classification refuses the model."""
    renamed_theme(learning_config)
    stop = threading.Event()
    jobs = Jobs(learning_config, stop)
    training = learning_config.nlp.training
    assert kill_the_training(jobs, stop, meanwhile=lambda: os.utime(training)) == [False]
    with Store(learning_config.db_path) as store:
        assert learning.themes_to_learn(store, learning_config) == ["werkcultuur"]
        failed = store.job_outcomes.get("retrain")
        assert failed.status == "failed"
        assert "opnieuw zodra het themabestand of de trainingsteksten zijn bewaard" in failed.error
        assert "retrain_after" not in failed.error


def shipped_model_renamed_theme(write_config, tmp_path: Path):
    """A config with the shipped model and the project's themes, cultuur renamed werkcultuur."""
    config_dir = Path(__file__).resolve().parent.parent / "config"
    themes, training = tmp_path / "themes.toml", tmp_path / "training.jsonl"
    shutil.copy(config_dir / "themes.toml", themes)
    shutil.copy(config_dir / "training.jsonl", training)
    config = load_config(write_config(f'[nlp]\nthemes = "{themes}"\ntraining = "{training}"\n'))
    renamed_theme(config)
    return config


def test_the_job_retrains_for_the_themes_classification_refuses_the_model_for(write_config, tmp_path):
    config = shipped_model_renamed_theme(write_config, tmp_path)
    themes = load_themes(config.nlp.themes)
    labels = learning.read_meta("")["labels"]["textcat_multilabel"]
    assert unknown_labels(labels, themes) == ["werkcultuur"] == unknown_labels([*labels, "oud"], themes)
    with pytest.raises(ModelError, match="kent de thema's werkcultuur niet"):
        check_saved("", themes, learning.read_meta(""))
    with Store(config.db_path) as store:
        assert learning.themes_to_learn(store, config) == ["werkcultuur"]


def test_a_failed_retraining_for_a_renamed_theme_is_tried_again_an_hour_after_it_ended_then_later(
        write_config, tmp_path):
    """What no edit fixes (a busy database, a models folder not writable for a while) may have passed
    an hour after the failure; before that, with the files unchanged since the training read them,
    it is not tried again. The hour counts from the end: a training that read its files more than an
    hour before it failed is not started again at once. Each failure in a row doubles the wait (up to
    a day), so one that always fails (too little memory) does not train every hour for ever."""
    config = shipped_model_renamed_theme(write_config, tmp_path)
    themes, training = config.nlp.themes, config.nlp.training
    now = datetime.now(UTC)
    saved = (now - timedelta(hours=5)).timestamp()
    for path in (themes, training):   # saved before the failed training read them
        os.utime(path, (saved, saved))

    def ended(ago: timedelta) -> None:   # the failure recorded as if it ended `ago`
        store.db.execute("UPDATE job_outcomes SET at = ? WHERE job = 'retrain'", [to_utc_iso(now - ago)])

    def failed(*, read: timedelta, ago: timedelta) -> None:
        store.job_outcomes.record("retrain", "failed", "training mislukt", read_at=to_utc_iso(now - read))
        ended(ago)

    with Store(config.db_path) as store:
        assert learning.themes_to_learn(store, config) == ["werkcultuur"]
        failed(read=timedelta(hours=3), ago=timedelta(minutes=1))   # it trained for hours, then failed
        assert learning.themes_to_learn(store, config) == []
        ended(timedelta(minutes=61))
        assert learning.themes_to_learn(store, config) == ["werkcultuur"]

        failed(read=timedelta(hours=3), ago=timedelta(minutes=61))   # the second failure in a row
        assert store.job_outcomes.get("retrain").failures == 2
        assert learning.themes_to_learn(store, config) == []
        ended(timedelta(minutes=121))
        assert learning.themes_to_learn(store, config) == ["werkcultuur"]

        os.utime(training)   # an edit after the training read the files: tried again at once
        failed(read=timedelta(hours=3), ago=timedelta(minutes=1))
        assert learning.themes_to_learn(store, config) == ["werkcultuur"]

        store.job_outcomes.record("retrain", "ok")
        store.job_outcomes.record("retrain", "failed", "training mislukt")
        assert store.job_outcomes.get("retrain").failures == 1   # one that went well ends the row
    assert [learning.retry_wait(n) for n in (1, 2, 3, 5, 6, 100)] == [
        timedelta(hours=h) for h in (1, 2, 4, 16, 24, 24)]


def test_a_failed_retraining_recorded_before_the_migration_keeps_its_reading(tmp_path):
    """A failed retraining's row from before `read_at` and `failures` held the training's reading in
    `at`: after the migration that is its reading (what edits count from), and it is one failure."""
    path = tmp_path / "harvester.db"
    with Store(path, migrate=False) as old:
        old.migrate(MIGRATIONS[:MIGRATIONS.index(V_JOB_FAILURES)])
        old.db.execute("INSERT INTO job_outcomes (job, at, status, error) VALUES "
                       "('retrain', '2026-12-01T10:00:00.000+00:00', 'failed', 'training mislukt'), "
                       "('purge', '2026-12-01T03:00:00.000+00:00', 'failed', 'bezet'), "
                       "('classify', '2026-12-01T11:00:00.000+00:00', 'ok', NULL)")
        old.db.conn.commit()
    with Store(path) as store:
        outcomes = {o.job: (o.at, o.read_at, o.failures) for o in store.job_outcomes.latest()}
    assert outcomes == {"retrain": ("2026-12-01T10:00:00.000+00:00", "2026-12-01T10:00:00.000+00:00", 1),
                        "purge": ("2026-12-01T03:00:00.000+00:00", None, 1),
                        "classify": ("2026-12-01T11:00:00.000+00:00", None, 0)}
