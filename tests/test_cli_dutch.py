"""Click's own texts in Dutch: the usage lines, headings, --help and --version of every command, and
the errors for bad input, whatever the language of the environment (harvester.cli.dutch_click)."""

from __future__ import annotations

import ast
import gettext
import os
import re
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from harvester import __version__
from harvester.cli import dutch_click, main
from harvester.cli.reference import commands

CLICK_SOURCE = Path(click.__file__).parent

# what Click says in English, as a user would spot it
ENGLISH = [
    "Usage:", "Options:", "Commands:", "Positional arguments", "Try '", "for help", "Error:", "No such option",
    "No such command", "Missing option", "Missing argument", "Missing command", "Invalid value", "is not one of",
    "is not in the range", "is not a valid", "does not exist", "is a file", "is a directory", "[required]",
    "default:", "Show this message and exit", "Show the version and exit", ", version ", "[OPTIONS]",
    "COMMAND [ARGS]", "INTEGER", "RANGE", "TEXT", "Choose from", "requires an argument", "unexpected extra", "Aborted",
    "Did you mean",
    # the placeholders Click makes of a parameter's name (NAME, FILE...) and those its types put in the help
    "NAME", "VERSION", "FILE", "FOLDER", "PATH", "DIRECTORY",
]


def marked_messages() -> list[tuple[str, ...]]:
    """Every text Click's source marks for gettext: ("msgid",) for `_`, (singular, plural) for `ngettext`."""
    found = []
    for source in sorted(CLICK_SOURCE.glob("*.py")):
        for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("_", "ngettext"):
                texts = tuple(a.value for a in node.args[:2 if node.func.id == "ngettext" else 1]
                              if isinstance(a, ast.Constant))
                if texts:   # `_(extra["required"])` marks a variable; "required" is checked below
                    found.append(texts)
    return found


def english_fragments() -> set[str]:
    """The pieces of Click's marked messages between their placeholders, of two words or more."""
    pieces = set()
    for texts in marked_messages():
        for text in texts:
            pieces |= {p.strip() for p in re.split(r"\{[^}]*\}|%\(\w+\)s|\n\t", text) if " " in p.strip()}
    return pieces


def assert_dutch(output: str) -> None:
    left = [phrase for phrase in ENGLISH if phrase in output]
    left += [fragment for fragment in english_fragments() if fragment in output]
    assert not left, f"Engels van Click in:\n{output}"


def test_every_message_click_marks_is_in_the_catalogue():
    messages = marked_messages()
    assert len(messages) > 50   # the source was read
    missing = [m for m in messages if (m[0] not in dutch_click.MESSAGES if len(m) == 1 else m not in dutch_click.PLURALS)]
    assert not missing, "nieuwe teksten van Click zonder vertaling"
    assert "required" in dutch_click.MESSAGES   # the one Click marks through a variable


def test_every_click_module_with_gettext_gets_the_catalogue():
    using = {p.stem for p in CLICK_SOURCE.glob("*.py") if "from gettext import" in p.read_text(encoding="utf-8")}
    assert using - {"_winconsole"} == set(dutch_click.CLICK_MODULES)   # _winconsole: Windows only
    for name in dutch_click.CLICK_MODULES:
        module = sys.modules[f"click.{name}"]
        # the catalogue's own methods, not merely something other than gettext's: a `_` Click defined
        # itself would be English again
        assert from_the_catalogue(getattr(module, "_", None), dutch_click.DutchClick.gettext), name
        if "ngettext" in (CLICK_SOURCE / f"{name}.py").read_text(encoding="utf-8"):
            assert from_the_catalogue(getattr(module, "ngettext", None), dutch_click.DutchClick.ngettext), name


def from_the_catalogue(function, method) -> bool:
    """Whether `function` is `method` bound to a Dutch catalogue."""
    return getattr(function, "__func__", None) is method and isinstance(function.__self__, dutch_click.DutchClick)


def test_only_click_is_dutch():
    import argparse
    assert argparse._ is gettext.gettext and gettext.gettext("Usage:") == "Usage:"


@pytest.fixture
def run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for name in ("HARVESTER_CONFIG", "HARVESTER_DB"):
        monkeypatch.delenv(name, raising=False)

    def invoke(*args: str) -> click.testing.Result:
        return CliRunner().invoke(main, list(args), prog_name="harvester")

    return invoke


BAD_INPUT = [
    (["collect", "--nope"], "Fout: Onbekende optie '--nope'."),
    (["colect"], "Fout: Onbekend commando 'colect'."),
    (["status", "--json", "extra"], "Onverwacht extra argument (extra)"),
    (["users", "add", "anne"], "Fout: Ontbrekende verplichte optie '--role'. Kies uit:"),
    (["users", "add"], "Fout: Ontbrekend argument 'NAAM'."),
    (["models", "use"], "Fout: Ontbrekend argument 'VERSIE'."),
    (["evaluate"], "Fout: Ontbrekend argument 'BESTAND'."),
    (["users", "add", "anne", "--role", "baas"],
     "Fout: Ongeldige waarde voor '--role': 'baas' is niet een van 'lezer', 'redacteur', 'beheerder'."),
    (["serve", "--port", "70000"], "Fout: Ongeldige waarde voor '--port': 70000 valt buiten het bereik 1<=x<=65535."),
    (["posts", "--limit", "0"], "Fout: Ongeldige waarde voor '--limit': 0 valt buiten het bereik x>=1."),
    (["posts", "--limit", "tien"], "Fout: Ongeldige waarde voor '--limit': 'tien' is geen geheel getal."),
    (["train", "--output"], "Fout: Optie '--output' heeft een waarde nodig."),
    (["status", "--json=ja"], "Fout: Optie '--json' neemt geen waarde aan."),
]


@pytest.mark.parametrize(("args", "error"), BAD_INPUT, ids=lambda v: " ".join(v) if isinstance(v, list) else "")
def test_bad_input_is_refused_in_dutch(run, args, error):
    result = run(*args)
    assert result.exit_code == 2, result.output
    assert error in result.output
    assert_dutch(result.output)


def test_an_argument_of_two_values_given_one():
    """No command of ours takes two values in one argument yet; Click's message for it is Dutch all the same."""
    @click.command(cls=dutch_click.Command)
    @click.argument("period", nargs=2, metavar="VAN TOT")
    def command(period):
        pass

    result = CliRunner().invoke(command, ["2013-05-01"])
    assert result.exit_code == 2 and "Fout: Argument 'period' verwacht 2 waarden." in result.output


def test_an_unknown_option_shows_the_usage_and_where_to_find_help(run):
    assert run("collect", "--nope").output.splitlines()[:2] == [
        "Gebruik: harvester collect [OPTIES]", "Zie 'harvester collect --help' voor hulp."]


def test_a_file_where_a_folder_belongs_and_a_file_that_does_not_exist(run, tmp_path):
    (tmp_path / "harvester.toml").write_text("")
    result = run("init", "harvester.toml")
    assert result.exit_code == 2 and "Fout: Ongeldige waarde voor '[MAP]': Map 'harvester.toml' is een bestand." \
        in result.output
    assert_dutch(result.output)
    missing = run("evaluate", "bestaat-niet.jsonl")
    assert missing.exit_code == 2 and "bestaat-niet.jsonl: bestand niet gevonden" in missing.output
    assert_dutch(missing.output)


def test_the_help_of_every_command_and_group_is_dutch(run):
    texts = {path: command.get_help(ctx) for path, command, ctx in commands()}
    assert len(texts) > 20
    for text in texts.values():
        assert text.startswith("Gebruik: ")
        assert_dutch(text)
    assert "\nOpties:\n" in texts["harvester"] and "\nCommando's:\n" in texts["harvester"]
    assert "Gebruik: harvester [OPTIES] COMMANDO [ARGUMENTEN]..." in texts["harvester"]
    assert "Toon deze hulp en stop." in texts["harvester collect"]
    assert "Toon het versienummer en stop." in texts["harvester"]
    assert "[verplicht]" in texts["harvester users add"]
    assert "[standaard: 20; x>=1]" in texts["harvester posts"] and "--limit GETAL" in texts["harvester posts"]
    # the placeholder in the usage line is the one the text under it names
    for path, placeholder, named in [("harvester users add", "NAAM", "account NAAM"),
                                     ("harvester models use", "VERSIE", "modelversie VERSIE"),
                                     ("harvester init", "[MAP]", "harvester.toml in MAP"),
                                     ("harvester evaluate", "BESTAND", "gelabeld BESTAND")]:
        assert texts[path].startswith(f"Gebruik: {path} [OPTIES] {placeholder}\n") and named in texts[path]
    assert "--out BESTAND" in texts["harvester export"]
    # and as --help prints it
    for args in (["--help"], ["collect", "--help"], ["users", "-h"]):
        result = run(*args)
        assert result.exit_code == 0 and result.output.startswith("Gebruik: harvester")
        assert_dutch(result.output)


def test_version_is_dutch(run):
    result = run("--version")
    assert (result.exit_code, result.output) == (0, f"harvester, versie {__version__}\n")


def test_dutch_whatever_the_language_of_the_environment(tmp_path):
    """The admin's cron job runs with LANG=C, a developer's shell in English: Click speaks Dutch in both."""
    for language in ({"LANG": "C", "LC_ALL": "C"}, {"LANGUAGE": "en_GB", "LANG": "en_GB.UTF-8"}):
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("HARVESTER_", "LANG", "LC_"))} | language
        result = subprocess.run([sys.executable, "-m", "harvester", "collect", "--nope"], cwd=tmp_path, env=env,
                                capture_output=True, text=True, timeout=60)
        assert result.returncode == 2 and result.stderr.endswith("Fout: Onbekende optie '--nope'.\n"), result.stderr
        assert_dutch(result.stderr)
