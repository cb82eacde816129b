"""A small theme set and labelled posts for the NLP tests (written by the project for these tests).

Three themes are enough to show learning, thresholds and reasons while training in a second.
Thresholds are 0.45: with IDF weighting a clear post's scores sit a little lower than 0.5 (the real
themes use 0.35), while a post of unknown words stays at the base rate, about 0.4 in this small set.
"""

from __future__ import annotations

import json
import textwrap
import tomllib
from pathlib import Path

from harvester.nlp import train
from harvester.nlp.themes import parse_themes

THEMES_TOML = textwrap.dedent(
    '''
    version = "test-1"
    language = "nl"

    [[themes]]
    id = "samenwerking"
    label = "Samenwerking"
    description = "Samen optrekken met andere overheden, partners en bewoners."
    terms = ["samenwerk*", "samen", "cocreatie", "partners", "van onderop", "#samenwerken"]
    examples = ["Vanaf het begin samenwerken met betrokkenen binnen en buiten de organisatie voor groter draagvlak."]
    threshold = 0.45

    [[themes]]
    id = "open_overheid"
    label = "Open overheid"
    description = "Transparantie, open data en openbaarheid van informatie."
    terms = ["transparan*", "open data", "openbaar*", "woo", "#openoverheid"]
    examples = ["Onze organisatie is transparant. Informatie over activiteiten, financiën en besluiten is volledig vrij beschikbaar voor het publiek"]
    threshold = 0.45

    [[themes]]
    id = "cultuur"
    label = "Cultuur"
    description = "Leren, durven, experimenteren en kennis delen."
    terms = ["cultuur", "durven", "lef", "experiment*", "leren", "kennisdeling", "kennis delen"]
    examples = ["Durven. We krijgen en grijpen kansen om te durven en te doen."]
    threshold = 0.45
    '''
)

TRAINING = [
    ("Drie gemeenten werken voortaan samen aan één loket voor schuldhulp.", ["samenwerking"]),
    ("Het samenwerkingsverband met de woningcorporaties levert echt iets op.", ["samenwerking"]),
    ("Bewoners schreven het plan voor het park mee, samen met de wijkagent.", ["samenwerking"]),
    ("Cocreatie met ondernemers en inwoners: zo maken we de binnenstad samen.", ["samenwerking"]),
    ("We zoeken partners in de regio om de aanpak samen uit te bouwen.", ["samenwerking"]),
    ("Ketenpartners en gemeente trekken samen op tegen eenzaamheid.", ["samenwerking"]),
    ("Initiatieven van onderop krijgen steun: bewoners en ambtenaren werken samen.", ["samenwerking"]),
    ("Alle raadsstukken staan nu als open data online, voor iedereen doorzoekbaar.", ["open_overheid"]),
    ("Transparantie over subsidies: de gemeente publiceert elke toekenning.", ["open_overheid"]),
    ("Woo-verzoeken worden sneller afgehandeld sinds we actief openbaar maken.", ["open_overheid"]),
    ("De begroting is openbaar en begrijpelijk uitgelegd op de website.", ["open_overheid"]),
    ("Maak besluiten openbaar, dan kan iedereen meekijken. #OpenOverheid", ["open_overheid"]),
    ("Open data over de luchtkwaliteit helpt bewoners en onderzoekers.", ["open_overheid"]),
    ("Informatie over vergunningen moet vrij beschikbaar zijn voor het publiek.", ["open_overheid"]),
    ("Durf te experimenteren, ook als het misgaat: daar leer je het meest van.", ["cultuur"]),
    ("Bij ons team vieren we mislukte experimenten net zo goed als geslaagde.", ["cultuur"]),
    ("Elke vrijdag delen we wat we die week geleerd hebben: kennisdeling werkt.", ["cultuur"]),
    ("Een cultuur waarin fouten mogen is de basis van vernieuwing.", ["cultuur"]),
    ("Meer lef in het stadhuis: probeer iets nieuws en leer ervan.", ["cultuur"]),
    ("Nieuwsgierig blijven en kennis delen met collega's maakt het werk leuker.", ["cultuur"]),
    ("Samen met bewoners hebben we alle wijkbudgetten als open data gepubliceerd.", ["samenwerking", "open_overheid"]),
    ("Vanavond eerst voetbal kijken en dan pizza eten.", []),
    ("Het regent al de hele dag in Utrecht.", []),
    ("Mijn fiets is gestolen bij het station, balen.", []),
    ("Nieuwe koffiemachine op kantoor, eindelijk goede koffie.", []),
    ("De trein had weer twintig minuten vertraging vanochtend.", []),
    ("Ik heb een nieuwe jas gekocht, met een capuchon tegen de regen.", []),
]


def write_project_files(root: Path) -> tuple[Path, Path]:
    """themes.toml and training.jsonl under root; returns their paths."""
    themes = root / "themes.toml"
    themes.write_text(THEMES_TOML, encoding="utf-8")
    training = root / "training.jsonl"
    write_jsonl(training, TRAINING)
    return themes, training


def write_jsonl(path: Path, items) -> Path:
    path.write_text("".join(json.dumps({"text": t, "themes": th}, ensure_ascii=False) + "\n" for t, th in items),
                    encoding="utf-8")
    return path


THEMES = parse_themes(tomllib.loads(THEMES_TOML))


def save_model(directory: Path, epochs: int) -> Path:
    """A classifier of these themes trained on TRAINING and the themes' examples, saved in directory."""
    path = directory / "test-model"
    train(TRAINING + THEMES.examples(), THEMES, epochs=epochs, version="test").to_disk(path)
    return path
