"""Related ideas and idea groups in the review app.

A post's page lists the ideas of other authors that say much the same (harvester.related) and the
group the post is in; the queue loads the same list per post on request (`/posts/{id}/verwant`).
Editors mark posts as one idea from either place (the queue's selection, or the related list) and
take them apart again; every change is kept in the group's audit trail (store/groups.py).
"""

from __future__ import annotations

from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from ..models import Role
from ..related import related_ideas
from ..store import Store
from ..store.groups import GroupError
from . import auth, params as parse, views   # views: called at run time (views imports related_context)

SHOWN = 5


def related_context(store: Store, post_id: int) -> dict:
    """What `_related.html` shows for a post: its related ideas, its group and the group's trail."""
    related = related_ideas(store, post_id, limit=SHOWN)
    group_id = store.groups.group_of(post_id)
    members = store.groups.members(group_id) if group_id else []
    items = {i.id: i for i in store.reviews.items([r.post_id for r in related] + members)}
    return {"related": [(r, items[r.post_id]) for r in related if r.post_id in items],
            "group_id": group_id, "group_members": [items[p] for p in members if p in items],
            "group_history": store.groups.history_of_post(post_id)}


@auth.login_required(Role.READER)
async def related_part(request: Request) -> Response:
    post_id = parse.post_id(request.path_params["post_id"])
    if request.headers.get("x-requested-with") != "fetch":   # without JavaScript: the post's own page
        return RedirectResponse(f"/posts/{post_id}#verwant-{post_id}", status_code=303)
    store = request.app.state.store
    item = store.reviews.item(post_id)
    if item is None:   # related.js puts the answer in the card: a short text, not a whole page
        return PlainTextResponse(f"Post {post_id} bestaat niet (meer).", status_code=404)
    return views.render(request, "_related.html", item=item, here=auth.safe_next(request.query_params.get("next"), "/"),
                  **related_context(store, post_id))


def _back(here: str, **message: object) -> RedirectResponse:
    base, _, fragment = here.partition("#")
    joiner = "&" if "?" in base else "?"
    return RedirectResponse(f"{base}{joiner}{urlencode(message)}" + (f"#{fragment}" if fragment else ""),
                            status_code=303)


@auth.login_required(Role.EDITOR)
async def group(request: Request) -> Response:
    """Mark the chosen posts as one idea: `posts` (ids), or the queue's `select` (id:version)."""
    form = await request.form()
    here = auth.safe_next(str(form.get("next", "")), "/")
    chosen = [parse.post_id(v) for v in form.getlist("posts")]
    chosen += [parse.post_id(str(v).partition(":")[0]) for v in form.getlist("select")]
    try:
        group_id = request.app.state.store.groups.group(chosen, request.state.user)
    except GroupError as e:
        return views.render(request, "error.html", 400, message=f"Niet gegroepeerd: {e}.")
    return _back(here, groep=group_id)


@auth.login_required(Role.EDITOR)
async def ungroup(request: Request) -> Response:
    """Take one post out of a group (`post`), or dissolve the group."""
    form = await request.form()
    here = auth.safe_next(str(form.get("next", "")), "/")
    group_id = parse.integer(request.path_params["group_id"], "De groep", minimum=1)
    post = parse.optional_integer(form.get("post"), "De post", minimum=1)
    try:
        request.app.state.store.groups.ungroup(group_id, request.state.user, None if post is None else [post])
    except GroupError as e:
        return views.render(request, "error.html", 400, message=f"Niet gewijzigd: {e}.")
    return _back(here, ontgroepeerd=group_id)


def routes() -> list[Route]:
    return [
        Route("/posts/{post_id:int}/verwant", related_part, methods=["GET"]),
        Route("/groepen", group, methods=["POST"]),
        Route("/groepen/{group_id:int}/opheffen", ungroup, methods=["POST"]),
    ]
