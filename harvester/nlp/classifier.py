"""Texts in, `Classification`s out: scores, assigned themes, reasons, language, confidence."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

from spacy.language import Language
from spacy.tokens import Doc

from ..models import Classification
from .components import LANGUAGE, LANGUAGE_SCORE, TERM_HITS, WORDS
from .features import (FORM_PREFIX, NORM, TERM_PREFIX, display_feature, doc_features, extractor_attrs,
                       feature_values, feature_weights)
from .evidence import Table
from .pipeline import TEXTCAT, USABLE_MODEL, ModelError, load_pipeline, model_folder, term_weight
from .themes import ThemeSet
from .training import scores_before_evidence

MAX_REASONS = 5
# features must add at least this much to a theme's logit to be named as a reason (0.25 before the
# character n-grams: they carry part of what the words carried, so a word's share is smaller)
MIN_REASON_WEIGHT = 0.1
MAX_WEIGHTS = 200_000    # features whose weights are kept between batches
# a theme's threshold when neither the themes file nor the model sets one
DEFAULT_THRESHOLD = 0.35

# where a theme's threshold or the term weight came from (model meta "threshold_sources" and
# "term_weight_source", `harvester status`)
FROM_THEMES_FILE = "themabestand"
FROM_ROUNDS = "schrijfrondes"        # chosen on scores of writing rounds the model had not seen
FROM_DECISIONS = "beslissingen"      # refitted on editors' decisions
FROM_DEFAULT = "standaard"


def resolve_thresholds(themes: ThemeSet, meta: dict) -> tuple[dict[str, float], dict[str, str]]:
    """Per theme its threshold and where it came from: the themes file when it sets one (an
    operator's explicit choice), else the model's own (chosen when it was trained), else the default."""
    model = (meta.get("harvester") or {}).get("thresholds") or {}
    sources = (meta.get("harvester") or {}).get("threshold_sources") or {}
    thresholds, origin = {}, {}
    for theme in themes.themes:
        if theme.threshold is not None:
            thresholds[theme.id], origin[theme.id] = theme.threshold, FROM_THEMES_FILE
        elif theme.id in model:
            # rounded: spaCy writes meta.json with ujson, which reads 0.35 back as 0.35000000000000003
            thresholds[theme.id], origin[theme.id] = round(float(model[theme.id]), 4), sources.get(theme.id, FROM_ROUNDS)
        else:
            thresholds[theme.id], origin[theme.id] = DEFAULT_THRESHOLD, FROM_DEFAULT
    return thresholds, origin


def unknown_labels(labels: Iterable[str], themes: ThemeSet) -> list[str]:
    """The themes of the themes file a model with these labels does not know (added or renamed since
    it was trained), in the file's order: what classification refuses it for (`check_labels`), and
    what the background job retrains for (`learning.themes_to_learn`)."""
    known = set(labels)
    return [t for t in themes.ids if t not in known]


def check_labels(labels: Iterable[str], themes: ThemeSet) -> None:
    """Refuse a model that does not know a theme of the themes file (one added since it was trained):
    it could never assign it."""
    unknown = unknown_labels(labels, themes)
    if unknown:
        raise ModelError(f"het model kent de thema's {', '.join(unknown)} niet; {USABLE_MODEL}")


def check_saved(model_dir: str | Path | None, themes: ThemeSet, meta: dict) -> None:
    """What `Classifier.load` would refuse that shows without loading the model (which takes seconds,
    too long for `harvester status`): no model in the folder, or a theme it does not know (the
    labels spaCy lists in its meta.json)."""
    model_folder(model_dir)
    labels = (meta.get("labels") or {}).get(TEXTCAT)
    if labels is not None:
        check_labels(labels, themes)


class Classifier:
    """A trained pipeline plus the current theme set (terms come from the themes file; thresholds from
    the themes file where it sets them, else from the model: `resolve_thresholds`)."""

    def __init__(self, nlp: Language, themes: ThemeSet, model_dir: str | Path | None = None):
        textcat = nlp.get_pipe(TEXTCAT)
        check_labels(textcat.labels, themes)
        nlp.get_pipe("theme_terms").set_terms(themes.terms)
        self.nlp = nlp
        self.themes = themes
        self.model_dir = model_dir
        self.labels = list(textcat.labels)
        self.thresholds, self.threshold_sources = resolve_thresholds(themes, nlp.meta)
        meta = nlp.meta.get("harvester") or {}
        # how much a matched term adds (None: a model from before term evidence), where that weight
        # came from, and the thresholds chosen for each weight tried (empty: chosen for its own only)
        self.term_weight = term_weight(nlp)
        self.term_weight_source = meta.get("term_weight_source", FROM_ROUNDS) if self.term_weight is not None else ""
        try:
            self.term_weights: Table = {float(w): {t: float(v) for t, v in th.items()}
                                        for w, th in (meta.get("term_weights") or {}).items()}
        except (AttributeError, TypeError, ValueError):
            raise ModelError(f"{model_dir or 'het meegeleverde model'}: meta.json heeft onleesbare drempels per "
                             "termgewicht (term_weights); train het model opnieuw") from None
        # feature -> its weight per label if it can be named as a reason (adds MIN_REASON_WEIGHT to
        # some theme; no term: feature), else None. The model does not change under a Classifier.
        self._strong: dict[str, list[float] | None] = {}
        self.version = f"{nlp.meta.get('name', 'model')}-{nlp.meta.get('version', '0')}"

    @classmethod
    def load(cls, model_dir: str | Path | None, themes: ThemeSet) -> Classifier:
        """The model in `model_dir`; None or '' means the one shipped in the package."""
        return cls(load_pipeline(model_dir), themes, model_dir or "")

    @property
    def spec(self) -> tuple[str | Path, ThemeSet] | None:
        """What a worker process needs to load the same classifier (None: it lives in memory only)."""
        return None if self.model_dir is None else (self.model_dir, self.themes)

    def classify(self, texts: Iterable[str], batch_size: int = 256) -> Iterator[Classification]:
        batch: list[Doc] = []
        for doc in self.nlp.pipe(texts, batch_size=batch_size):
            batch.append(doc)
            if len(batch) >= batch_size:
                yield from self._verdicts(batch)
                batch = []
        if batch:
            yield from self._verdicts(batch)

    def scores(self, texts: Iterable[str]) -> list[dict[str, float]]:
        """Bare scores (for evaluation and comparisons)."""
        return [doc.cats for doc in self.nlp.pipe(texts)]

    def scores_before_evidence(self, texts: Iterable[str]) -> tuple[list[list[float]], list[list[int]]]:
        """Scores per theme (`themes.ids` order) before term evidence, and matched-word counts."""
        return scores_before_evidence(self.nlp, list(texts), self.themes)

    def _verdicts(self, docs: list[Doc]) -> list[Classification]:
        target = self.themes.language
        thresholds = self.thresholds
        ids = self.themes.ids
        halves = [(t, thresholds[t] / 2) for t in ids]
        model = self.nlp.get_pipe(TEXTCAT).model
        attrs = extractor_attrs(model)
        forms = attrs.get("forms", False)
        features = [doc_features(doc, forms) for doc in docs]
        strong = self._strong
        # one pass through the linear layer for the batch's features not seen before, for the reasons
        # (only word features: character n-grams are never named, an editor reads words)
        new = [f for f in dict.fromkeys(f for fs in features for f in fs) if f not in strong]
        if new:
            if len(strong) + len(new) > MAX_WEIGHTS:
                strong.clear()
                new = list(dict.fromkeys(f for fs in features for f in fs))
            weights = feature_weights(model, new)
            strong.update(dict.fromkeys(new))
            rows = (weights.max(axis=1) >= MIN_REASON_WEIGHT).nonzero()[0].tolist()
            strong.update((new[r], w) for r, w in zip(rows, weights[rows].tolist())
                          if not new[r].startswith(TERM_PREFIX))
        column = {label: i for i, label in enumerate(self.labels)}
        results = []
        for doc, doc_feats in zip(docs, features):
            cats = doc.cats
            scores = {t: round(float(cats[t]), 4) for t in ids}
            data = doc.user_data
            language = data.get(LANGUAGE)
            if language is not None and language != target:
                results.append(Classification(scores, (), {}, language, False,
                                              float(data.get(LANGUAGE_SCORE) or 0.0), self.version))
                continue
            assigned = tuple(t for t in ids if scores[t] >= thresholds[t])
            hits = data.get(TERM_HITS) or {}
            candidates = None
            reasons: dict[str, list[str]] = {}
            for t, half in halves:
                if scores[t] < half:
                    continue
                shown = list(hits.get(t, ()))[:MAX_REASONS]
                if candidates is None:   # with the value the model gives each feature of this doc
                    # a stop word's form weighs in the score but says nothing to an editor (we, als)
                    words = data[WORDS]
                    minor = {FORM_PREFIX + n for n, m in zip(words.norms, words.minor) if m} if forms else ()
                    values = feature_values(attrs, doc_feats, data.get(NORM))
                    candidates = [(f, w, v) for f, v in zip(doc_feats, values)
                                  if (w := strong[f]) is not None and f not in minor]
                c = column[t]
                # the strongest first (ties: the feature later in the alphabet, as heapq.nlargest)
                ranked = sorted(((w[c] * v, f) for f, w, v in candidates if w[c] * v >= MIN_REASON_WEIGHT),
                                reverse=True)
                for _weight, feature in ranked[:2 * MAX_REASONS]:
                    if len(shown) >= MAX_REASONS:
                        break
                    word = display_feature(feature)
                    # a word form is not named beside its lemma or a matched word (burger, burgers)
                    form = feature.startswith(FORM_PREFIX)
                    if not any(word in s.lower() or (form and s.lower() in word) for s in shown):
                        shown.append(word)
                if shown:
                    reasons[t] = shown
            results.append(Classification(scores, assigned, reasons, language, True,
                                          confidence(scores, thresholds), self.version))
        return results


def confidence(scores: dict[str, float], thresholds: dict[str, float]) -> float:
    """How far the closest call is from its threshold, 0 (on it) .. 1 (scores at 0 or 1)."""
    margins = []
    for theme, score in scores.items():
        th = thresholds[theme]
        margins.append((score - th) / (1 - th) if score >= th else (th - score) / th)
    return round(min(margins), 4) if margins else 1.0
