"""Related ideas: posts by other authors that say much the same (aim 4 of the call: avoid duplicate work).

Indexing runs beside the classify step: each post's terms (lemmas and compound parts, from
harvester.nlp.related) go into the store's full-text index. A search takes the post's rarest
terms, lets the index name the posts that share the most of them (bm25), and ranks those by the
cosine of their tf-idf vectors (sublinear term counts times log(N / posts with the term)), which,
unlike bm25, does not favour long posts. docs/related.md has the measurement.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from .nlp.related import TermExtractor
from .store import Store

PAGE = 2_000          # posts read and written at a time
QUERY_TERMS = 24      # the post's rarest terms the index is asked for
COMMON = 0.02         # a term in more than this share of the posts (and more than COMMON_FLOOR)
COMMON_FLOOR = 50     # is left out of that question...
MIN_QUERY_TERMS = 4   # ...unless the post has no rarer ones: then its rarest few
CANDIDATES = 50       # posts the index names, ranked again by cosine
MIN_SIMILARITY = 0.12 # below this a post is not shown as related (docs/related.md)

Vector = dict[str, float]


@dataclass(frozen=True)
class Related:
    post_id: int
    similarity: float          # cosine, 0..1
    shared: tuple[str, ...]    # the terms that weigh most in it, for the editor


def index_pending(store: Store, extractor: TermExtractor, progress: Callable[[int], None] | None = None) -> int:
    """Index the terms of posts never indexed or changed since; returns how many."""
    done, after = 0, 0
    while True:
        rows = store.related.pending(limit=PAGE, after_id=after)
        if not rows:
            return done
        after = rows[-1].post_id
        terms = extractor.terms(row.text for row in rows)
        store.related.save_many([(row.post_id, t) for row, t in zip(rows, terms)],
                                seen={row.post_id: row.changed_at for row in rows})
        done += len(rows)
        if progress:
            progress(len(rows))


def vector(terms: Sequence[str], df: Mapping[str, int], total: int) -> Vector:
    """tf-idf with sublinear tf, normalised to length 1 (terms the index does not know count as rare)."""
    counts = Counter(terms)
    weights = {t: (1 + math.log(n)) * math.log((total + 1) / df.get(t, 1)) for t, n in counts.items()}
    norm = math.sqrt(sum(w * w for w in weights.values())) or 1.0
    return {t: w / norm for t, w in weights.items() if w > 0}


def cosine(a: Vector, b: Vector) -> float:
    if len(a) > len(b):
        a, b = b, a
    return sum(w * b[t] for t, w in a.items() if t in b)


def related_ideas(store: Store, post_id: int, limit: int = 5) -> list[Related]:
    """The posts most like this one (see the module's docstring), best first."""
    own = store.related.terms([post_id]).get(post_id)
    if not own:
        return []
    total = max(1, store.related.indexed())
    df = store.related.document_frequency(sorted(set(own)))
    # the rarest terms that another post shares; those in more than COMMON of the posts only when
    # there are no rarer ones (each posting list the index walks costs time, and a common term
    # names no idea)
    shared = sorted((t for t in set(own) if df.get(t, 1) > 1), key=lambda t: (df[t], t))
    rare = [t for t in shared if df[t] <= max(COMMON_FLOOR, COMMON * total)][:QUERY_TERMS] or shared[:MIN_QUERY_TERMS]
    candidates = store.related.candidates(post_id, rare, CANDIDATES)
    if not candidates:
        return []
    others = store.related.terms(candidates)
    df.update(store.related.document_frequency(sorted({t for ts in others.values() for t in ts} - set(df))))
    mine = vector(own, df, total)
    ranked = []
    for other, terms in others.items():
        theirs = vector(terms, df, total)
        score = cosine(mine, theirs)
        if score >= MIN_SIMILARITY:
            shared = sorted((t for t in mine if t in theirs), key=lambda t: -mine[t] * theirs[t])[:5]
            ranked.append(Related(other, round(score, 3), tuple(shared)))
    ranked.sort(key=lambda r: (-r.similarity, r.post_id))
    return ranked[:limit]


def representative_order(store: Store, post_ids: Sequence[int], total: int | None = None) -> list[int]:
    """A group's posts, the one most like all the others first (highest summed cosine), then the rest
    by that same sum; without terms, in the order given. `total`: the indexed posts, if known."""
    if len(post_ids) < 3:
        return list(post_ids)
    terms = store.related.terms(post_ids)
    df = store.related.document_frequency(sorted({t for ts in terms.values() for t in ts}))
    total = max(1, total if total is not None else store.related.indexed())
    vectors = {p: vector(terms.get(p, []), df, total) for p in post_ids}
    score = {p: sum(cosine(vectors[p], vectors[q]) for q in post_ids if q != p) for p in post_ids}
    return sorted(post_ids, key=lambda p: (-score[p], list(post_ids).index(p)))


@dataclass(frozen=True)
class PairScore:
    """How well `related_ideas` finds labelled pairs (docs/related.md)."""

    queries: int          # posts with at least one labelled related partner
    shown: int            # posts shown for them in all (at most k each)
    precision: float      # of the posts shown, the share labelled related
    at_k: float           # related among the top k, divided by k, averaged over the queries
    ceiling: float        # the best at_k the labels allow (a post with 2 related partners: 2/k)
    unrelated_shown: int  # labelled-unrelated pairs that were shown


def score_pairs(store: Store, related: Mapping[int, set[int]], unrelated: Mapping[int, set[int]],
                k: int = 5) -> PairScore:
    """Precision at k of the related-idea search over labelled pairs of indexed posts (both directions);
    a shown post without a label counts as not related."""
    queries = [p for p in related if related[p]]
    hits = shown = wrong = 0
    at_k = ceiling = 0.0
    for post_id in queries:
        found = [r.post_id for r in related_ideas(store, post_id, limit=k)]
        good = sum(1 for p in found if p in related[post_id])
        hits += good
        shown += len(found)
        wrong += sum(1 for p in found if p in unrelated.get(post_id, ()))
        at_k += good / k
        ceiling += min(k, len(related[post_id])) / k
    n = max(1, len(queries))
    return PairScore(len(queries), shown, hits / shown if shown else 0.0, at_k / n, ceiling / n, wrong)
