"""Choosing a theme's threshold on scores the model gave texts it had not learned from.

A model scores texts like the ones it learned from higher than texts in another voice, so a
threshold chosen on in-voice folds is too strict for real posts. Thresholds are therefore chosen on
scores of writers (writing rounds) the model had not read, and later on editors' decisions
(docs/nlp.md, "Thresholds").
"""

from __future__ import annotations

from collections.abc import Sequence

# the thresholds tried: 0.10 .. 0.70
GRID = tuple(round(0.1 + 0.05 * i, 2) for i in range(13))
# between equally good thresholds, the one nearest this
PREFERRED = 0.35


def f1_at(gold: Sequence[bool], scores: Sequence[float], threshold: float) -> float:
    tp = fp = fn = 0
    for positive, score in zip(gold, scores):
        if score >= threshold:
            if positive:
                tp += 1
            else:
                fp += 1
        elif positive:
            fn += 1
    return 2 * tp / (2 * tp + fp + fn) if tp else 0.0


def choose_threshold(gold: Sequence[bool], scores: Sequence[float]) -> float:
    """The grid threshold with the best F1 for one theme (ties: the one nearest PREFERRED)."""
    return max(GRID, key=lambda th: (round(f1_at(gold, scores, th), 6), -abs(th - PREFERRED)))


def choose_thresholds(gold: Sequence[Sequence[str]], rows: Sequence[Sequence[float]],
                      ids: Sequence[str]) -> dict[str, float]:
    """Per theme the best threshold for texts with these gold labels and these score rows (one
    score per theme in `ids` order)."""
    return {theme: choose_threshold([theme in g for g in gold], [row[j] for row in rows])
            for j, theme in enumerate(ids)}
