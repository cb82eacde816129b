"""Bag-of-words features for `textcat_multilabel`: lemmas, compound parts, hashtag words and term hits.

spaCy's own TextCatBOW counts token ORTHs. Posts say the same thing in many forms
(#OpenOverheid, open overheid, overheidsinformatie), so this architecture feeds the same
sparse linear layer with what the earlier components found instead: each lemma (stop words,
numbers and punctuation left out), each part of a compound, each hashtag as `#tag`, and a
feature `term:<theme>` per theme whose terms occur (`term:2:<theme>`, `term:3:<theme>` for two
or three different matches). The last let a theme's term list carry weight for terms the
training texts never used; docs/nlp.md has the comparison that chose them.

With `normalize` (the default for new models) each feature of a doc weighs 1/sqrt(number of its
features), so a long post does not outvote a short one by its length alone: on held-out training
data that carried over to new texts better than plain counts (docs/nlp.md).
"""

from __future__ import annotations

import math
from functools import partial

import numpy
from spacy.ml.models.textcat import resize_and_set_ref
from spacy.strings import hash_string
from spacy.tokens import Doc
from spacy.util import registry
from thinc.api import Logistic, Model, SparseLinear_v2, chain, resizable
from thinc.types import Floats2d
from thinc.layers.resizable import resize_linear_weighted

from .components import COMPOUNDS, TERM_HITS, WORDS, Cache, extension


TERM_PREFIX = "term:"
# extra features when a post hits two or three different terms of a theme: more evidence, more weight
TERM_LEVELS = (2, 3)
FEATURES = extension("features")


def doc_features(doc: Doc) -> list[str]:
    """The distinct feature strings of a doc, in text order (cached on the doc)."""
    data = doc.user_data
    cached = data.get(FEATURES)
    if cached is not None:
        return cached
    words = data.get(WORDS)
    if words is None:   # not through the pipeline (spaCy's initialize samples reference docs)
        return []
    seen: dict[str, None] = {}
    compounds = data.get(COMPOUNDS) or {}
    previous = -1
    for i, lemma, tag, minor in zip(words.index, words.lemmas, words.tags, words.minor):
        if tag:
            if i != previous:   # a hashtag's words come from one token
                seen["#" + doc[i].norm_.replace(" ", "")] = None
                previous = i
            seen[lemma] = None
        elif not minor:
            seen[lemma] = None
        if i in compounds:
            for part in compounds[i]:
                seen[part] = None
    for theme, hits in (data.get(TERM_HITS) or {}).items():
        seen[TERM_PREFIX + theme] = None
        for level in TERM_LEVELS:
            if len(hits) >= level:
                seen[f"{TERM_PREFIX}{level}:{theme}"] = None
    features = list(seen)
    data[FEATURES] = features
    return features


# feature string -> its key in the sparse linear layer
FEATURE_KEYS = Cache(hash_string, 500_000)


def feature_keys(features: list[str]) -> list[int]:
    return list(map(FEATURE_KEYS.__getitem__, features))


def feature_value(n: int, normalize: bool) -> float:
    """The value each of a doc's `n` features gets: 1, or 1/sqrt(n) when normalised."""
    return 1.0 / math.sqrt(n) if normalize and n else 1.0


def _extract(model: Model, docs: list[Doc], is_train: bool):
    ops = model.ops
    keys: list[int] = []
    lengths = []
    for doc in docs:
        doc_keys = feature_keys(doc_features(doc))
        keys.extend(doc_keys)
        lengths.append(len(doc_keys))
    batch_keys = ops.asarray1i(keys, dtype="uint64") if keys else ops.alloc1i(0, dtype="uint64")
    if model.attrs["normalize"]:
        counts = numpy.asarray(lengths, dtype="float32")
        values = ops.asarray1f(numpy.repeat(1.0 / numpy.sqrt(numpy.maximum(counts, 1.0)), lengths))
    else:
        values = ops.alloc1f(len(keys)) + 1.0
    return (batch_keys, values, ops.asarray1i(lengths, dtype="int32")), lambda dY: []


@registry.architectures("harvester.TermBOW.v1")
def build_term_bow(
    exclusive_classes: bool, length: int = 65536, nO: int | None = None, normalize: bool = False
) -> Model:
    """Sparse linear model over `doc_features` (multi-label: a logistic per theme).

    `normalize` defaults to False so that models saved before it existed load as they were trained.
    """
    length = 2 ** (length - 1).bit_length()
    sparse_linear = SparseLinear_v2(nO=nO, length=length)
    resizable_layer = resizable(
        sparse_linear, resize_layer=partial(resize_linear_weighted, fill_defaults={"b": -10, "W": 0})
    )
    if exclusive_classes:
        raise ValueError("harvester.TermBOW.v1 is for textcat_multilabel")
    model = chain(Model("term_features", _extract, attrs={"normalize": normalize}), resizable_layer, Logistic())
    if nO is not None:
        model.set_dim("nO", nO)
    model.set_ref("output_layer", sparse_linear)
    model.attrs["multi_label"] = True
    model.attrs["normalize"] = normalize
    model.attrs["resize_output"] = partial(resize_and_set_ref, resizable_layer=resizable_layer)
    return model


def feature_weights(model: Model, features: list[str]) -> Floats2d:
    """Per feature (rows), its weight towards each label (columns): what it adds to the label's logit
    at value 1 (times `feature_value` in a doc)."""
    sparse_linear = model.get_ref("output_layer")
    ops = sparse_linear.ops
    keys = feature_keys(features)
    n = len(keys)
    X = (ops.asarray1i(keys, dtype="uint64"), ops.alloc1f(n) + 1.0, ops.asarray1i([1] * n, dtype="int32"))
    bias = sparse_linear.get_param("b")
    return sparse_linear.predict(X) - bias

