"""Accepted ideas in three themes, two of them one group, as the charter tests read them."""

from __future__ import annotations

from .webdata import add_post, add_user

# written for these tests; the hostile one carries markup that must stay text in every format
IDEAS = {
    "lab": "Richt in elke gemeente een proeftuin in waar ambtenaren met bewoners nieuwe diensten uitproberen.",
    "lab2": "Een proeftuin per gemeente: ambtenaren en inwoners proberen samen nieuwe dienstverlening uit.",
    "open": "Publiceer alle raadsstukken als open data, zodat iedereen de besluiten kan volgen.",
    "hostile": "Kop <b>vet</b> en *nadruk* met [een link](http://evil.example) en =SOM(A1)\n# geen kop",
    "nieuw": "Dit idee is nog niet beoordeeld en hoort niet in de charter.",
}
THEMES = {"lab": {"samenwerking": 0.9, "cultuur": 0.7}, "lab2": {"samenwerking": 0.8},
          "open": {"open_overheid": 0.95}, "hostile": {"cultuur": 0.8}, "nieuw": {"structuur": 0.9}}


def fill_charter(store) -> dict[str, int]:
    editor = add_user(store, "eva", "redacteur")
    ids = {}
    for n, (name, text) in enumerate(IDEAS.items(), 1):
        ids[name] = add_post(store, n, text, author=f"{name}@mastodon.nl", scores=THEMES[name],
                             published_at=f"2026-11-0{n}T10:00:00+00:00")
    for name in ("lab", "lab2", "open", "hostile"):
        store.reviews.decide(ids[name], editor, 0, "accept")
    store.groups.group([ids["lab"], ids["lab2"]], editor)
    return ids
