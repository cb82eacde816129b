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
                      ids: Sequence[str], min_none_accuracy: float | None = None) -> dict[str, float]:
    """Per theme the best threshold for texts with these gold labels and these score rows (one
    score per theme in `ids` order); with `min_none_accuracy`, raised where needed so that at
    least that share of the texts without a theme get none (`raise_for_none`)."""
    chosen = {theme: choose_threshold([theme in g for g in gold], [row[j] for row in rows])
              for j, theme in enumerate(ids)}
    return chosen if min_none_accuracy is None else raise_for_none(gold, rows, ids, chosen, min_none_accuracy)


def none_accuracy(gold: Sequence[Sequence[str]], rows: Sequence[Sequence[float]], thresholds: Sequence[float]) -> float:
    """The share of texts without a theme that get none at these thresholds (one per column)."""
    empty = [row for g, row in zip(gold, rows) if not g]
    kept = sum(1 for row in empty if all(s < th for s, th in zip(row, thresholds)))
    return kept / len(empty) if empty else 1.0


def raise_for_none(gold: Sequence[Sequence[str]], rows: Sequence[Sequence[float]], ids: Sequence[str],
                   chosen: dict[str, float], target: float) -> dict[str, float]:
    """Raise thresholds until at least `target` of the texts without a theme get none, a step at a
    time: each step lifts one theme's threshold just above its next no-theme text, where that costs
    the least F1 for the (no-theme text, theme) pairs it takes below. Counting pairs, not whole
    texts, lets a text that two themes claim be emptied in two steps. Stops at the top of the grid
    if the target cannot be reached.

    Best F1 per theme says nothing about posts with no theme at all: a feed full of event notices
    and chatter needs most of them left empty, or editors wade through false suggestions.
    """
    current = [chosen[t] for t in ids]
    positives = [[t in g for g in gold] for t in ids]
    columns = [[row[j] for row in rows] for j in range(len(ids))]
    empty = [[row[j] for g, row in zip(gold, rows) if not g] for j in range(len(ids))]
    while none_accuracy(gold, rows, current) < target:
        best = None
        for j, th in enumerate(current):
            above = [s for s in empty[j] if s >= th]
            higher = [g for g in GRID if above and g > min(above)]
            if not higher:
                continue
            gained = sum(1 for s in above if s < higher[0])   # pairs taken below
            lost = f1_at(positives[j], columns[j], th) - f1_at(positives[j], columns[j], higher[0])
            if best is None or lost / gained < best[0]:
                best = (lost / gained, j, higher[0])
        if best is None:
            break
        current[best[1]] = best[2]
    return dict(zip(ids, current))


def agreement(suggested: set[str], decided: set[str]) -> float:
    """F1 of one post's suggested themes against the decided ones; two empty sets agree fully.

    Per post, not per theme: it counts a theme suggested for a rejected post against the choice,
    where a macro-F1 over themes without decided posts would not."""
    if not suggested and not decided:
        return 1.0
    return 2 * len(suggested & decided) / (len(suggested) + len(decided))
