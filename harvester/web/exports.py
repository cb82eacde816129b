"""The export page: the same export as `harvester export`, as a download for anyone logged in.

GET only and read only: the file is written by `write_export` in a worker thread on its own
read connection (the app's store belongs to the event loop's thread), into a temporary file that
is streamed out and deleted, so a large export neither blocks other editors nor fills memory.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from datetime import datetime
from typing import IO

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from ..config import Config
from ..export import AMSTERDAM, DIALECTS, ExportError, ExportOptions, parse_day, write_export
from ..privacy.hashing import SecretMissing, load_secret
from ..models import Role, Status
from ..store import Store
from . import auth
from .views import render

MEDIA_TYPES = {"csv": "text/csv; charset=utf-8",
               "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
CHUNK = 64 * 1024


def export_options(params) -> ExportOptions:
    """The form's fields as options; a bad date raises ExportError, the rest is checked by `check`."""
    return ExportOptions(
        format=params.get("format", "csv"), dialect=params.get("dialect", "excel-nl"),
        statuses=tuple(params.getlist("status")), themes=tuple(params.getlist("theme")),
        since=parse_day(params["since"], "vanaf") if params.get("since") else None,
        until=parse_day(params["until"], "tot en met") if params.get("until") else None,
        sources=tuple(params.getlist("source")), per_theme=params.get("per_theme") == "1",
        pseudonymize=params.get("pseudonymize") == "1",
    )


# what an editor reads when the pseudonym key is missing: what to do, not how (no shell command)
NO_PSEUDONYM_KEY = ("pseudoniemen kunnen nu niet: de sleutel daarvoor is op deze server niet ingesteld. "
                    "Vraag de beheerder om die in te stellen, of exporteer zonder pseudoniemen.")


def _form(request: Request, status_code: int = 200, error: str = "") -> Response:
    chosen = request.query_params
    # a workshop file holds the accepted ideas unless the editor asks for more
    statuses = chosen.getlist("status") if "format" in chosen else [Status.ACCEPTED]
    return render(request, "export.html", status_code, error=error, statuses=list(Status), dialects=DIALECTS,
                  sources=request.app.state.store.sources.names(), chosen=chosen, checked_statuses=statuses,
                  pseudonyms_ready=_has_secret(request.app.state.config))


def _has_secret(config: Config) -> bool:
    try:
        load_secret(config.privacy.secret_env)
    except SecretMissing:
        return False
    return True


@auth.login_required(Role.READER)
async def export_page(request: Request) -> Response:
    return _form(request)


@auth.login_required(Role.READER)
async def download(request: Request) -> Response:
    config: Config = request.app.state.config
    themes = request.app.state.themes.labels()
    try:
        options = export_options(request.query_params)
        options.check(themes=[t[0] for t in themes] or None, sources=request.app.state.store.sources.names())
        secret = load_secret(config.privacy.secret_env) if options.pseudonymize else None
    except ExportError as e:
        return _form(request, 400, str(e))
    except SecretMissing:
        return _form(request, 400, NO_PSEUDONYM_KEY)
    labels = {t[0]: t[1] for t in themes}
    file = await run_in_threadpool(_write, config, options, secret, labels)
    name = f"ideeen-{datetime.now(AMSTERDAM):%Y%m%d-%H%M}.{options.format}"
    return StreamingResponse(_chunks(file), media_type=MEDIA_TYPES[options.format],
                             headers={"content-disposition": f'attachment; filename="{name}"'})


def _write(config: Config, options: ExportOptions, secret: bytes | None, labels: dict[str, str]) -> IO[bytes]:
    file = tempfile.TemporaryFile()
    try:
        with Store(config.db_path, migrate=False) as store:
            write_export(store, options, file, secret=secret, labels=labels)
    except BaseException:
        file.close()
        raise
    file.seek(0)
    return file


def _chunks(file: IO[bytes]) -> Iterator[bytes]:
    with file:
        while chunk := file.read(CHUNK):
            yield chunk


def routes() -> list[Route]:
    return [
        Route("/export", export_page, methods=["GET"]),
        Route("/export/download", download, methods=["GET"]),
    ]
