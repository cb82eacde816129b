"""What editors do with posts, in three parts: the queue they work from (`queue`), the counts on
the overview page (`statistics`) and their decisions with the audit trail (`decisions`).

`ReviewStore` is the one object the rest of the program uses (`store.reviews`); each part reads
and writes through the same Database, so a decision and the queue it changes stay consistent.
"""

from __future__ import annotations

from .decisions import REJECT_REASONS, DecisionStore, NothingToUndo, ReviewEvent, ReviewState, StaleReview
from .queue import SORTS, Candidate, QueueFilter, QueueItem, QueuePage, QueueStore, Suggestion, fts_query
from .statistics import Overview, StatisticsStore

__all__ = [
    "REJECT_REASONS", "SORTS", "Candidate", "NothingToUndo", "Overview", "QueueFilter", "QueueItem",
    "QueuePage", "ReviewEvent", "ReviewState", "ReviewStore", "StaleReview", "Suggestion", "fts_query",
]


class ReviewStore(QueueStore, StatisticsStore, DecisionStore):
    """The queue, the overview's counts and the decisions on one Database (the Store's, whose
    atomic() takes the write lock as it begins)."""
