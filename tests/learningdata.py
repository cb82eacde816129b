"""Editors' decisions for the learning tests: posts the way the harvest stores them, decided through
the review store (written by the project for these tests)."""

from __future__ import annotations

from pathlib import Path

from harvester.store import Store

from .nlpdata import THEMES_TOML, TRAINING, write_jsonl
from .webdata import add_post, add_user

# the test themes without thresholds of their own: the model's (its meta) decide
THEMES_WITHOUT_THRESHOLDS = THEMES_TOML.replace("threshold = 0.45\n", "")

PLACES = ["Utrecht", "Zwolle", "Delft", "Assen", "Venlo", "Breda", "Leiden", "Hoorn", "Emmen", "Gouda",
          "Tiel", "Weert", "Sneek", "Almelo", "Oss", "Ede", "Meppel", "Goes", "Heerlen", "Kampen",
          "Zeist", "Baarn", "Bussum", "Epe", "Urk", "Tholen", "Vaals", "Ommen", "Hattem", "Elburg"]

SAMEN = [f"In {p} werken gemeente, bewoners en partners samen aan een plan voor de wijk." for p in PLACES]
OPEN = [f"In {p} zijn alle raadsbesluiten openbaar als open data, transparant voor iedereen." for p in PLACES]
NONE = [f"In {p} regende het vandaag en de trein naar huis had vertraging." for p in PLACES]


def project_files(root: Path, *, thresholds: bool = True) -> tuple[Path, Path]:
    themes = root / "themes.toml"
    themes.write_text(THEMES_TOML if thresholds else THEMES_WITHOUT_THRESHOLDS, encoding="utf-8")
    return themes, write_jsonl(root / "training.jsonl", TRAINING)


def decide(store: Store, items: list[tuple[str, list[str]]], *, first: int = 1, skip_held_back: bool = False,
           editor: str = "eva") -> list[int]:
    """Store posts number first, first+1, ... and decide them: themes = accepted with those, [] = rejected.

    With skip_held_back, posts whose id would be held back (id % 5 == 0) are stored but not decided.
    Returns the decided posts' ids.
    """
    user = store.users.get(editor) or add_user(store, editor, "redacteur")
    decided = []
    n = first
    for text, themes in items:
        post_id = add_post(store, n, text, scores={"cultuur": 0.1})
        n += 1
        while skip_held_back and post_id % 5 == 0:   # left undecided; the decision goes to the next post
            post_id = add_post(store, n, text, scores={"cultuur": 0.1})
            n += 1
        if themes:
            store.reviews.decide(post_id, user, 0, "set_themes", themes=themes)
        else:
            store.reviews.decide(post_id, user, 0, "reject", reason="off_topic")
        decided.append(post_id)
    return decided
