"""The editors' guide as a page of the app (`/handleiding`), linked from the help window.

The guide is written once, as docs/redactie.md, for the repository and the app alike; the wheel
carries it as harvester/guide/redactie.md (pyproject.toml maps the package to docs/). It is
rendered from Markdown once per process, with raw HTML switched off.
"""

from __future__ import annotations

import functools
from pathlib import Path

from markdown_it import MarkdownIt
from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..models import Role
from . import auth
from .views import render

_PACKAGE = Path(__file__).resolve().parent.parent
GUIDE = (_PACKAGE / "guide" if (_PACKAGE / "guide").is_dir() else _PACKAGE.parent / "docs") / "redactie.md"


@functools.cache
def guide_html() -> Markup:
    """docs/redactie.md as HTML (its title becomes the page's heading)."""
    renderer = MarkdownIt("commonmark", {"html": False}).enable("table")
    return Markup(renderer.render(GUIDE.read_text(encoding="utf-8")))


@auth.login_required(Role.READER)
async def guide(request: Request) -> Response:
    return render(request, "guide.html", guide=guide_html())


def routes() -> list[Route]:
    return [Route("/handleiding", guide)]
