"""What editors do with posts: the queue they work from (`queue`, searched on lemmas by `search`),
what a filter matches as a whole (`filtered`: its totals, its posts for a bulk decision), the
counts on the overview page (`statistics`) and their decisions with the audit trail (`decisions`).

`ReviewStore` is the one object the rest of the program uses (`store.reviews`); each part reads
and writes through the same Database, so a decision and the queue it changes stay consistent.
"""

from __future__ import annotations

from .decisions import REJECT_REASONS, DecisionStore, NothingToUndo, ReviewEvent, ReviewState, StaleReview
from .filtered import FilteredStore, Totals
from .queue import SORTS, Candidate, QueueFilter, QueueItem, QueuePage, Suggestion
from .search import SearchError
from .statistics import Overview, StatisticsStore

__all__ = [
    "REJECT_REASONS", "SORTS", "Candidate", "NothingToUndo", "Overview", "QueueFilter", "QueueItem",
    "QueuePage", "ReviewEvent", "ReviewState", "ReviewStore", "StaleReview", "SearchError", "Suggestion", "Totals",
]


class ReviewStore(FilteredStore, StatisticsStore, DecisionStore):
    """The queue, the overview's counts and the decisions on one Database (the Store's, whose
    atomic() takes the write lock as it begins)."""
