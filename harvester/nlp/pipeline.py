"""The pipeline as data: a spaCy config naming the registered components, and loading a saved one."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import spacy
from spacy.language import Language
from thinc.api import Config

from ..dutch import os_error
from ..errors import HarvesterError, UsageError
from . import components, features  # noqa: F401 (registers the factories and the architecture)
from .themes import ThemeSet

SHIPPED_MODEL = Path(__file__).resolve().parent / "model"
TEXTCAT = "textcat_multilabel"
TERM_EVIDENCE = "term_evidence"   # after TEXTCAT; old models have none

PIPELINE_CONFIG = """
[nlp]
lang = "nl"
pipeline = ["social_text", "simplemma_lemmatizer", "compound_splitter", "theme_terms", "language_detector", "textcat_multilabel", "term_evidence"]
batch_size = 256

[nlp.tokenizer]
@tokenizers = "harvester.social_tokenizer.v1"

[components]

[components.social_text]
factory = "social_text"

[components.simplemma_lemmatizer]
factory = "simplemma_lemmatizer"
lang = "nl"

[components.compound_splitter]
factory = "compound_splitter"
lang = "nl"
min_length = 8
min_part = 4
linkers = ["s", "e", "en", "-"]
known = []

[components.theme_terms]
factory = "theme_terms"
lang = "nl"
terms = {}

[components.language_detector]
factory = "language_detector"
languages = ["nl", "en", "de", "fr"]
min_words = 4
target = "nl"
markers = []

[components.textcat_multilabel]
factory = "textcat_multilabel"
threshold = 0.5

[components.textcat_multilabel.model]
@architectures = "harvester.TermBOW.v1"
exclusive_classes = false
length = 262144
normalize = true
idf = true
forms = true
chars = [3, 5]
char_scale = 0.3
drop_unseen = false

[components.term_evidence]
factory = "term_evidence"
"""

# spaCy's own bag-of-words over token texts, kept for the comparison in docs/nlp-log.md
ORTH_BOW_MODEL = {"@architectures": "spacy.TextCatBOW.v3", "exclusive_classes": False, "ngram_size": 1,
                  "no_output_layer": False, "length": 65536}


# Function words of a consultation language that the other detected languages do not use
# (not "als", "over", "worden", "die": German or English have them too).
MARKERS = {
    "nl": ["het", "een", "niet", "voor", "zijn", "ook", "wordt", "naar", "maar", "bij", "nog", "geen", "wij",
           "onze", "deze", "kunnen", "moet", "hebben", "heeft", "gaat", "wat", "meer", "dan", "zo", "jullie"],
}


class ModelError(UsageError):
    """A model directory that cannot be used with the configured themes."""

    kind = "modelfout"


class ModelNotSaved(HarvesterError):
    """A trained model that could not be written (a full disk, no permission); nothing half-written
    is left of it."""

    kind = "modelfout"


# what to do about a model that cannot be used: `harvester train` alone puts nothing in use
USABLE_MODEL = ("train een nieuw model met `harvester retrain` (dat neemt het in gebruik), "
                "of kies een ander met `harvester models use`")


def pipeline_config(themes: ThemeSet, *, textcat_model: dict | None = None) -> Config:
    """The untrained pipeline for a theme set: its terms go into the matcher's config."""
    config = Config().from_str(PIPELINE_CONFIG)
    config["components"]["theme_terms"]["terms"] = themes.terms
    config["components"]["theme_terms"]["lang"] = themes.language
    config["components"]["simplemma_lemmatizer"]["lang"] = themes.language
    config["components"]["compound_splitter"]["lang"] = themes.language
    config["components"]["compound_splitter"]["known"] = sorted(
        {t for terms in themes.terms.values() for t in terms if t.isalpha()}
    )
    detector = config["components"]["language_detector"]
    if themes.language not in detector["languages"]:
        detector["languages"].append(themes.language)
    detector["target"] = themes.language
    detector["markers"] = MARKERS.get(themes.language, [])
    if textcat_model is not None:
        config["components"][TEXTCAT]["model"] = textcat_model
    return config


def build_pipeline(themes: ThemeSet, *, textcat_model: dict | None = None) -> Language:
    nlp = spacy.util.load_model_from_config(pipeline_config(themes, textcat_model=textcat_model), auto_fill=True)
    textcat = nlp.get_pipe(TEXTCAT)
    for theme_id in themes.ids:
        textcat.add_label(theme_id)
    return nlp


def term_weight(nlp: Language) -> float | None:
    """The weight of the pipeline's term evidence; None for a model from before it."""
    return nlp.get_pipe_config(TERM_EVIDENCE)["weight"] if TERM_EVIDENCE in nlp.pipe_names else None


def set_term_weight(nlp: Language, weight: float) -> None:
    """Give the pipeline's term evidence another weight (saved with the model); none: nothing to do."""
    if TERM_EVIDENCE in nlp.pipe_names:
        nlp.replace_pipe(TERM_EVIDENCE, "term_evidence", config={"weight": weight})


def model_folder(model_dir: str | Path | None = None) -> Path:
    """The folder of a trained model (None or '': the one shipped), refused when it holds none."""
    path = Path(model_dir) if model_dir else SHIPPED_MODEL
    if not (path / "config.cfg").is_file():
        raise ModelError(f"{path}: geen getraind model (config.cfg ontbreekt); {USABLE_MODEL}")
    return path


def load_pipeline(model_dir: str | Path | None = None) -> Language:
    """A trained pipeline from disk; None or '' means the model shipped in the package."""
    path = model_folder(model_dir)
    try:
        # the tokenizer is fully defined by the config: rebuilding it once is quicker than reading it back
        return spacy.load(path, exclude=["tokenizer"])
    except (OSError, ValueError) as e:
        raise ModelError(f"{path}: model kan niet geladen worden: {e}") from None


UNFINISHED = ".unfinished-"   # in the name of the hidden folder a model is written into


def unfinished_folders(target: str | Path) -> list[Path]:
    """The hidden folders `save_pipeline` was writing `target` into when its process was killed
    (it removes them itself when it fails)."""
    target = Path(target)
    return [p for p in target.parent.glob(f".*{UNFINISHED}*") if p.name.startswith(f".{target.name}{UNFINISHED}")]


def save_pipeline(nlp: Language, target: str | Path) -> None:
    """Write the model into a hidden folder beside `target`, then rename that to `target`: a
    training that cannot finish writing (a full disk) leaves nothing of it, and no half-written
    folder that looks like a model. `target` may be an empty folder (the version `unused_version`
    set aside) or hold an earlier model (`harvester train --output` again), which is replaced whole."""
    target = Path(target)
    holding: Path | None = None
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        holding = Path(tempfile.mkdtemp(prefix=f".{target.name}{UNFINISHED}", dir=target.parent))
        nlp.to_disk(holding / "model")
        if target.is_dir() and any(target.iterdir()):
            target.rename(holding / "earlier")
        (holding / "model").rename(target)   # over an empty folder, as rename allows
    except OSError as e:
        if holding is not None and (holding / "earlier").is_dir() and not target.exists():
            (holding / "earlier").rename(target)   # the earlier model stays
        raise ModelNotSaved(f"{target}: model niet bewaard: {os_error(e)}") from None
    finally:
        if holding is not None:
            shutil.rmtree(holding, ignore_errors=True)
