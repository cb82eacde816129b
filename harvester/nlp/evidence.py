"""How much a matched term adds to a theme's score, and choosing that weight on decided posts.

The `term_evidence` component raises each theme's score for every distinct word that matched the
theme's terms. How much each word should add depends on the writing: the project's writers were
asked to imply their themes, real writers name them. The default is the weight that suits real
writing; editors' decisions on real posts can choose another (docs/nlp.md, "Term evidence").
Thresholds belong to a weight, so a model carries one set per weight tried.
"""

from __future__ import annotations

from collections.abc import Sequence

from .thresholds import agreement, choose_thresholds

# the weights tried: each gets its own thresholds, chosen on the writing rounds
TERM_WEIGHTS = (0.05, 0.1, 0.15, 0.2, 0.25, 0.3)
# the default, until decisions choose: the weight real writing takes. On two sets of real passages
# kept outside the repository (from different pages) 0.15 beat 0.05 for each of six models, by
# 0.03-0.04 on average; the writing rounds cannot choose it, as their writers were asked to imply
# their themes rather than name them (docs/nlp-log.md, "Fifteenth round")
TERM_WEIGHT = 0.15
# decisions choose another weight only when it beats the model's own on them by more than this
# (mean agreement per post): on 80 learned decisions the choice then moved real passages up by
# 0.025 macro-F1 and left the project's writers' texts as they were (docs/nlp-log.md, "Tenth round")
MARGIN = 0.01

Table = dict[float, dict[str, float]]   # weight -> thresholds per theme


def raised(score: float, words: int, weight: float) -> float:
    """A score after `words` distinct matched words, each closing `weight` of its gap to 1."""
    return 1.0 - (1.0 - score) * (1.0 - weight) ** words


def raise_rows(rows: Sequence[Sequence[float]], words: Sequence[Sequence[int]], weight: float) -> list[list[float]]:
    """`raised` for score rows and matched-word counts in the same (theme) order."""
    return [[raised(s, n, weight) for s, n in zip(row, counts)] for row, counts in zip(rows, words)]


def thresholds_per_weight(gold: Sequence[Sequence[str]], rows: Sequence[Sequence[float]],
                          words: Sequence[Sequence[int]], ids: Sequence[str], min_none_accuracy: float) -> Table:
    """Per weight tried, the thresholds `choose_thresholds` picks on the scores raised by it."""
    return {w: choose_thresholds(gold, raise_rows(rows, words, w), ids, min_none_accuracy) for w in TERM_WEIGHTS}


def mean_agreement(gold: Sequence[Sequence[str]], rows: Sequence[Sequence[float]], ids: Sequence[str],
                   thresholds: dict[str, float]) -> float:
    """The mean `agreement` of the themes these score rows reach at these thresholds with `gold`."""
    return sum(agreement({t for t, s in zip(ids, row) if s >= thresholds[t]}, set(g))
               for g, row in zip(gold, rows)) / len(gold)


def choose_term_weight(gold: Sequence[Sequence[str]], rows: Sequence[Sequence[float]],
                       words: Sequence[Sequence[int]], ids: Sequence[str], table: Table, current: float) -> float:
    """The weight whose raised scores agree best with these decided posts (each weight at its own
    thresholds), if it beats `current` by more than MARGIN; else `current`.

    `rows` must be scores of a model that had not learned these posts, before term evidence: a
    model scores posts it learned high already, and would find no weight better than the smallest.
    Agreement per post, as the gate measures: a theme given to a rejected post counts against a
    weight (measured as macro-F1 on the decisions, the choice did as well on real passages).
    """
    def score(weight: float) -> float:
        return mean_agreement(gold, raise_rows(rows, words, weight), ids, table[weight])

    best = max(table, key=lambda w: (round(score(w), 6), -w))
    if current not in table or score(best) - score(current) > MARGIN:
        return best
    return current
