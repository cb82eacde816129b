"""Theme definitions (config/themes.toml): ids, labels, terms, examples and thresholds.

Pure: reads the file it is given and nothing else. The file's comments document the format.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from ..errors import UsageError
from ..tomlfile import TomlError, read_toml

ID_RE = re.compile(r"^[a-z0-9_]+$")


class ThemesError(UsageError):
    """The themes file cannot be used; the message names the file, the key and the problem."""

    kind = "themafout"


@dataclass(frozen=True)
class Theme:
    id: str
    label: str
    description: str
    terms: tuple[str, ...]
    examples: tuple[str, ...]
    # None: the model's own threshold (chosen when it was trained); a number here overrides it
    threshold: float | None = None


@dataclass(frozen=True)
class ThemeSet:
    version: str
    language: str
    themes: tuple[Theme, ...]

    @property
    def ids(self) -> list[str]:
        return [t.id for t in self.themes]

    @property
    def terms(self) -> dict[str, list[str]]:
        return {t.id: list(t.terms) for t in self.themes}

    def examples(self) -> list[tuple[str, list[str]]]:
        """The themes' own statements, and each term on its own, as labelled training examples.

        A term as a one-word example teaches the classifier its lemma even when no labelled post
        used it (on held-out training data: macro-F1 +0.09, see docs/nlp-log.md).
        """
        statements = [(text, [t.id]) for t in self.themes for text in t.examples]
        terms = [(term.strip("#*"), [t.id]) for t in self.themes for term in t.terms]
        return statements + terms


def load_themes(path: str | Path) -> ThemeSet:
    path = Path(path)
    try:
        raw, _ = read_toml(path)
    except FileNotFoundError:
        raise ThemesError(f"{path}: bestand niet gevonden") from None
    except TomlError as e:
        raise ThemesError(f"{path}: {e}") from None
    return parse_themes(raw, str(path))


def parse_themes(raw: dict, where: str = "themes") -> ThemeSet:
    def need(table: dict, key: str, kind: type, at: str):
        if key not in table:
            raise ThemesError(f"{where}: {at}{key}: ontbreekt (verplicht)")
        value = table[key]
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, kind) or (kind is list and not all(isinstance(v, str) for v in value)):
            raise ThemesError(f"{where}: {at}{key}: verkeerd type ({type(value).__name__})")
        return value

    version = need(raw, "version", str, "")
    language = need(raw, "language", str, "")
    items = raw.get("themes")
    if not isinstance(items, list) or not items:
        raise ThemesError(f"{where}: themes: minstens één [[themes]]-tabel nodig")
    themes, seen = [], set()
    # editors tell themes apart by their labels on every page, filter and export, so two themes
    # may not share one, not even in other capitals or with spaces around it
    labelled: dict[str, str] = {}
    for i, item in enumerate(items):
        at = f"themes[{i}]."
        theme_id = need(item, "id", str, at)
        if not ID_RE.match(theme_id):
            raise ThemesError(f"{where}: {at}id: alleen kleine letters, cijfers en '_' ({theme_id!r})")
        if theme_id in seen:
            raise ThemesError(f"{where}: {at}id: {theme_id!r} komt twee keer voor")
        seen.add(theme_id)
        label = need(item, "label", str, at)
        other = labelled.setdefault(label.strip().casefold(), theme_id)
        if other != theme_id:
            raise ThemesError(f"{where}: {at}label: de thema's {other!r} en {theme_id!r} hebben hetzelfde label "
                              f"({label.strip()!r}); geef elk thema een eigen label")
        threshold = need(item, "threshold", float, at) if "threshold" in item else None
        if threshold is not None and not 0 < threshold < 1:
            raise ThemesError(f"{where}: {at}threshold: moet tussen 0 en 1 liggen")
        terms = tuple(t.strip().lower() for t in need(item, "terms", list, at) if t.strip())
        themes.append(Theme(
            id=theme_id,
            label=label,
            description=need(item, "description", str, at),
            terms=terms,
            examples=tuple(need(item, "examples", list, at)),
            threshold=threshold,
        ))
    return ThemeSet(version=version, language=language, themes=tuple(themes))
