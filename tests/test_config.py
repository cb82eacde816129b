from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner

from harvester.cli import main
from harvester.config import ConfigError, FeedSource, MastodonSource, load_config
from harvester.jobs.jobs import Jobs
from harvester.jobs.service import build_scheduler

from .conftest import ROOT


def test_shipped_config_is_valid_and_has_both_source_types():
    config = load_config(ROOT / "config" / "harvester.toml")
    assert config.tags == ["innoverheid", "lanceerplatform"]
    assert any(isinstance(s, FeedSource) for s in config.sources)
    assert any(isinstance(s, MastodonSource) for s in config.sources)


@pytest.mark.parametrize(
    "body, key, problem",
    [
        ("[harvest]\ntagz = ['x']\n", "harvest.tagz", "onbekende sleutel"),
        ("[harvest]\ntags = 'innoverheid'\n", "harvest.tags", "moet een lijst zijn"),
        ("[harvest]\ntimeout_seconds = 'snel'\n", "harvest.timeout_seconds", "moet een getal zijn"),
        ("[[sources]]\nname='a'\ntype='feed'\nurl='ftp://x'\n", "sources[0] (a).url", "geen http(s)-URL"),
        # urlparse lets control characters through; the fetch would fail on every run
        ('[[sources]]\nname="a"\ntype="feed"\nurl="https://x.nl/f\\teed"\n', "sources[0] (a).url",
         r"bevat een stuurteken (zoals een tab of regeleinde) op plaats 15: 'https://x.nl/f\teed'"),
        ('[[sources]]\nname="a"\ntype="feed"\nurl="https://x.nl/feed\\n"\n', "sources[0] (a).url", "stuurteken"),
        ('[[sources]]\nname="a"\ntype="mastodon"\ninstance="https://x\\u0000.nl"\n', "sources[0] (a).instance",
         "stuurteken"),
        ('[[sources]]\nname="a"\ntype="bluesky"\nservice="https://bsky.social\\u007f"\n', "sources[0] (a).service",
         "stuurteken"),
        ('[harvest]\nuser_agent_contact="https://x.nl/\\r\\nX-Extra: 1"\n', "harvest.user_agent_contact", "stuurteken"),
        # a host beyond ASCII goes into the User-Agent in IDNA form; this one has none
        ('[harvest]\nuser_agent_contact="https://\\u2603.nl/"\n', "harvest.user_agent_contact",
         "geen bruikbaar webadres: 'https://\u2603.nl/'"),
        ("[[sources]]\nname='a'\ntype='feed'\nurl='https://x.nl/f'\n[[sources]]\nname='a'\ntype='feed'\nurl='https://y.nl/f'\n",
         "sources[1] (a).name", "twee keer"),
        ("[[sources]]\nname='a'\ntype='gopher'\n", "sources[0].type", "moet een van"),
        ("[[sources]]\nname='a'\ntype='feed'\n", "sources[0].url", "verplicht"),
        ("[[sources]]\nname='a'\ntype='feed'\nurl='https://x.nl/f'\nmatch='some'\n", "sources[0] (a).match", "tags"),
        ("[[sources]]\nname='a'\ntype='feed'\nurl='https://x.nl/f'\ntime_zone='Europe/Amsterdm'\n",
         "sources[0] (a).time_zone", "onbekende tijdzone 'Europe/Amsterdm'"),
        ("[[sources]]\nname='a'\ntype='feed'\nurl='https://x.nl/f'\ntime_zone='Europe'\n", "sources[0] (a).time_zone", "tijdzone"),
        ("[[sources]]\nname='a'\ntype='feed'\nurl='https://x.nl/f'\ntime_zone='../../etc/passwd'\n",
         "sources[0] (a).time_zone", "tijdzone"),
        ("[[sources]]\nname='a'\ntype='mastodon'\ninstance='https://x.nl'\ninterval_minutes=true\n",
         "sources[0].interval_minutes", "moet een getal zijn"),
        ("[nonsense]\n", "nonsense", "onbekende sectie"),
        # TOML has inf and nan; date arithmetic and the scheduler end somewhere
        ("[schedule]\npurge_hours = inf\n", "schedule.purge_hours", "moet een eindig getal zijn, niet inf"),
        ("[schedule]\nrecheck_hours = nan\n", "schedule.recheck_hours", "moet een eindig getal zijn, niet nan"),
        ("[harvest]\ntimeout_seconds = -inf\n", "harvest.timeout_seconds", "eindig"),
        ("[schedule]\npurge_hours = 1e12\n", "schedule.purge_hours", "hoogstens 87600 (tien jaar), niet 1000000000000"),
        ("[schedule]\nmax_backoff_hours = 87601\n", "schedule.max_backoff_hours", "hoogstens 87600"),
        ("[harvest]\nmax_wait_seconds = 1e12\n", "harvest.max_wait_seconds", "hoogstens 86400 (een dag)"),
        ("[harvest]\nbackfill_days = 1000000\n", "harvest.backfill_days", "hoogstens 36500"),
        ("[privacy]\nretention_days = 1000000000\n", "privacy.retention_days",
         "moet minstens 1 en hoogstens 36500 (honderd jaar) zijn, niet 1000000000"),
        ("[privacy]\npseudonymize_accepted_after_days = 36501\n", "privacy.pseudonymize_accepted_after_days",
         "hoogstens 36500"),
        ("[[sources]]\nname='a'\ntype='feed'\nurl='https://x.nl/f'\ninterval_minutes=6e9\n",
         "sources[0] (a).interval_minutes", "hoogstens 5256000 (tien jaar), niet 6000000000"),
        ("[harvest]\ntimeout_seconds = -0.5\n", "harvest.timeout_seconds", "groter zijn dan 0 en hoogstens 86400 (een dag), niet -0,50"),
        # retries within a run: each bounded, and their doubling pauses together at most an hour
        ("[harvest]\nretries = 1000000000\n", "harvest.retries", "moet minstens 0 en hoogstens 10 zijn, niet 1000000000"),
        ("[harvest]\nretries = -1\n", "harvest.retries", "minstens 0"),
        ("[harvest]\nretry_backoff_seconds = 1e9\n", "harvest.retry_backoff_seconds",
         "moet groter zijn dan 0 en hoogstens 60 (een minuut), niet 1000000000"),
        ("[harvest]\nretry_backoff_seconds = 0\n", "harvest.retry_backoff_seconds", "groter zijn dan 0"),
        ("[harvest]\nretry_backoff_seconds = nan\n", "harvest.retry_backoff_seconds", "eindig"),
        ("[harvest]\nretries = 10\nretry_backoff_seconds = 4\n", "harvest.retries",
         "met 4 s als eerste pauze duren de pauzes van 10 extra pogingen samen 68 minuten; dat mag hoogstens een uur"),
        # the count reaches SQLite, which holds no integer this large
        ("[initiatives]\nmin_authors = 99999999999999999999\n", "initiatives.min_authors",
         "moet minstens 2 en hoogstens 100000 zijn, niet 99999999999999999999"),
        ("[initiatives]\nmin_authors = 100001\n", "initiatives.min_authors", "hoogstens 100000"),
        # each decision repeats this many times among the training texts
        ("[nlp]\ndecision_weight = 1000000000\n", "nlp.decision_weight", "moet minstens 1 en hoogstens 50 zijn, niet 1000000000"),
        ("[nlp]\ndecision_weight = 0\n", "nlp.decision_weight", "minstens 1"),
        ("[harvest]\nmax_redirects = -1\n", "harvest.max_redirects", "moet minstens 0 en hoogstens 20 zijn, niet -1"),
        ("[harvest]\nmax_redirects = 100000\n", "harvest.max_redirects", "hoogstens 20"),
        # the limit becomes a count of bytes, and the response is held in memory: float's largest overflows
        ("[harvest]\nmax_response_mb = 1e308\n", "harvest.max_response_mb", "moet groter zijn dan 0 en hoogstens 1024"),
        ("[harvest]\nmax_response_mb = 0\n", "harvest.max_response_mb", "moet groter zijn dan 0"),
        ("[harvest\n", "", "geen geldige TOML"),
    ],
)
def test_bad_config_names_file_key_and_problem(tmp_path, body, key, problem):
    path = tmp_path / "bad.toml"
    path.write_text(body)
    with pytest.raises(ConfigError) as e:
        load_config(path)
    assert e.value.key == key
    assert problem in e.value.problem
    assert str(path) in str(e.value)


def test_cli_reports_bad_config_in_one_line_with_status_2(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text("[harvest]\ntagz = ['x']\n")
    result = CliRunner().invoke(main, ["status", "--config", str(path)])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "harvest.tagz" in lines[0] and str(path) in lines[0]
    assert "Traceback" not in result.output


NOT_A_NAME = ("moet de naam van een omgevingsvariabele zijn, niet de waarde zelf: schrijf de naam in "
              "hoofdletters, met cijfers en '_' (zoals MASTODON_TOKEN)")


def refused_without_repeating(path: Path, text: str, value: str) -> str:
    """The one line `harvester status` ends with for a config file holding `text`, which must not
    show `value` (a secret, pasted where its variable's name belongs)."""
    path.write_text(text)
    result = CliRunner().invoke(main, ["status", "--config", str(path)])
    assert result.exit_code == 2
    assert value[:8] not in result.output
    (line,) = result.output.strip().splitlines()
    return line


def test_a_token_written_into_token_env_is_refused_without_repeating_it(tmp_path):
    # the collector names token_env in runs.error and in status: a token there would be stored and shown
    path = tmp_path / "bad.toml"
    source = '[[sources]]\nname="nl"\ntype="mastodon"\ninstance="https://x.nl"\n'
    token = "ZA-Yj3aBD8U8Cm7lKUp-lm9O9BmDgdhHzDeqsY8tlL0"
    line = refused_without_repeating(path, f'{source}token_env="{token}"\n', token)
    assert line.endswith(f"sources[0] (nl).token_env: {NOT_A_NAME}")
    # a token of only letters, digits and '_' (two in five are) has lower-case letters; a name does not
    for value in ("q3Vf9kLw0ZtR7yXbN2mA5sJd8hGc1uPe4oIxK6vT_Yl", "nl_token", "NL_TOKEN\n"):
        assert "hoofdletters" in refused_without_repeating(path, f"{source}token_env={json.dumps(value)}\n", value)
    for name in ("NL_TOKEN", ""):
        path.write_text(f'{source}token_env="{name}"\n')
        assert load_config(path).sources[0].token_env == name


def test_a_key_written_into_secret_env_is_refused_without_repeating_it(tmp_path):
    # the key's variable is named in the errors of every command that pseudonymises: the key itself must not be
    path = tmp_path / "bad.toml"
    secret = "kT9vXq2LmB7wZr4NcY8dHs1FpJ6uGe3A"
    line = refused_without_repeating(path, f'[privacy]\nsecret_env = "{secret}"\n', secret)
    assert line.endswith(f"privacy.secret_env: {NOT_A_NAME}")
    path.write_text('[privacy]\nsecret_env = "GEMEENTE_SECRET"\n')
    assert load_config(path).privacy.secret_env == "GEMEENTE_SECRET"


def test_config_from_environment_and_db_override(tmp_path, monkeypatch):
    path = tmp_path / "c.toml"
    path.write_text("[database]\npath = 'ignored.db'\n")
    monkeypatch.setenv("HARVESTER_CONFIG", str(path))
    monkeypatch.setenv("HARVESTER_DB", str(tmp_path / "env.db"))
    config = load_config()
    assert config.path == path
    assert config.db_path == tmp_path / "env.db"


def test_the_longest_periods_allowed_work_in_the_purge_and_the_schedule(tmp_path):
    """The limits are what the commands can compute with: a purge with the longest retention, and
    the background job's schedule with the longest intervals."""
    path = tmp_path / "h.toml"
    path.write_text(f"""
[database]
path = "{tmp_path / 'h.db'}"
[harvest]
backfill_days = 36500
recheck_days = 36500
[schedule]
recheck_hours = 87600
purge_hours = 87600
max_backoff_hours = 87600
[privacy]
retention_days = 36500
pseudonymize_accepted_after_days = 36500
[[sources]]
name = "blog"
type = "feed"
url = "https://blog.example/feed"
interval_minutes = 5256000
""")
    assert CliRunner().invoke(main, ["--config", str(path), "init"]).exit_code == 0   # purge wants a database
    for args in (["purge", "--dry-run"], ["purge"]):
        result = CliRunner().invoke(main, ["--config", str(path), *args], env={"HARVESTER_SECRET": "s" * 32})
        assert result.exit_code == 0, result.output
        assert "ouder dan 36500 dagen" in result.output
    config = load_config(path)
    scheduler = build_scheduler(config, Jobs(config, threading.Event()))
    assert {job.id for job in scheduler.get_jobs()} >= {"collect:blog", "recheck", "purge"}


def test_the_most_retries_and_the_longest_first_pause_allowed_each_load(tmp_path):
    path = tmp_path / "h.toml"
    for harvest in ("retries = 10\nretry_backoff_seconds = 3.5", "retries = 5\nretry_backoff_seconds = 60",
                    "retries = 0\nretry_backoff_seconds = 60"):
        path.write_text(f"[harvest]\n{harvest}\n")
        load_config(path)


def test_run_refuses_an_endless_interval_in_one_line_and_takes_no_lock(tmp_path):
    path = tmp_path / "h.toml"
    path.write_text(f'[database]\npath = "{tmp_path / "h.db"}"\n[schedule]\npurge_hours = inf\n')
    result = CliRunner().invoke(main, ["--config", str(path), "run"])
    assert result.exit_code == 2, result.output
    assert result.output.strip().endswith("schedule.purge_hours: moet een eindig getal zijn, niet inf")
    assert "Traceback" not in result.output
    assert not (tmp_path / "h.db").exists()
