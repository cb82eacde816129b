"""Theme-assignment quality on a held-out set, for docs/nlp.md.

Compares, on data/eval/writers.jsonl by default (the held-out writer set: never trained or tuned
on, and run at most three times, each run logged in docs/nlp-log.md):
- keywords:   a theme when any of its terms occurs (the pipeline's term matcher, nothing learned)
- tfidf+lr:   scikit-learn TF-IDF + one logistic regression per theme (C=10): word 1-2 grams plain
              and with balanced class weights, and character 3-5 grams within words (char_wb),
              balanced
- spacy bow:  textcat_multilabel with spaCy's own TextCatBOW.v3 over token texts, same training data
              and training procedure as the shipped model, no term evidence (weight 0; from the ninth
              round through the fifteenth round's held-out runs it had the default's), the themes file's thresholds
- shipped:    the model in harvester/nlp/model (or --model DIR), the themes file's thresholds
All learners train on config/training.jsonl plus the themes file's statements and terms;
non-Dutch texts get none. The scikit-learn baselines assign from 0.5 (the natural threshold of
balanced class weights; not tuned).

Usage: .venv/bin/python benchmarks/nlp_quality.py [--model DIR] [--eval FILE]
(needs the test extra: scikit-learn)
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from harvester.nlp import Classifier, build_pipeline, evaluate, load_themes, read_jsonl, train  # noqa: E402
from harvester.nlp.pipeline import ORTH_BOW_MODEL, TEXTCAT, set_term_weight  # noqa: E402


def keywords(themes, texts):
    nlp = build_pipeline(themes)
    with nlp.select_pipes(disable=[TEXTCAT]):
        docs = nlp.pipe(texts)
        return [tuple(t for t in themes.ids if t in (d._.term_hits or {}))
                if d._.language in (None, themes.language) else () for d in docs]


def tfidf_lr(themes, items, texts, class_weight=None, chars=False):
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    vectorizer = (TfidfVectorizer(sublinear_tf=True, analyzer="char_wb", ngram_range=(3, 5), lowercase=True) if chars
                  else TfidfVectorizer(sublinear_tf=True, ngram_range=(1, 2), lowercase=True))
    X = vectorizer.fit_transform([t for t, _ in items])
    Xe = vectorizer.transform(texts)
    predicted: list[list[str]] = [[] for _ in texts]
    for theme in themes.ids:
        model = LogisticRegression(C=10, max_iter=2000, class_weight=class_weight).fit(X, [theme in labels for _, labels in items])
        for i, p in enumerate(model.predict_proba(Xe)[:, 1]):
            if p >= 0.5:
                predicted[i].append(theme)
    return predicted


def bare_bow(items, themes):
    """spaCy's bag of words as the baseline: trained as the shipped model is, without term evidence."""
    nlp = train(items, themes, textcat_model=ORTH_BOW_MODEL)
    set_term_weight(nlp, 0.0)
    return nlp


def row(name, metrics, ids):
    cells = " | ".join(
        f"{metrics['per_theme'][t]['precision']:.2f}/{metrics['per_theme'][t]['recall']:.2f}/{metrics['per_theme'][t]['f1']:.2f}"
        for t in ids
    )
    return f"| {name} | {cells} | {metrics['macro_f1']:.3f} | {metrics['micro_f1']:.3f} | {metrics['none_accuracy']:.3f} |"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default=None)
    parser.add_argument("--eval", default=str(ROOT / "data" / "eval" / "writers.jsonl"))
    args = parser.parse_args()
    themes = load_themes(ROOT / "config" / "themes.toml")
    items = read_jsonl(ROOT / "config" / "training.jsonl", themes.ids) + themes.examples()
    evaluation = read_jsonl(args.eval, themes.ids)
    texts = [t for t, _ in evaluation]
    gold = [labels for _, labels in evaluation]
    results = {
        "keywords only": keywords(themes, texts),
        "TF-IDF + logistic regression": tfidf_lr(themes, items, texts),
        "TF-IDF + logistic regression, balanced class weights": tfidf_lr(themes, items, texts, "balanced"),
        "TF-IDF character 3-5 grams + logistic regression, balanced": tfidf_lr(themes, items, texts, "balanced", True),
        "spaCy TextCatBOW (token texts)": [c.assigned for c in Classifier(bare_bow(items, themes), themes).classify(texts)],
    }
    shipped = Classifier.load(args.model, themes)
    results[f"shipped pipeline ({shipped.version})"] = [c.assigned for c in shipped.classify(texts)]
    print(f"{len(evaluation)} texts in {args.eval}; cells: precision/recall/F1")
    print("| method | " + " | ".join(themes.ids) + " | macro-F1 | micro-F1 | none_accuracy |")
    print("|---|" + "---|" * (len(themes.ids) + 3))
    for name, predicted in results.items():
        print(row(name, evaluate(gold, predicted, themes.ids), themes.ids))


if __name__ == "__main__":
    main()
