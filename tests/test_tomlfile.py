"""The TOML files people edit (config, themes, initiatives): saved by Notepad with a byte-order mark
they are read as they are; a syntax error is told in Dutch, with its line and column."""

from __future__ import annotations

import codecs

import pytest
from click.testing import CliRunner

from harvester.cli import main
from harvester.config import DEFAULTS, ConfigError, load_config
from harvester.initiatives.catalogue import InitiativesError, load_catalogue
from harvester.nlp.themes import ThemesError, load_themes

from .conftest import ROOT


def notepad(path, text: str):
    """What Windows Notepad saves as "UTF-8": a byte-order mark, then the text with CR LF."""
    path.write_bytes(codecs.BOM_UTF8 + text.replace("\n", "\r\n").encode("utf-8"))
    return path


def test_config_themes_and_initiatives_saved_with_a_bom_are_read(tmp_path):
    initiatives = notepad(tmp_path / "initiatieven.toml",
                          '[[initiatives]]\nname = "Ynnovate"\nhashtags = ["ynnovate"]\n')
    themes = notepad(tmp_path / "themes.toml", (ROOT / "config" / "themes.toml").read_text(encoding="utf-8"))
    config = notepad(tmp_path / "harvester.toml",
                     f'[harvest]\ntags = ["innoverheid"]\n[nlp]\nthemes = "{themes}"\n'
                     f'[initiatives]\nfile = "{initiatives}"\n[database]\npath = "{tmp_path / "h.db"}"\n')
    loaded = load_config(config)
    assert loaded.tags == ["innoverheid"]
    assert load_themes(loaded.nlp.themes).ids == load_themes(ROOT / "config" / "themes.toml").ids
    assert load_catalogue(initiatives).names() == ["Ynnovate"]
    # the commands that read the list as well
    assert CliRunner().invoke(main, ["init", "--config", str(config)]).exit_code == 0
    result = CliRunner().invoke(main, ["initiatives", "--config", str(config)])
    assert result.exit_code == 0, result.output
    assert "Ynnovate" in result.stdout


def test_the_same_list_with_or_without_a_bom_is_the_same_list(tmp_path):
    """The catalogue's digest (a changed list matches every post again) is of the text, not the mark."""
    text = (DEFAULTS / "initiatives.toml").read_text(encoding="utf-8")
    plain = tmp_path / "zonder.toml"
    plain.write_text(text, encoding="utf-8")
    assert load_catalogue(notepad(tmp_path / "met.toml", text)).source == load_catalogue(plain).source


@pytest.mark.parametrize(("text", "dutch"), [
    ('[[initiatives]\nname = "A"\n', "op regel 1, kolom 14: ']]' ontbreekt achter de naam van de tabel"),
    ('[[initiatives]]\nname = Ynnovate\n', "op regel 2, kolom 8: ongeldige waarde (tekst hoort tussen aanhalingstekens)"),
    ('[[initiatives]]\nname = "Ynnovate\n', "op regel 2, kolom 17: tekst niet afgesloten met een aanhalingsteken"),
    ('[[initiatives]]\nname = "A"\nname = "B"\n', "op regel 3, kolom 11: deze sleutel heeft al een waarde"),
    ('[[initiatives]]\nhashtags = ["a",\n', "aan het eind van het bestand: ongeldige waarde"),
])
def test_a_syntax_error_is_told_in_dutch(tmp_path, text, dutch):
    path = tmp_path / "initiatives.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InitiativesError) as e:
        load_catalogue(path)
    assert str(e.value).startswith(f"{path}: geen geldige TOML {dutch}")


def test_config_and_themes_say_it_in_dutch_too(tmp_path):
    path = notepad(tmp_path / "harvester.toml", "[harvest]\ntags = ['innoverheid'\n")
    with pytest.raises(ConfigError) as e:
        load_config(path)
    assert e.value.problem == "geen geldige TOML aan het eind van het bestand: lijst niet afgesloten met ']'"
    themes = tmp_path / "themes.toml"
    themes.write_text('[[themes]]\nid = "a"\n[[themes]\n', encoding="utf-8")
    with pytest.raises(ThemesError, match="geen geldige TOML op regel 3, kolom 9: ']]' ontbreekt"):
        load_themes(themes)


def test_a_file_in_another_encoding_is_named_so(tmp_path):
    path = tmp_path / "initiatives.toml"
    path.write_bytes('[[initiatives]]\nname = "Ideeënbus"\n'.encode("cp1252"))
    with pytest.raises(InitiativesError, match="geen UTF-8-tekst \\(regel 2\\); sla het bestand op als UTF-8"):
        load_catalogue(path)
