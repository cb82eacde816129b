"""The review app's pages and actions. Every route but the login page goes through `login_required`."""

from __future__ import annotations

import secrets
from urllib.parse import parse_qsl, urlencode

from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from ..dutch import counted
from ..learning import YOUNG_BELOW
from ..models import Action, Role, Status
from ..normalize import one_newline
from ..store.reviews import (
    REJECT_REASONS, NothingToUndo, QueueFilter, QueuePage, SearchError, StaleReview,
)
from ..store.users import UserExists, name_problem
from . import auth, params as parse
from .groups import related_context

PAGE_SIZE = 25
# query parameters that report what just happened; links from the page leave them off
NOTICES = ("after", "done", "stale", "zonder", "weg", "besloten", "actie", "naar", "bulkfout", "groep", "ontgroepeerd")
# the queue's filter as query parameters (a bulk decision over the filter carries them)
FILTER_PARAMS = ("status", "theme", "source", "lang", "from", "to", "q", "sort")
# a decision over a whole filter: asked to confirm above CONFIRM_ABOVE posts, refused above BULK_MAX
CONFIRM_ABOVE = 100
BULK_MAX = 2000
BULK_PROBLEMS = {"leeg": "Kies eerst posts (of alle posts op de pagina of onder het filter) en dan een actie.",
                 "reden": "Kies eerst een reden om af te wijzen.",
                 "teveel": f"Meer dan {BULK_MAX:,} posts onder dit filter: maak het filter nauwer en doe het in delen.".replace(",", ".")}
MAX_NOTE = 2000
LANGUAGES = {"nl": "Nederlands", "en": "Engels", "de": "Duits", "fr": "Frans"}
STATUS_LABELS = {Status.NEW: "Nieuw", Status.ACCEPTED: "Geaccepteerd", Status.REJECTED: "Afgewezen",
                 Status.DUPLICATE: "Duplicaat"}
REASON_LABELS = {"geen_idee": "Geen idee", "off_topic": "Off-topic", "spam": "Spam"}
ACTION_LABELS = {
    Action.ACCEPT: "geaccepteerd", Action.SET_THEMES: "thema's gekozen", Action.REJECT: "afgewezen",
    Action.DUPLICATE: "duplicaat", Action.NOTE: "notitie", Action.REOPEN: "teruggezet naar nieuw",
    Action.UNDO: "ongedaan gemaakt",
}
# the model's confidence (harvester.nlp.classifier.confidence), as a tooltip and in the help
CONFIDENCE_HELP = ("Zekerheid: hoe ver het twijfelachtigste thema van de grens ligt waarboven het model een thema "
                   "voorstelt. 0% betekent dat het model bij minstens één thema precies op de grens zit, 100% dat het "
                   "over elk thema zeker is. Bij een lage zekerheid is uw oordeel het hardst nodig. De percentages bij "
                   "de thema's zijn de scores van het model; boven de grens van een thema is het voorgesteld.")
SEARCH_HELP = ("Zoeken vindt ook andere vormen van een woord (gemeente vindt gemeenten en gemeentes); gemeente* "
               "vindt ook woorden die ermee beginnen (gemeentelijk, gemeenteraad); \"open data\" zoekt een zin; "
               "OR tussen twee woorden vindt het een of het ander; -woord laat posts met dat woord weg. "
               "Woorden naast elkaar moeten er allemaal in staan.")
ROLE_LABELS = {Role.READER: "Lezer (alleen lezen)", Role.EDITOR: "Redacteur (beoordelen)",
               Role.ADMIN: "Beheerder (ook accounts)"}


def render(request: Request, template: str, status_code: int = 200, **context) -> Response:
    app = request.app
    themes = app.state.themes.labels()
    context.update(
        user=getattr(request.state, "user", None), csrf=getattr(request.state, "csrf", ""),
        themes=themes, theme_labels={t[0]: t[1] for t in themes}, status_labels=STATUS_LABELS,
        reason_labels=REASON_LABELS, action_labels=ACTION_LABELS, path=request.url.path,
        confidence_help=CONFIDENCE_HELP, search_help=SEARCH_HELP, themes_problem=app.state.themes.problem,
    )
    return app.state.templates.TemplateResponse(request, template, context, status_code=status_code)


def is_fetch(request: Request) -> bool:
    """A request from the queue's script, which puts an HTML answer in place of the card and shows a
    plain-text one as a message: an error it gets must be text, not a whole page."""
    return request.headers.get("x-requested-with") == "fetch"


# ---- login ---------------------------------------------------------------------------------

async def login_page(request: Request) -> Response:
    if auth.current_user(request):
        return RedirectResponse(auth.safe_next(request.query_params.get("next")), status_code=303)
    return _login_form(request)


def _login_form(request: Request, error: str = "", name: str = "", status_code: int = 200,
                next_page: str | None = None) -> Response:
    """The login form; `next_page`: where a refused attempt was going (the form posted it), else the
    page's own `next` parameter."""
    token = request.cookies.get(auth.LOGIN_COOKIE) or secrets.token_urlsafe(32)
    response = render(request, "login.html", status_code, error=error, name=name, login_csrf=token,
                      next=auth.safe_next(next_page or request.query_params.get("next")))
    response.set_cookie(auth.LOGIN_COOKIE, token, path="/login", httponly=True, samesite="lax",
                        secure=request.app.state.config.web.https)
    return response


async def login(request: Request) -> Response:
    form = await request.form()
    if not auth.tokens_match(request.cookies.get(auth.LOGIN_COOKIE, ""), str(form.get("csrf", ""))):
        return PlainTextResponse("Geweigerd: het inlogformulier was verlopen. Laad de pagina opnieuw.", status_code=403)
    name, password = str(form.get("name", "")).strip(), str(form.get("password", ""))
    going = str(form.get("next", ""))
    store, throttle, gate = request.app.state.store, request.app.state.login_throttle, request.app.state.hash_gate
    client = auth.client_address(request)
    # checked and counted in one transaction before the hash runs, so concurrent guesses see each other
    attempt, wait = throttle.admit(store, name, client)
    if attempt is None:
        return _login_form(request, f"Te veel mislukte pogingen. Probeer het over {counted(wait, 'seconde', 'seconden')} opnieuw.",
                           name[:64], 429, going)
    if not gate.enter():
        throttle.not_tried(store, attempt)
        return _login_form(request, "Het is nu te druk om in te loggen. Probeer het over een paar seconden opnieuw.",
                           name[:64], 429, going)
    user = store.users.get(name)
    stored_hash = store.users.password_hash(user.id) if user else None
    ok = await gate.run(auth.check_password, stored_hash, password)
    if not ok or user is None or not user.active:
        return _login_form(request, "Naam of wachtwoord klopt niet.", name[:64], 401, going)
    throttle.succeeded(store, attempt, name, client)
    if auth.needs_rehash(stored_hash) and gate.enter():  # type: ignore[arg-type]
        store.users.set_password_hash(user.id, await gate.run(auth.hash_password, password))
    response = RedirectResponse(auth.safe_next(going), status_code=303)
    auth.set_session_cookie(response, auth.start_session(store, user), secure=request.app.state.config.web.https)
    response.delete_cookie(auth.LOGIN_COOKIE, path="/login")
    return response


@auth.login_required(Role.READER)
async def logout(request: Request) -> Response:
    response = RedirectResponse("/login", status_code=303)
    auth.end_session(request, response)
    return response


# ---- queue ---------------------------------------------------------------------------------

def _day(value: str | None, what: str) -> str | None:
    day = parse.day(value, what)
    return day.isoformat() if day else None


def queue_filter(params, default_sort: str = "date") -> QueueFilter:
    status = params.get("status", Status.NEW)
    return QueueFilter(
        status=None if status == "alle" else (status if Status.has(status) else Status.NEW),
        theme=params.get("theme") or None, source=params.get("source") or None,
        language=params.get("lang") or None, date_from=_day(params.get("from"), "Vanaf"),
        date_to=_day(params.get("to"), "Tot en met"),
        query=(params.get("q") or "").strip()[:200] or None,
        sort=params.get("sort") if params.get("sort") in ("date", "confidence") else default_sort,
    )


def learned_from(store) -> int:
    """Decisions the active model learned from (the configured model: none)."""
    active = store.models.active()
    return active.learned_from if active else 0


@auth.login_required(Role.READER)
async def queue(request: Request) -> Response:
    params = request.query_params
    store = request.app.state.store
    # while the model has learned from few decisions, the posts it is least sure of teach it most
    learned = learned_from(store)
    young = learned < YOUNG_BELOW
    # a search lists the newest matches first unless the editor chooses otherwise: least certain
    # first would check the search post by post along the confidence index, which on a million
    # posts takes seconds for a phrase, OR or word* (docs/benchmarks.md)
    young = young and not params.get("q", "").strip()
    flt = queue_filter(params, "confidence" if young else "date")
    search_problem = ""
    try:
        page = store.reviews.queue(flt, after=parse.cursor(params.get("after"), flt.sort), limit=PAGE_SIZE)
    except SearchError as e:
        page, search_problem = QueuePage([], None), str(e)
    kept = [(k, v) for k, v in params.multi_items() if k not in NOTICES and v]
    if "sort" not in params:   # the next page keeps this page's order, whatever the model learns meanwhile
        kept.append(("sort", flt.sort))
    next_url = f"/?{urlencode(kept + [('after', page.next_cursor)])}" if page.next_cursor else None
    bulk = None
    if params.get("done") is not None:
        bulk = (parse.optional_integer(params.get("done"), "done") or 0,
                parse.optional_integer(params.get("stale"), "stale") or 0,
                parse.optional_integer(params.get("zonder"), "zonder") or 0,
                parse.optional_integer(params.get("weg"), "weg") or 0)
    here = f"/?{urlencode(kept + ([('after', params['after'])] if params.get('after') else []))}"
    # least certain first lists (and counts, and decides over) classified posts only; newest first all
    newest_url = (f"/?{urlencode([(k, v) for k, v in kept if k in FILTER_PARAMS and k != 'sort'] + [('sort', 'date')])}"
                  if flt.sort == "confidence" else None)
    # a decision made without JavaScript lands on the next post; its message goes with that post
    landing = parse.optional_integer(params.get("naar"), "naar", minimum=1)
    landing_message = _decided_message(params, landing) if landing else ""
    if landing not in {i.id for i in page.items}:
        landing = None
    return render(request, "queue.html", items=page.items, flt=flt, next_url=next_url,
                  landing=landing, landing_message=landing_message, search_problem=search_problem,
                  counted=None if search_problem else request.app.state.counter.count(store, flt),
                  filter_query=urlencode([(k, v) for k, v in kept if k in FILTER_PARAMS]),
                  bulk_problem=BULK_PROBLEMS.get(params.get("bulkfout", "")),
                  first_url=f"/?{urlencode(kept)}", here=here, first_page=not params.get("after"), newest_url=newest_url,
                  sources=store.sources.names(), languages=LANGUAGES, bulk=bulk,
                  date_from=params.get("from", ""), date_to=params.get("to", ""),
                  young=(learned, YOUNG_BELOW) if young and "sort" not in params else None)


@auth.login_required(Role.READER)
async def post_page(request: Request) -> Response:
    post_id = parse.post_id(request.path_params["post_id"])
    store = request.app.state.store
    item = store.reviews.item(post_id)
    if item is None:
        return render(request, "error.html", 404, message=f"Post {post_id} bestaat niet (meer).")
    back = auth.safe_next(request.query_params.get("terug"), "/")
    here = f"/posts/{post_id}" + (f"?{urlencode({'terug': back})}" if back != "/" else "")
    return render(request, "post.html", item=item, history=store.reviews.history(post_id),
                  candidates=store.reviews.duplicate_candidates(post_id), here=here, back=back,
                  message=_decided_message(request.query_params, post_id), **related_context(store, post_id))


def _decided_message(params, post_id: int) -> str:
    """The message a no-JS decision leaves for the post it lands on (`besloten`, `actie`, `naar`)."""
    decided = parse.optional_integer(params.get("besloten"), "besloten", minimum=1)
    if decided is None or params.get("actie") not in ACTION_LABELS:
        return ""
    landing = parse.optional_integer(params.get("naar"), "naar", minimum=1) or decided
    if landing != post_id:
        return ""
    text = f"Post {decided}: {ACTION_LABELS[params['actie']]}."
    return text if landing == decided else f"{text} Dit is de volgende post."


@auth.login_required(Role.READER)
async def candidates(request: Request) -> Response:
    post_id = parse.post_id(request.path_params["post_id"])
    if not is_fetch(request):  # without JavaScript: the post's own page lists the candidates
        return RedirectResponse(f"/posts/{post_id}#kandidaten-kop-{post_id}", status_code=303)
    store = request.app.state.store
    item = store.reviews.item(post_id)
    if item is None:
        return PlainTextResponse("Deze post bestaat niet (meer).", status_code=404)
    return render(request, "_candidates.html", item=item, candidates=store.reviews.duplicate_candidates(post_id),
                  here=auth.safe_next(request.query_params.get("next"), f"/posts/{post_id}"))


# ---- decisions -----------------------------------------------------------------------------

@auth.login_required(Role.EDITOR)
async def decide(request: Request) -> Response:
    post_id = parse.post_id(request.path_params["post_id"])
    form = await request.form()
    store = request.app.state.store
    here = auth.safe_next(str(form.get("next", "")), f"/posts/{post_id}")
    known = request.app.state.themes.ids()
    themes = [str(t) for t in form.getlist("themes")]
    action = str(form.get("action", ""))
    # the card's theme toggles were in the form: no theme ticked means none, not "the suggestion"
    ticked = form.get("keuze") == "1"
    if action == "accept_without_theme":   # the editor confirmed it
        action, themes = Action.SET_THEMES, []
    version = parse.optional_integer(form.get("version"), "De versie")
    # read before deciding: a refused field after the decision was saved would say it was not
    next_post = parse.optional_integer(form.get("volgende"), "De volgende post", minimum=1)
    # the changed_at of the text the editor read: a text edited since is stale, like a colleague's decision
    seen = str(form.get("changed_at") or "") or None
    # a form sends CRLF for the textarea's line breaks, which its maxlength counts as one: a note that
    # fits the field must fit MAX_NOTE too
    note = one_newline(str(form.get("note", "")))
    reason = str(form.get("reason") or "")
    original = _original_of(form) if action == Action.DUPLICATE else None
    message, status_code, confirm_empty = "", 200, False
    if version is None or (known and any(t not in known for t in themes)):
        message, status_code = "Ongeldig formulier: laad de pagina opnieuw.", 400
    elif action == "note" and len(note) > MAX_NOTE:
        message, status_code = f"Een notitie heeft hoogstens {MAX_NOTE} tekens.", 400
    elif action == Action.REJECT and not reason:
        message, status_code = "Kies eerst een reden om af te wijzen.", 400
    elif action == Action.DUPLICATE and original is None:
        message, status_code = "Vul het nummer van de oorspronkelijke post in.", 400
    elif action == Action.ACCEPT and not themes and _nothing_to_accept(store, post_id, version, ticked):
        status_code, confirm_empty = 422, True
    else:
        try:
            store.reviews.decide(
                post_id, request.state.user, version, action, themes=themes, reason=reason or None,
                duplicate_of=original, note=note, seen=seen)
            message = f"Post {post_id}: {ACTION_LABELS[action]}."
        except StaleReview as e:
            message, status_code = _stale_message(e, request.state.user.name), 409
        except NothingToUndo:
            message, status_code = "Er is niets meer om ongedaan te maken.", 409
        except KeyError:
            gone = f"Post {post_id} bestaat niet (meer)."
            if is_fetch(request):   # app.js shows a short text as a message and keeps the card
                return PlainTextResponse(f"Niet opgeslagen: {gone}", status_code=404)
            return render(request, "error.html", 404, message=gone)
        except ValueError as e:
            message, status_code = f"Niet opgeslagen: {e}.", 400
    item = store.reviews.item(post_id)
    # a refused decision keeps what the editor typed, marked as not saved, over the stored state; the
    # note box is in the form of every button, so only the note action (the one that saves it) means
    # the editor typed it: after any other refusal the note shown is the stored one, a colleague's too
    typed = {}
    if status_code != 200 and item is not None:
        if action == "note" and (note.strip() or None) != item.review.note:
            typed["unsaved_note"] = note
        typed["unsaved_duplicate"] = str(form.get("duplicate_of") or "")[:20]
    if is_fetch(request):
        return render(request, "_item.html", status_code, item=item, here=here, message=message,
                      problem=status_code != 200, confirm_empty=confirm_empty, **typed,
                      next_post=next_post)
    if status_code == 200:
        # without JavaScript: back where the editor was, on the next post, with what was done
        landing = next_post or post_id
        return RedirectResponse(_with_params(here, {"besloten": post_id, "actie": action, "naar": landing})
                                + f"#post-{landing}", status_code=303)
    return render(request, "post.html", status_code, item=item, history=store.reviews.history(post_id),
                  candidates=store.reviews.duplicate_candidates(post_id), here=here, message=message,
                  problem=True, confirm_empty=confirm_empty, back=_back_link(here), **typed)


def _original_of(form) -> int | None:
    """The post a duplicate points to, or None when the field is empty or holds no post number:
    the editor is asked for it, rather than the store being asked about post None."""
    try:
        return parse.post_id(form.get("duplicate_of"))
    except parse.BadParameter:
        return None


def _nothing_to_accept(store, post_id: int, version: int | None, ticked: bool) -> bool:
    """An accept that would save no theme at all: the editor ticked none, or (a form without the
    toggles) the model suggested none. Asked about only while the post is as the editor saw it;
    otherwise the store reports the newer state."""
    if store.reviews.state(post_id).version != version:
        return False
    item = store.reviews.item(post_id)
    return item is not None and (ticked or not any(s.assigned for s in item.suggestions))


def _with_params(url: str, extra: dict) -> str:
    """`url` (a local path, maybe with a query and a fragment) with `extra` added to its query."""
    base = url.partition("#")[0]
    path, _, query = base.partition("?")
    kept = [(k, v) for k, v in parse_qsl(query, keep_blank_values=False) if k not in extra]
    return f"{path}?{urlencode(kept + [(k, str(v)) for k, v in extra.items()])}"


def _back_link(here: str) -> str:
    """Where "terug naar de wachtrij" goes from a post page: the queue with its filters, if it came from there."""
    path, _, query = here.partition("?")
    terug = dict(parse_qsl(query)).get("terug") if path.startswith("/posts/") else here
    return auth.safe_next(terug, "/")


def _stale_message(stale: StaleReview, editor: str) -> str:
    """Why a decision on an older state was not saved; `editor`: who made it (an old form of her own,
    from the back button or a second window, is not a colleague's change)."""
    if stale.edited:
        return ("Niet opgeslagen: de tekst van deze post is intussen gewijzigd (bijvoorbeeld door de auteur). "
                "Hieronder staat de nieuwe tekst; beslis opnieuw als dat nodig is.")
    current = stale.current
    who = ("u heeft deze post zelf intussen" if current.updated_by == editor
           else f"{current.updated_by or 'iemand anders'} heeft deze post intussen")
    return (f"Niet opgeslagen: {who} gewijzigd (nu: "
            f"{STATUS_LABELS[current.status].lower()}). Hieronder staat de nieuwe stand; beslis opnieuw als dat nodig is.")


@auth.login_required(Role.EDITOR)
async def bulk(request: Request) -> Response:
    """One decision on several posts: the ticked ones, all on the page, or all under the filter
    (with the number first, and a confirmation above CONFIRM_ABOVE posts)."""
    form = await request.form()
    here = auth.safe_next(str(form.get("next", "")), "/")
    store = request.app.state.store
    action = str(form.get("action", ""))
    if action not in ("accept", "reject", "reopen"):
        return render(request, "error.html", 400, message="Onbekende actie.", back=here)
    reason = str(form.get("reason") or "")
    if action == "reject" and reason not in REJECT_REASONS:
        return RedirectResponse(_with_params(here, {"bulkfout": "reden"}), status_code=303)
    scope = str(form.get("bereik") or "gekozen")
    if scope == "filter":
        try:
            versions = store.reviews.matching(queue_filter(dict(parse_qsl(str(form.get("filter", ""))))), BULK_MAX + 1)
        except SearchError as e:
            return render(request, "error.html", 400, message=str(e), back=here)
        if len(versions) > BULK_MAX:
            return RedirectResponse(_with_params(here, {"bulkfout": "teveel"}), status_code=303)
        if len(versions) > CONFIRM_ABOVE and form.get("bevestigd") != str(len(versions)):
            return render(request, "bulk_confirm.html", count=len(versions), form=form, action=action,
                          reason=reason, changed=bool(form.get("bevestigd")), back=here)
    else:
        versions = {}
        for value in form.getlist("pagina" if scope == "pagina" else "select"):
            post_id, _, version = str(value).partition(":")
            versions[parse.post_id(post_id)] = parse.integer(version, "De versie")
    # per post on the page the changed_at of the text shown: one edited since is skipped as stale
    # (over a filter the editor saw no texts: it decides on the posts as they are now)
    seen = {}
    for value in form.getlist("changed_at") if scope != "filter" else ():
        post_id, _, changed = str(value).partition(":")
        seen[parse.post_id(post_id)] = changed
    if not versions:   # back to the queue, which says what is missing
        return RedirectResponse(_with_params(here, {"bulkfout": "leeg"}), status_code=303)
    # the suggestion is saved with the configured themes only, as a decision one by one is (a model
    # trained before a theme was removed still suggests it); none configured: the file is unusable
    known = request.app.state.themes.ids() or None
    # accepting "the suggestion" of a post without one would save it without a theme, unasked:
    # those are left for the editor to decide one by one
    skipped = store.reviews.without_suggestion(versions, within=known) if action == "accept" else set()
    done, stale, gone = store.reviews.decide_many({k: v for k, v in versions.items() if k not in skipped},
                                                  request.state.user, action, seen=seen, within=known,
                                                  reason=reason or None)
    return RedirectResponse(_with_params(here, {"done": len(done), "stale": len(stale), "zonder": len(skipped),
                                                "weg": len(gone)}), status_code=303)


# ---- accounts ------------------------------------------------------------------------------

@auth.login_required(Role.ADMIN)
async def accounts(request: Request) -> Response:
    return _accounts_page(request)


def _accounts_page(request: Request, message: str = "", problem: bool = False, status_code: int = 200) -> Response:
    return render(request, "accounts.html", status_code, accounts=request.app.state.store.users.all(),
                  roles=list(Role), role_labels=ROLE_LABELS, message=message, problem=problem)


@auth.login_required(Role.ADMIN)
async def account_add(request: Request) -> Response:
    form = await request.form()
    name, role, password = str(form.get("name", "")).strip(), str(form.get("role", "")), str(form.get("password", ""))
    problem = name_problem(name) or auth.password_problem(password)
    if not problem and not Role.has(role):
        problem = "Kies een rol."
    if problem:
        return _accounts_page(request, problem, True, 400)
    gate = request.app.state.hash_gate
    if not gate.enter():
        return _accounts_page(request, "Het is nu te druk; probeer het over een paar seconden opnieuw.", True, 429)
    try:
        request.app.state.store.users.add(name, role, await gate.run(auth.hash_password, password))
    except UserExists as e:
        return _accounts_page(request, f"Er is al een account {e.name}.", True, 400)
    return _accounts_page(request, f"Account {name} ({role}) is aangemaakt.")


@auth.login_required(Role.ADMIN)
async def account_change(request: Request) -> Response:
    form = await request.form()
    name = request.path_params["name"]
    users = request.app.state.store.users
    action = str(form.get("action", ""))
    if name == request.state.user.name:
        return _accounts_page(request, "U kunt uw eigen account hier niet wijzigen.", True, 400)
    if users.get(name) is None:
        return _accounts_page(request, f"Account {name} bestaat niet.", True, 404)
    if action in ("disable", "enable"):
        users.set_disabled(name, action == "disable")
        return _accounts_page(request, f"Account {name} is {'uitgeschakeld' if action == 'disable' else 'weer actief'}.")
    if action == "role" and Role.has(form.get("role")):
        users.set_role(name, str(form.get("role")))
        return _accounts_page(request, f"Account {name} heeft nu de rol {form.get('role')}.")
    return _accounts_page(request, "Onbekende actie.", True, 400)


def routes() -> list[Route]:
    return [
        Route("/login", login_page, methods=["GET"]),
        Route("/login", login, methods=["POST"]),
        Route("/logout", logout, methods=["POST"]),
        Route("/", queue, methods=["GET"]),
        Route("/posts/{post_id:int}", post_page, methods=["GET"]),
        Route("/posts/{post_id:int}/candidates", candidates, methods=["GET"]),
        Route("/posts/{post_id:int}/decision", decide, methods=["POST"]),
        Route("/bulk", bulk, methods=["POST"]),
        Route("/accounts", accounts, methods=["GET"]),
        Route("/accounts", account_add, methods=["POST"]),
        Route("/accounts/{name}", account_change, methods=["POST"]),
    ]

