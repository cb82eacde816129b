"""The charter page: the concept charter (`harvester charter`) as a download for anyone logged in.

Built in a worker thread on its own read connection (the app's store belongs to the event loop's
thread), into memory: a charter of 10,000 ideas is a few megabytes (docs/benchmarks.md).
"""

from __future__ import annotations

import io
from datetime import datetime

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..charter import FORMATS, MEDIA_TYPES, CharterError, build_charter, statuses_of, write_charter
from ..config import Config
from ..export import AMSTERDAM
from ..privacy.hashing import SecretMissing, load_secret
from ..models import Role, Status
from ..nlp.themes import ThemesError, load_themes
from ..store import Store
from . import auth
from .exports import NO_PSEUDONYM_KEY
from .views import render

CHOICES = [Status.ACCEPTED, Status.NEW, Status.REJECTED]


def _form(request: Request, status_code: int = 200, error: str = "") -> Response:
    chosen = request.query_params
    return render(request, "charter.html", status_code, error=error, formats=FORMATS, choices=CHOICES,
                  chosen_statuses=chosen.getlist("status") or [Status.ACCEPTED],
                  chosen_format=chosen.get("format", "odt"), pseudonymize=chosen.get("pseudonymize") == "1")


@auth.login_required(Role.READER)
async def charter_page(request: Request) -> Response:
    return _form(request)


@auth.login_required(Role.READER)
async def download(request: Request) -> Response:
    config: Config = request.app.state.config
    params = request.query_params
    fmt = params.get("format", "odt")
    statuses = statuses_of(params.getlist("status"))
    try:
        if fmt not in FORMATS:
            raise CharterError(f"onbekend formaat {fmt!r}")
        if any(s not in CHOICES for s in statuses):
            raise CharterError("onbekende status")
        secret = load_secret(config.privacy.secret_env) if params.get("pseudonymize") == "1" else None
        themes = load_themes(config.nlp.themes)
    except (CharterError, ThemesError) as e:
        return _form(request, 400, str(e))
    except SecretMissing:
        return _form(request, 400, NO_PSEUDONYM_KEY)
    data = await run_in_threadpool(_write, config, themes, fmt, statuses, secret)
    name = f"conceptcharter-{datetime.now(AMSTERDAM):%Y%m%d-%H%M}.{fmt}"
    return Response(data, media_type=MEDIA_TYPES[fmt], headers={"content-disposition": f'attachment; filename="{name}"'})


def _write(config: Config, themes, fmt: str, statuses: tuple[str, ...], secret: bytes | None) -> bytes:
    out = io.BytesIO()
    with Store(config.db_path, migrate=False) as store:
        write_charter(build_charter(store, themes, statuses=statuses, secret=secret), fmt, out)
    return out.getvalue()


def routes() -> list[Route]:
    return [
        Route("/charter", charter_page, methods=["GET"]),
        Route("/charter/download", download, methods=["GET"]),
    ]
