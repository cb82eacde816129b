"""The README's command reference, written from the commands' own `--help`.

The help texts are the one place a command is described; the README shows them, one line per
command in "Commands" and in full in "Command reference", between marker comments. After changing
a command or its help, regenerate the README with

    make readme          # or: python -m harvester.cli.reference [README.md]

and tests/test_readme.py fails while the README is out of date.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import click

from . import COMMANDS, main

WIDTH = 80                  # the help as a terminal this wide shows it, whatever the machine's width
SUMMARY = ("<!-- commands: generated from --help by `make readme`; do not edit -->", "<!-- end of commands -->")
FULL = ("<!-- command reference: generated from --help by `make readme`; do not edit -->",
        "<!-- end of command reference -->")


def commands() -> list[tuple[str, click.Command, click.Context]]:
    """Every command as typed (`harvester users add`), with its context, in COMMANDS' order."""
    root = main.make_context("harvester", [], resilient_parsing=True, terminal_width=WIDTH, max_content_width=WIDTH)
    found = [("harvester", main, root)]
    for name in COMMANDS:
        found += _walk(f"harvester {name}", main.get_command(root, name), name, root)
    return found


def _walk(path: str, command: click.Command, name: str, parent: click.Context) -> list:
    ctx = command.make_context(name, [], parent=parent, resilient_parsing=True)
    found = [(path, command, ctx)]
    if isinstance(command, click.Group):
        for sub in command.list_commands(ctx):
            found += _walk(f"{path} {sub}", command.get_command(ctx, sub), sub, ctx)
    return found


def summary() -> str:
    """One line per command: its first sentence, linked to its full help."""
    rows = ["| command | what it does |", "| --- | --- |"]
    for path, command, _ in commands()[1:]:
        line = command.get_short_help_str(limit=1000).replace("|", "\\|")
        rows.append(f"| [`{path}`](#{_anchor(path)}) | {line} |")
    return "\n".join(rows)


def full() -> str:
    """Each command's `--help`, as the terminal shows it."""
    parts = []
    for path, command, ctx in commands():
        parts.append(f"### {path}\n\n```text\n{command.get_help(ctx).rstrip()}\n```")
    return "\n\n".join(parts)


def _anchor(path: str) -> str:
    """The anchor GitHub gives the heading `### harvester users add`."""
    return path.replace(" ", "-")


def render(readme: str) -> str:
    """The README with both generated parts brought up to date."""
    for (start, end), body in ((SUMMARY, summary()), (FULL, full())):
        pattern = re.compile(re.escape(start) + r".*?" + re.escape(end), re.DOTALL)
        if not pattern.search(readme):
            raise click.ClickException(f"de markering {start!r} ontbreekt in de README")
        readme = pattern.sub(lambda _: f"{start}\n{body}\n{end}", readme)
    return readme


def write(path: Path) -> bool:
    """Regenerate the reference in `path`; True if the file changed."""
    before = path.read_text(encoding="utf-8")
    after = render(before)
    if after != before:
        path.write_text(after, encoding="utf-8")
    return after != before


if __name__ == "__main__":
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "README.md")
    print(f"{target}: {'bijgewerkt' if write(target) else 'was al actueel'}")
