from __future__ import annotations

import pytest
from click.testing import CliRunner

from harvester.cli import main
from harvester.config import ConfigError, FeedSource, MastodonSource, load_config

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
        ("[[sources]]\nname='a'\ntype='feed'\nurl='https://x.nl/f'\n[[sources]]\nname='a'\ntype='feed'\nurl='https://y.nl/f'\n",
         "sources[1] (a).name", "twee keer"),
        ("[[sources]]\nname='a'\ntype='gopher'\n", "sources[0].type", "moet een van"),
        ("[[sources]]\nname='a'\ntype='feed'\n", "sources[0].url", "verplicht"),
        ("[[sources]]\nname='a'\ntype='feed'\nurl='https://x.nl/f'\nmatch='some'\n", "sources[0] (a).match", "tags"),
        ("[[sources]]\nname='a'\ntype='mastodon'\ninstance='https://x.nl'\ninterval_minutes=true\n",
         "sources[0].interval_minutes", "moet een getal zijn"),
        ("[nonsense]\n", "nonsense", "onbekende sectie"),
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


def test_config_from_environment_and_db_override(tmp_path, monkeypatch):
    path = tmp_path / "c.toml"
    path.write_text("[database]\npath = 'ignored.db'\n")
    monkeypatch.setenv("HARVESTER_CONFIG", str(path))
    monkeypatch.setenv("HARVESTER_DB", str(tmp_path / "env.db"))
    config = load_config()
    assert config.path == path
    assert config.db_path == tmp_path / "env.db"
