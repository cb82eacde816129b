"""The words the related-idea search compares: lemmas and the parts of compounds.

Two posts that say much the same seldom use the same word forms: one writes "gemeenten
experimenteren", the other "experiment van de gemeente"; one "burgerinitiatief", the other
"initiatief van burgers". Each post becomes a list of terms: the lemma of every word that is not a
stop word or a number, and the lemmas of the parts of its compounds. The shipped pipeline's own
components do the work (pipeline.py), without the classifier, so that indexing needs no model.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import spacy
from spacy.language import Language
from spacy.tokens import Doc
from thinc.api import Config

from .components import COMPOUNDS, WORDS, lemma_cache
from .pipeline import PIPELINE_CONFIG

COMPONENTS = ["social_text", "simplemma_lemmatizer", "compound_splitter"]
MIN_TERM = 3   # shorter lemmas (ik, nu, om) say nothing about which idea a post is


def terms_pipeline(lang: str = "nl") -> Language:
    """The shipped pipeline's tokenizer and word components, nothing else."""
    config = Config().from_str(PIPELINE_CONFIG)
    config["nlp"]["lang"] = lang
    config["nlp"]["pipeline"] = COMPONENTS
    config["components"] = {name: config["components"][name] for name in COMPONENTS}
    for name in COMPONENTS[1:]:
        config["components"][name]["lang"] = lang
    return spacy.util.load_model_from_config(config, auto_fill=True)


class TermExtractor:
    """Texts in, lists of terms out (see the module's docstring)."""

    def __init__(self, lang: str = "nl"):
        self.nlp = terms_pipeline(lang)
        self.lemmas = lemma_cache(lang)
        self.stop_words = self.nlp.Defaults.stop_words   # ambtenaar -> ambt + naar: 'naar' says nothing

    def terms(self, texts: Iterable[str], batch_size: int = 256) -> Iterator[list[str]]:
        for doc in self.nlp.pipe(texts, batch_size=batch_size):
            yield self.doc_terms(doc)

    def doc_terms(self, doc: Doc) -> list[str]:
        words = doc.user_data[WORDS]
        found = [lemma for lemma, minor in zip(words.lemmas, words.minor)
                 if not minor and len(lemma) >= MIN_TERM and lemma.isalpha()]
        lemmas = self.lemmas
        for parts in (doc.user_data.get(COMPOUNDS) or {}).values():
            found.extend(lemma for part in parts
                         if len(lemma := lemmas[part]) >= MIN_TERM and lemma not in self.stop_words)
        return found
