"""The background job retrains once `retrain_after` decisions came in, in a process of its own, and
follows `harvester models use` while it runs: `harvester run` as a real process, real HTTP, real SQLite."""

from __future__ import annotations

from pathlib import Path

from harvester.store import Store

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
        with Store(db) as store:
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
