"""Bag-of-words features for `textcat_multilabel`: lemmas, compound parts, hashtag words and term hits.

spaCy's own TextCatBOW counts token ORTHs. Posts say the same thing in many forms
(#OpenOverheid, open overheid, overheidsinformatie), so this architecture feeds the same
sparse linear layer with what the earlier components found instead: each lemma (stop words,
numbers and punctuation left out), each part of a compound, each hashtag as `#tag`, and a
feature `term:<theme>` per theme whose terms occur (`term:2:<theme>`, `term:3:<theme>` for two
or three different matches). The last let a theme's term list carry weight for terms the
training texts never used; docs/nlp-log.md has the comparison that chose them.

With `forms` each word's form also is a feature `w:<form>`, stop words and numbers included
("w:niet", "w:burgers", "w:we"): how a post is put (we, jullie, niet, moeten) says something about
its theme that the content lemmas leave out (docs/nlp-log.md, "Sixth round").

With `chars` = [lo, hi] each word also gives its character n-grams of lo..hi letters, taken
from the word padded with a space on each side (" burgers " gives " bu", "bur", ..., "rs "), as
`c:<n-gram>`, weighed by `char_scale` against the other features. Real writing uses other words
than the training texts for the same thing (gemeentelijke, participatietraject, Woo-verzoeken);
parts of words carry over where whole words do not (docs/nlp-log.md, "Seventh round"). They are never named as reasons.

With `drop_unseen` a feature no training text had weighs nothing (without it: as much as the
rarest one seen), so that unknown words do not dilute the known ones until a post scores at the
biases; what it costs is that a chatter post's few known features get a whole post's weight
(docs/nlp-log.md, "Held-out run 2").

With `normalize` (the default for new models) each feature of a doc weighs 1/sqrt(number of its
features), so a long post does not outvote a short one by its length alone: on held-out training
data that carried over to new texts better than plain counts (docs/nlp-log.md).
"""

from __future__ import annotations

import math
from collections import Counter
from functools import partial
from itertools import repeat

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
FORM_PREFIX = "w:"
CHAR_PREFIX = "c:"
# words whose n-grams are kept cut and weighed: ~4.4 kB each (50,000: ~220 MB at most per model)
CHAR_WORDS = 50_000
# extra features when a post hits two or three different terms of a theme: more evidence, more weight
TERM_LEVELS = (2, 3)
FEATURES = extension("features")
EXTRACTOR = "term_features"   # the feature layer's name and ref; its attrs hold the idf table


def doc_features(doc: Doc, forms: bool = False) -> list[str]:
    """The distinct word features of a doc, in text order (its character n-grams: `char_features`);
    `forms` is that of the model that scores it (`extractor_attrs(model)["forms"]`). Cached on the
    doc for that setting (the model scores the doc, then the reasons read the same features)."""
    data = doc.user_data
    cached = data.get(FEATURES)
    if cached is not None and cached[0] == forms:
        return cached[1]
    words = data.get(WORDS)
    if words is None:   # not through the pipeline (spaCy's initialize samples reference docs)
        return []
    seen: dict[str, None] = {}
    compounds = data.get(COMPOUNDS) or {}
    previous = -1
    for i, norm, lemma, tag, minor in zip(words.index, words.norms, words.lemmas, words.tags, words.minor):
        if tag and i != previous:   # a hashtag's words come from one token
            seen["#" + doc[i].norm_.replace(" ", "")] = None
            previous = i
        if forms:   # every word's form, stop words and numbers too
            seen[FORM_PREFIX + norm] = None
        if tag or not minor:
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
    data[FEATURES] = (forms, features)
    return features


def char_features(doc: Doc, chars: tuple[int, int]) -> dict[str, None]:
    """The distinct character n-gram features (`c:<n-gram>`) of a doc's words."""
    words = doc.user_data.get(WORDS)
    grams = CHAR_GRAMS[chars]
    seen: dict[str, None] = {}
    for norm in words.norms if words is not None else ():
        seen.update(grams[norm])
    return seen


def _char_grams(lo: int, hi: int) -> Cache:
    """word -> its `c:` n-gram features (a dict with None values, ready for `dict.update`); words
    recur, so each is cut once."""
    def cut(word: str) -> dict[str, None]:
        padded = f" {word} "
        return dict.fromkeys(CHAR_PREFIX + padded[i:i + n] for n in range(lo, hi + 1)
                             for i in range(len(padded) - n + 1))
    return Cache(cut, CHAR_WORDS)


# (lo, hi) -> its cache of words' n-grams
CHAR_GRAMS = Cache(lambda bounds: _char_grams(*bounds), 8)


def char_bounds(attrs: dict) -> tuple[int, int] | None:
    """A model's character n-gram lengths (lo, hi), or None without them."""
    chars = attrs.get("chars")
    return (chars[0], chars[1]) if chars else None


def _char_cells(attrs: dict) -> Cache:
    """word -> {key in the linear layer: value before normalisation} of its character n-grams, for
    one model (its idf table and `char_scale`); n-grams that weigh nothing are left out. A post's
    n-grams are then one `dict.update` per word: cutting, hashing and looking up each of its
    ~500 n-grams per post cost more than everything else the classifier does."""
    table = attrs.get("idf_table")
    held = CHAR_CELLS.get(id(table))
    if held is not None and held[0] is table:
        return held[1]
    grams = CHAR_GRAMS[char_bounds(attrs)]
    scale = attrs.get("char_scale", 1.0)
    unseen = attrs["idf_unseen"]

    def cells(word: str) -> dict[int, float]:
        values = ((FEATURE_KEYS[f], table.get(f, unseen) * scale) for f in grams[word])
        return {key: value for key, value in values if value}

    if len(CHAR_CELLS) >= 2:
        CHAR_CELLS.clear()
    cache = Cache(cells, CHAR_WORDS)
    CHAR_CELLS[id(table)] = (table, cache)   # the table held, so that its id is not reused
    return cache


# id of a model's idf table -> (the table, its `_char_cells`); a process holds one or two models
CHAR_CELLS: dict[int, tuple[dict, Cache]] = {}
NORM = extension("norm")   # the length a doc's values were divided by when the model scored it


def extractor_attrs(model: Model) -> dict:
    """The feature options (and idf table) of a TermBOW model; a model without them: its own attrs."""
    return model.get_ref(EXTRACTOR).attrs if model.has_ref(EXTRACTOR) else model.attrs


def display_feature(feature: str) -> str:
    """How a feature is named as a reason: a word form without its prefix."""
    return feature[len(FORM_PREFIX):] if feature.startswith(FORM_PREFIX) else feature


# feature string -> its key in the sparse linear layer
FEATURE_KEYS = Cache(hash_string, 500_000)


def feature_keys(features: list[str]) -> list[int]:
    return list(map(FEATURE_KEYS.__getitem__, features))


def feature_value(n: int, normalize: bool) -> float:
    """The value each of a doc's `n` features gets without idf: 1, or 1/sqrt(n) when normalised."""
    return 1.0 / math.sqrt(n) if normalize and n else 1.0


def set_idf(model: Model, docs: list[Doc]) -> None:
    """Count in how many of `docs` (the training texts) each feature occurs and store the smoothed
    idf per feature in the model; nothing happens for a model built without `idf`."""
    if not model.has_ref(EXTRACTOR) or not model.get_ref(EXTRACTOR).attrs.get("idf"):
        return
    attrs = model.get_ref(EXTRACTOR).attrs
    bounds = char_bounds(attrs)
    df = Counter(f for doc in docs for f in doc_features(doc, attrs.get("forms", False)))
    if bounds:
        df.update(f for doc in docs for f in char_features(doc, bounds))
    n = len(docs)
    attrs["idf_table"] = {f: math.log((1 + n) / (1 + count)) + 1 for f, count in df.items()}
    # a feature no training text had counts as rare as the rarest seen, unless `drop_unseen`: then
    # it counts 0, and a post full of words the model never read keeps the weight of those it knows
    attrs["idf_unseen"] = 0.0 if attrs.get("drop_unseen") else math.log((1 + n) / 2) + 1


def feature_values(attrs: dict, features: list[str], norm: float | None = None) -> list[float]:
    """The value a model with these `extractor_attrs` gives each of a doc's distinct `features` (as
    `_extract` does). The attrs, not the model: looking them up costs more than this per post.

    `norm`: the length `_extract` divided the doc's values by (`doc.user_data[NORM]`), so that the
    reasons can ask for the word features alone; without it, the length of these features' values."""
    table = attrs.get("idf_table")
    normalize = attrs.get("normalize", False)
    if not table:
        return [feature_value(len(features), normalize)] * len(features)
    values = list(map(table.get, features, repeat(attrs["idf_unseen"])))
    scale = attrs.get("char_scale", 1.0)
    if attrs.get("chars") and scale != 1.0:
        values = [v * scale if f.startswith(CHAR_PREFIX) else v for f, v in zip(features, values)]
    if normalize:
        norm = norm or math.sqrt(sum(v * v for v in values))
        if norm:
            values = [v / norm for v in values]
    return values


def _extract(model: Model, docs: list[Doc], is_train: bool):
    ops = model.ops
    keys: list[int] = []
    lengths = []
    table = model.attrs.get("idf_table")
    forms = model.attrs.get("forms", False)
    cells = _char_cells(model.attrs) if table and model.attrs.get("chars") else None
    weights: list[float] = []
    for doc in docs:
        features = doc_features(doc, forms)
        doc_keys = feature_keys(features)
        keys.extend(doc_keys)
        if table:
            weights.extend(map(table.get, features, repeat(model.attrs["idf_unseen"])))
        if cells is not None:
            grams: dict[int, float] = {}
            for word in doc.user_data[WORDS].norms if WORDS in doc.user_data else ():
                grams.update(cells[word])
            keys.extend(grams)
            weights.extend(grams.values())
            lengths.append(len(doc_keys) + len(grams))
        else:
            lengths.append(len(doc_keys))
    batch_keys = ops.asarray1i(keys, dtype="uint64") if keys else ops.alloc1i(0, dtype="uint64")
    if table:
        values = numpy.asarray(weights, dtype="float64")
        if model.attrs["normalize"]:
            # each doc's values divided by their length (sums of squares from a running total)
            ends = numpy.cumsum(lengths)
            totals = numpy.concatenate(([0.0], numpy.cumsum(values * values)))
            norms = numpy.sqrt(numpy.maximum(totals[ends] - totals[ends - lengths], 1e-12))
            values = values / numpy.repeat(norms, lengths)
            for doc, norm in zip(docs, norms.tolist()):
                doc.user_data[NORM] = norm
        values = ops.asarray1f(values.astype("float32"))
    elif model.attrs["normalize"]:
        counts = numpy.asarray(lengths, dtype="float32")
        values = ops.asarray1f(numpy.repeat(1.0 / numpy.sqrt(numpy.maximum(counts, 1.0)), lengths))
    else:
        values = ops.alloc1f(len(keys)) + 1.0
    return (batch_keys, values, ops.asarray1i(lengths, dtype="int32")), lambda dY: []


@registry.architectures("harvester.TermBOW.v1")
def build_term_bow(
    exclusive_classes: bool, length: int = 65536, nO: int | None = None, normalize: bool = False,
    idf: bool = False, forms: bool = False, chars: list[int] | None = None, char_scale: float = 1.0,
    drop_unseen: bool = False,
) -> Model:
    """Sparse linear model over `doc_features` (multi-label: a logistic per theme).

    `normalize`, `idf`, `forms` and `chars` default to off so that models saved before them load as
    they were trained.
    """
    length = 2 ** (length - 1).bit_length()
    sparse_linear = SparseLinear_v2(nO=nO, length=length)
    resizable_layer = resizable(
        sparse_linear, resize_layer=partial(resize_linear_weighted, fill_defaults={"b": -10, "W": 0})
    )
    if exclusive_classes:
        raise ValueError("harvester.TermBOW.v1 is for textcat_multilabel")
    if chars is not None and (len(chars) != 2 or not 1 <= chars[0] <= chars[1] or not idf):
        raise ValueError(f"chars must be [lo, hi] with 1 <= lo <= hi, and needs idf, not {chars!r}")
    extractor = Model(EXTRACTOR, _extract, attrs={"normalize": normalize, "idf": idf, "forms": forms,
                                                  "chars": list(chars) if chars else None, "char_scale": char_scale,
                                                  "drop_unseen": drop_unseen})
    model = chain(extractor, resizable_layer, Logistic())
    if nO is not None:
        model.set_dim("nO", nO)
    model.set_ref("output_layer", sparse_linear)
    model.set_ref(EXTRACTOR, extractor)
    model.attrs["multi_label"] = True
    model.attrs["normalize"] = normalize
    model.attrs["resize_output"] = partial(resize_and_set_ref, resizable_layer=resizable_layer)
    return model


def feature_weights(model: Model, features: list[str]) -> Floats2d:
    """Per feature (rows), its weight towards each label (columns): what it adds to the label's logit
    at value 1 (times its `feature_values` in a doc)."""
    sparse_linear = model.get_ref("output_layer")
    ops = sparse_linear.ops
    keys = feature_keys(features)
    n = len(keys)
    X = (ops.asarray1i(keys, dtype="uint64"), ops.alloc1f(n) + 1.0, ops.asarray1i([1] * n, dtype="int32"))
    bias = sparse_linear.get_param("b")
    return sparse_linear.predict(X) - bias

