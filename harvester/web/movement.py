"""The movement overview (`/overzicht`) and its print view (`/overzicht/afdruk`): how big the movement is.

Counting a million posts takes seconds, so editors share one count for a minute (`OVERVIEW_SECONDS`).
Every time on these pages is Dutch time (Europe/Amsterdam).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..models import Role
from ..movement import movement
from . import auth
from .chart import small_multiples
from .views import render

OVERVIEW_SECONDS = 60
WEEKS = 12


def _counted(request: Request):
    """(review overview, movement) as counted at most a minute ago."""
    state = request.app.state
    cached = getattr(state, "overview", None)
    if cached is None or time.monotonic() - cached[0] > OVERVIEW_SECONDS:
        store = state.store
        cached = state.overview = (time.monotonic(), store.reviews.overview(weeks=WEEKS),
                                   movement(store, datetime.now(UTC), WEEKS))
    return cached[1], cached[2]


def _context(request: Request) -> dict:
    ov, mv = _counted(request)
    themes = request.app.state.themes
    theme_ids = [t[0] for t in themes]
    seen = set(ov.suggested_per_theme) | set(ov.accepted_per_theme) | {t for w in mv.weeks for t in w.per_theme}
    theme_ids += sorted(seen - set(theme_ids))
    labels = {t[0]: t[1] for t in themes}
    chart = small_multiples([(w.label, w.complete) for w in mv.weeks],
                            {labels.get(t, t): [w.per_theme.get(t, 0) for w in mv.weeks] for t in theme_ids})
    return {"ov": ov, "mv": mv, "theme_ids": theme_ids, "chart": chart, "current": mv.weeks[-1]}


@auth.login_required(Role.READER)
async def overview(request: Request) -> Response:
    return render(request, "overview.html", **_context(request))


@auth.login_required(Role.READER)
async def overview_print(request: Request) -> Response:
    return render(request, "overview_print.html", **_context(request))


def routes() -> list[Route]:
    return [
        Route("/overzicht", overview, methods=["GET"]),
        Route("/overzicht/afdruk", overview_print, methods=["GET"]),
    ]
