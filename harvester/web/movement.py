"""The movement overview (`/overzicht`) and its print view (`/overzicht/afdruk`): how big the movement is.

Counting a million posts takes seconds (docs/benchmarks.md), so the count runs in a worker thread
on its own read connection, never on the event loop, where it would hold up every editor's page
for as long. Editors share one count: a count older than a minute (`OVERVIEW_SECONDS`) is shown
once more while a new one runs, so only the first visitor after a quiet spell waits for the
count; one older than `SHOWN_AT_MOST` (a weekend's figures on Monday) is not shown but waited for.
Every time on these pages is Dutch time (Europe/Amsterdam).
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, datetime
from pathlib import Path

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..movement import Movement, overview_figures
from ..models import Role
from ..store import Store
from ..store.reviews import Overview
from . import auth
from .chart import small_multiples
from .views import render

OVERVIEW_SECONDS = 60
SHOWN_AT_MOST = 600   # seconds: an older count is not shown while the next one runs
WEEKS = 12
log = logging.getLogger(__name__)


class OverviewCount:
    """The overview's figures, counted apart and shared by all editors (one per app)."""

    def __init__(self, db_path: Path):
        self.db_path = db_path
        self.kept: tuple[float, Overview, Movement] | None = None   # (monotonic time, figures)
        self.running: asyncio.Task | None = None

    async def figures(self) -> tuple[Overview, Movement]:
        kept = self.kept
        age = time.monotonic() - kept[0] if kept else None
        if kept and age <= OVERVIEW_SECONDS:
            return kept[1], kept[2]
        if self.running is None or self.running.done():   # one count at a time
            self.running = asyncio.ensure_future(self._recount())
            self.running.add_done_callback(_log_failure)
        if kept and age <= SHOWN_AT_MOST:   # shown (with its time) while the new count runs
            return kept[1], kept[2]
        return await asyncio.shield(self.running)

    async def _recount(self) -> tuple[Overview, Movement]:
        ov, mv = await run_in_threadpool(self._count)
        self.kept = (time.monotonic(), ov, mv)
        return ov, mv

    def _count(self) -> tuple[Overview, Movement]:
        with Store(self.db_path, migrate=False) as store:
            return overview_figures(store, datetime.now(UTC), WEEKS)


def _log_failure(task: asyncio.Task) -> None:
    """A count that fails is logged; a page that waited for it shows the error, and the next visit
    counts again."""
    if not task.cancelled() and task.exception() is not None:
        log.warning("telling voor het overzicht mislukt", exc_info=task.exception())


async def _context(request: Request) -> dict:
    ov, mv = await request.app.state.overview_count.figures()
    themes = request.app.state.themes.labels()
    theme_ids = [t[0] for t in themes]
    seen = set(ov.suggested_per_theme) | set(ov.accepted_per_theme) | {t for w in mv.weeks for t in w.per_theme}
    theme_ids += sorted(seen - set(theme_ids))
    labels = {t[0]: t[1] for t in themes}
    chart = small_multiples([(w.label, w.complete) for w in mv.weeks],
                            {t: [w.per_theme.get(t, 0) for w in mv.weeks] for t in theme_ids}, labels)
    return {"ov": ov, "mv": mv, "theme_ids": theme_ids, "chart": chart, "current": mv.weeks[-1]}


@auth.login_required(Role.READER)
async def overview(request: Request) -> Response:
    return render(request, "overview.html", **await _context(request))


@auth.login_required(Role.READER)
async def overview_print(request: Request) -> Response:
    return render(request, "overview_print.html", **await _context(request))


def routes() -> list[Route]:
    return [
        Route("/overzicht", overview, methods=["GET"]),
        Route("/overzicht/afdruk", overview_print, methods=["GET"]),
    ]
