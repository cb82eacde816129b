"""Click's own texts in Dutch: usage lines, headings, --help and --version, and its error messages.

Click marks every text it shows with gettext (`from gettext import gettext as _` in each module), so
one Dutch catalogue keyed by Click's English messages covers them all. Click has no gettext domain of
its own, though: its `_` is the standard library's `gettext.gettext`, which reads the language from
the environment (LANGUAGE, LANG...) and serves every library that uses the default domain. The
admin's cron job runs with LANG=C and the CLI must still speak Dutch, without changing the process's
locale or other libraries' texts; so `install()` points the `_` and `ngettext` of Click's modules,
and only those, at this catalogue. It runs before any click object of the CLI is made (Path's
"file"/"directory" is translated when the type is created).

tests/test_cli_dutch.py checks that every message Click's source marks is in the catalogue and that
every Click module that imports gettext is installed, so a Click release that adds a message or a
module fails a test instead of showing English. Two texts Click does not mark are set where Click
lets a command set them: the usage line's "[OPTIONS]" and a group's "COMMAND [ARGS]..." (`Command`,
`Group`); a third, the name of a number type ("integer range"), is set where Click lets a type set it
(`WholeNumber`).
"""

from __future__ import annotations

import gettext
import importlib

import click

# Click's modules that import gettext's functions (_winconsole only exists on Windows)
CLICK_MODULES = ("core", "decorators", "exceptions", "formatting", "parser", "shell_completion",
                 "termui", "types", "utils", "_termui_impl")

# Click's message -> Dutch; the placeholders stay as they are
MESSAGES = {
    # help and usage
    "Usage:": "Gebruik:",
    "Options": "Opties",
    "Positional arguments": "Argumenten",
    "Commands": "Commando's",
    "Show this message and exit.": "Toon deze hulp en stop.",
    "Show the version and exit.": "Toon het versienummer en stop.",
    "%(prog)s, version %(version)s": "%(prog)s, versie %(version)s",
    "default: {default}": "standaard: {default}",
    "env var: {var}": "omgevingsvariabele: {var}",
    "required": "verplicht",
    "(dynamic)": "(wisselend)",
    "deprecated": "verouderd",
    "Choice({choices})": "Keuze({choices})",
    "file": "bestand",
    "directory": "map",
    "path": "pad",
    # the lines around an error
    "Error: {message}": "Fout: {message}",
    "Try '{command} {option}' for help.": "Zie '{command} {option}' voor hulp.",
    "Aborted!": "Afgebroken.",
    # wrong use
    "No such option {name!r}.": "Onbekende optie {name!r}.",
    "No such command {name!r}.": "Onbekend commando {name!r}.",
    "Missing command.": "Geef een commando.",
    "Missing argument": "Ontbrekend argument",
    "Missing option": "Ontbrekende verplichte optie",
    "Missing parameter": "Ontbrekende parameter",
    "Missing {param_type}": "Ontbrekende {param_type}",
    "Missing parameter: {param_name}": "Ontbrekende parameter: {param_name}",
    "Invalid value: {message}": "Ongeldige waarde: {message}",
    "Invalid value for {param_hint}: {message}": "Ongeldige waarde voor {param_hint}: {message}",
    "Option {name!r} does not take a value.": "Optie {name!r} neemt geen waarde aan.",
    "Argument {name!r} takes {nargs} values.": "Argument {name!r} verwacht {nargs} waarden.",
    "Invalid start character for option ({option})": "Ongeldig eerste teken voor een optie ({option})",
    "Value must be an iterable.": "De waarde moet een reeks zijn.",
    "unknown error": "onbekende fout",
    "Could not open file {filename!r}: {message}": "Kan bestand {filename!r} niet openen: {message}",
    # values the types refuse
    "Choose from:\n\t{choices}": "Kies uit:\n\t{choices}",
    "{value} is not in the range {range}.": "{value} valt buiten het bereik {range}.",
    "{value!r} is not a valid {number_type}.": "{value!r} is geen {number_type}.",
    "{value!r} is not a valid boolean. Recognized values: {states}":
        "{value!r} is geen ja/nee-waarde. Mogelijke waarden: {states}",
    "{value!r} is not a valid UUID.": "{value!r} is geen geldige UUID.",
    "{name} {filename!r} does not exist.": "{name} {filename!r} bestaat niet.",
    "{name} {filename!r} is a file.": "{name} {filename!r} is een bestand.",
    "{name} {filename!r} is a directory.": "{name} {filename!r} is een map.",
    "{name} {filename!r} is not readable.": "{name} {filename!r} is niet leesbaar.",
    "{name} {filename!r} is not writable.": "{name} {filename!r} is niet schrijfbaar.",
    "{name} {filename!r} is not executable.": "{name} {filename!r} is niet uitvoerbaar.",
    # prompts
    "Repeat for confirmation": "Herhaal ter bevestiging",
    "Error: The two entered values do not match.": "Fout: de twee ingevoerde waarden verschillen.",
    "Error: invalid input": "Fout: ongeldige invoer",
    "Do you want to continue?": "Wilt u doorgaan?",
    "Confirm the action without prompting.": "Bevestig zonder te vragen.",
    "Press any key to continue...": "Druk op een toets om door te gaan...",
    # the rest Click can say: deprecations, its editor and terminal, shell completion, mistakes in a command's definition
    "DeprecationWarning: The command {name!r} is deprecated.{extra_message}":
        "Let op: het commando {name!r} is verouderd.{extra_message}",
    "DeprecationWarning: The {param_type} {name!r} is deprecated.{extra_message}":
        "Let op: {param_type} {name!r} is verouderd.{extra_message}",
    "d": "d",
    "{editor}: Editing failed": "{editor}: bewerken mislukt",
    "{editor}: Editing failed: {e}": "{editor}: bewerken mislukt: {e}",
    "Windows error: {error}": "Windows-fout: {error}",
    "Unknown color {colour!r}": "Onbekende kleur {colour!r}",
    "Unknown standard stream '{name}'": "Onbekende standaardstroom '{name}'",
    "Shell completion is not supported for Bash versions older than 4.4.":
        "Aanvullen in de shell werkt niet in Bash ouder dan 4.4.",
    "Couldn't detect Bash version, shell completion is not supported.":
        "Kan de versie van Bash niet bepalen; aanvullen in de shell werkt niet.",
    "Could not determine name for option with declarations {decls!r}":
        "Kan geen naam bepalen voor de optie met de declaraties {decls!r}",
    "No options defined but a name was passed ({name}). Did you mean to declare an argument instead? "
    "Did you mean to pass '--{name}'?":
        "Geen opties gedefinieerd, wel een naam ({name}). Bedoelde u een argument? Of '--{name}'?",
    "Arguments take exactly one parameter declaration, got {length}: {decls}.":
        "Een argument heeft precies één declaratie, niet {length}: {decls}.",
    "Name '{name}' defined twice": "Naam '{name}' twee keer gedefinieerd",
    "Boolean option {decl!r} cannot use the same flag for true/false.":
        "Ja/nee-optie {decl!r} kan niet dezelfde vlag voor ja en nee gebruiken.",
}

# (singular, plural) -> the Dutch pair; Dutch has the same two forms as English (one, other)
PLURALS = {
    ("Did you mean {possibility}?", "(Did you mean one of: {possibilities}?)"):
        ("Bedoelt u {possibility}?", "(Bedoelt u een van: {possibilities}?)"),
    ("Got unexpected extra argument ({args})", "Got unexpected extra arguments ({args})"):
        ("Onverwacht extra argument ({args})", "Onverwachte extra argumenten ({args})"),
    ("Takes {nargs} values but 1 was given.", "Takes {nargs} values but {len} were given."):
        ("Verwacht {nargs} waarden, kreeg er 1.", "Verwacht {nargs} waarden, kreeg er {len}."),
    ("Option {name!r} requires an argument.", "Option {name!r} requires {nargs} arguments."):
        ("Optie {name!r} heeft een waarde nodig.", "Optie {name!r} heeft {nargs} waarden nodig."),
    ("{value!r} is not {choice}.", "{value!r} is not one of {choices}."):
        ("{value!r} is niet {choice}.", "{value!r} is niet een van {choices}."),
    ("{value!r} does not match the format {format}.", "{value!r} does not match the formats {formats}."):
        ("{value!r} past niet bij de vorm {format}.", "{value!r} past niet bij de vormen {formats}."),
    ("{len_type} values are required, but {len_value} was given.",
     "{len_type} values are required, but {len_value} were given."):
        ("{len_type} waarden nodig, maar {len_value} gekregen.", "{len_type} waarden nodig, maar {len_value} gekregen."),
}


class DutchClick(gettext.NullTranslations):
    """The catalogue as a gettext translation; a message it lacks stays as Click wrote it."""

    def gettext(self, message: str) -> str:
        return MESSAGES.get(message, message)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        one, other = PLURALS.get((singular, plural), (singular, plural))
        return one if n == 1 else other


def install() -> None:
    """Give Click's modules the Dutch catalogue instead of gettext's default domain (see the module's
    docstring for why not through the environment). Only a name still bound to gettext's own
    function is replaced, so a second call changes nothing."""
    dutch = DutchClick()
    for name in CLICK_MODULES:
        module = importlib.import_module(f"click.{name}")
        if getattr(module, "_", None) is gettext.gettext:
            module._ = dutch.gettext
        if getattr(module, "ngettext", None) is gettext.ngettext:
            module.ngettext = dutch.ngettext


class Command(click.Command):
    """A command whose usage line says "[OPTIES]" (Click's "[OPTIONS]" is not marked for gettext)."""

    def __init__(self, *args, options_metavar: str | None = "[OPTIES]", **kwargs) -> None:
        super().__init__(*args, options_metavar=options_metavar, **kwargs)


class Group(Command, click.Group):
    """A group in Dutch like `Command`, and its subcommands (`@group.command`, `@group.group`) too."""

    command_class = Command
    group_class = type   # a subgroup is of the same class as its group

    def __init__(self, *args, subcommand_metavar: str | None = "COMMANDO [ARGUMENTEN]...", **kwargs) -> None:
        super().__init__(*args, subcommand_metavar=subcommand_metavar, **kwargs)


class WholeNumber(click.IntRange):
    """click.IntRange with a Dutch name, which Click puts in the error for a value that is no number
    ("'abc' is geen geheel getal."), and GETAL in the help instead of "INTEGER RANGE"."""

    name = "geheel getal"

    def get_metavar(self, param: click.Parameter, ctx: click.Context) -> str:
        return "GETAL"
