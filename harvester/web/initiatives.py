"""The "Initiatieven" pages: every initiative with its counts and network, one initiative's posts,
and the candidates editors confirm or dismiss.

Thin: the counts, edges and candidates come from the store as the matching step left them
(harvester.initiatives.step); this module only lays out the network (once per summary) and
records decisions. Everyone logged in may look; only a redacteur may decide.
"""

from __future__ import annotations

import itertools
import logging
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from ..initiatives import step
from ..initiatives.catalogue import Catalogue, Decision, InitiativesError, TermKind, slug, squash
from ..initiatives.network import Drawing, drawing, graph
from ..models import InitiativeStats, Role
from ..store.initiatives import AlreadyDecided, DecisionRow
from . import auth, params as parse
from .views import render

log = logging.getLogger(__name__)

PAGE_SIZE = 50
CANDIDATES_SHOWN = 200
MAX_NAME = 100
KIND_LABELS = {TermKind.NAME: "Naam", TermKind.HASHTAG: "Hashtag", TermKind.ACCOUNT: "Account",
               TermKind.DOMAIN: "Domein"}
DECISION_LABELS = {Decision.CONFIRMED: "bevestigd als nieuw initiatief", Decision.ALIAS: "toegevoegd aan",
                   Decision.DISMISSED: "afgewezen"}
# addresses under /initiatieven/ that are pages of their own, not an initiative's
OWN_PAGES = {"kandidaten"}


def _catalogue(request: Request) -> Catalogue | None:
    """The catalogue with the editors' decisions; None if the file is unusable (the page says so)."""
    try:
        return step.catalogue(request.app.state.store, request.app.state.config)
    except InitiativesError as e:
        log.warning("initiatieven niet geladen: %s", e)
        return None


def _addresses(catalogue: Catalogue | None, stats: list[InitiativeStats]) -> dict[str, str]:
    """Each initiative's page address under /initiatieven/: its slug, unless that is one of our own
    pages (an initiative called Kandidaten): then the slug with the first free '-2', '-3', ….
    Slugs of different initiatives differ (their names do, run together), so these do too."""
    names = list(dict.fromkeys([*(catalogue.names() if catalogue else ()), *(s.initiative for s in stats)]))
    taken = OWN_PAGES | {slug(name) for name in names}
    addresses = {}
    for name in names:
        address = slug(name)
        if address in OWN_PAGES:
            address = next(f"{address}-{n}" for n in itertools.count(2) if f"{address}-{n}" not in taken)
            taken.add(address)
        addresses[name] = address
    return addresses


def _network(request: Request, stats: list[InitiativeStats]) -> Drawing:
    """The network's drawing, laid out once per summary (the layout is the costly part)."""
    store = request.app.state.store
    key = store.initiatives.summarised_at()
    cached = getattr(request.app.state, "initiatives_drawing", None)
    if cached is None or cached[0] != key or key is None:
        cached = request.app.state.initiatives_drawing = (key, drawing(graph(stats, store.initiatives.edges())))
    return cached[1]


@auth.login_required(Role.READER)
async def overview(request: Request) -> Response:
    store = request.app.state.store
    catalogue = _catalogue(request)
    stats = store.initiatives.stats()
    counted = {s.initiative for s in stats}
    quiet = [i for i in (catalogue.initiatives if catalogue else ()) if i.name not in counted]
    drawn = _network(request, stats)
    return render(request, "initiatives.html", stats=stats, quiet=quiet, drawing=drawn,
                  edges=store.initiatives.edges(), summarised_at=store.initiatives.summarised_at(),
                  broken=catalogue is None, candidates=store.initiatives.candidate_count(),
                  address_of=_addresses(catalogue, stats))


@auth.login_required(Role.READER)
async def initiative_page(request: Request) -> Response:
    store = request.app.state.store
    catalogue = _catalogue(request)
    wanted = request.path_params["slug"]
    all_stats = store.initiatives.stats()
    address_of = _addresses(catalogue, all_stats)
    name = next((name for name, address in address_of.items() if address == wanted), None)
    if name is None:
        return render(request, "error.html", 404, message="Dit initiatief staat niet (meer) in de lijst.")
    initiative = next((i for i in catalogue.initiatives if i.name == name), None) if catalogue else None
    stats = next((s for s in all_stats if s.initiative == name), None)
    before = _cursor(request.query_params.get("voor"))
    posts = store.initiatives.posts_of(name, limit=PAGE_SIZE + 1, before=before)
    more = len(posts) > PAGE_SIZE
    posts = posts[:PAGE_SIZE]
    next_url = (f"/initiatieven/{wanted}?{urlencode({'voor': f'{posts[-1].published}|{posts[-1].post_id}'})}"
                if more else None)
    links = [(e.target if e.source == name else e.source, e) for e in store.initiatives.edges() if name in (e.source, e.target)]
    return render(request, "initiative.html", name=name, initiative=initiative, stats=stats, posts=posts,
                  next_url=next_url, first_page=before is None, links=links, kind_labels=KIND_LABELS,
                  address_of=address_of)


def _cursor(value: str | None) -> tuple[str, int] | None:
    """'published|post id' of the last post on the previous page, as the page's own link writes it;
    anything else is a 400 (`parse`), like the queue's cursor, rather than a silent first page."""
    if not value:
        return None
    published, separator, post_id = value.rpartition("|")
    if not separator:
        raise parse.BadParameter("De paginaverwijzing (voor) is ongeldig; begin opnieuw op de eerste pagina.")
    return published[:40], parse.integer(post_id, "Het postnummer in de paginaverwijzing (voor)", minimum=1)


@auth.login_required(Role.READER)
async def candidates(request: Request) -> Response:
    return _candidates_page(request)


def _candidates_page(request: Request, message: str = "", problem: bool = False, status_code: int = 200) -> Response:
    store = request.app.state.store
    catalogue = _catalogue(request)
    decisions = store.initiatives.decisions()
    if not message:
        message = _decided_message(request.query_params, decisions)
    return render(request, "initiative_candidates.html", status_code, message=message, problem=problem,
                  rows=store.initiatives.candidates(limit=CANDIDATES_SHOWN),
                  names=sorted(catalogue.names(), key=str.casefold) if catalogue else [],
                  decisions=decisions, kind_labels=KIND_LABELS, decision_labels=DECISION_LABELS,
                  waiting={(d.kind, d.term) for d in catalogue.unapplied} if catalogue else set(), max_name=MAX_NAME)


def _decided_message(params, decisions: list[DecisionRow]) -> str:
    """What the decision just taken did, after the redirect to this page. The address names the
    decision by kind and term, and the words come from the stored decision: an address from a link
    someone else wrote cannot put its own words in the app's message."""
    besluit, kind, term = params.get("besluit"), params.get("soort", ""), params.get("term", "")
    if besluit == "undo":
        if any((d.kind, d.term) == (kind, term) for d in decisions):
            return ""
        return "Het besluit is ongedaan gemaakt; de posts worden bij de volgende ronde opnieuw gekoppeld."
    decided = next((d for d in decisions if (d.kind, d.term) == (kind, term) and d.decision == besluit), None)
    if decided is None:
        return ""
    if decided.decision == Decision.DISMISSED:
        return f"{decided.label}: {DECISION_LABELS[decided.decision]}."
    return (f"{decided.label}: {DECISION_LABELS[decided.decision]} {decided.initiative}. De posts worden bij de "
            "volgende ronde van de achtergrondtaak opnieuw gekoppeld.")


@auth.login_required(Role.EDITOR)
async def decide(request: Request) -> Response:
    form = await request.form()
    store = request.app.state.store
    kind, term, action = str(form.get("kind", "")), str(form.get("term", "")), str(form.get("action", ""))
    if action == "undo":
        undone = store.initiatives.undo(kind, term, request.state.user)
        if undone is None:
            return _candidates_page(request, "Dit besluit bestaat niet (meer); laad de pagina opnieuw.", True, 404)
        return RedirectResponse(f"/initiatieven/kandidaten?{urlencode({'besluit': 'undo', 'soort': kind, 'term': term})}",
                                status_code=303)
    candidate = store.initiatives.candidate(kind, term) if TermKind.has(kind) else None
    if candidate is None:
        return _candidates_page(request, "Deze kandidaat bestaat niet (meer); laad de pagina opnieuw.", True, 404)
    catalogue = _catalogue(request)
    if catalogue is None:
        return _candidates_page(request, "Het bestand met initiatieven is onbruikbaar; vraag de beheerder het te "
                                         "herstellen.", True, 503)
    initiative: str | None = None
    if action == "confirm":
        initiative = " ".join(str(form.get("name", "")).split())
        if not squash(initiative) or len(initiative) > MAX_NAME:
            return _candidates_page(request, f"Geef het nieuwe initiatief een naam van hoogstens {MAX_NAME} tekens.",
                                    True, 400)
        known = catalogue.named(initiative)
        if known is not None:
            also = "" if squash(known.name) == squash(initiative) else f" (als {initiative})"
            return _candidates_page(request, f"{known.name} staat al in de lijst{also}: kies ‘toevoegen aan’ om "
                                             "dit als alias toe te voegen.", True, 400)
        decision = Decision.CONFIRMED
    elif action == "alias":
        chosen = catalogue.named(str(form.get("initiative", "")))
        if chosen is None:
            return _candidates_page(request, "Kies het initiatief waar dit bij hoort.", True, 400)
        initiative = chosen.name
        decision = Decision.ALIAS
    elif action == "dismiss":
        decision = Decision.DISMISSED
    else:
        return _candidates_page(request, "Onbekende actie.", True, 400)
    try:
        store.initiatives.decide(kind, term, candidate.label, decision, initiative, request.state.user)
    except AlreadyDecided:
        return _candidates_page(request, f"Niet opgeslagen: over {candidate.label} is intussen al beslist.", True, 409)
    query = {"besluit": decision.value, "soort": kind, "term": term}
    return RedirectResponse(f"/initiatieven/kandidaten?{urlencode(query)}", status_code=303)


def routes() -> list[Route]:
    return [
        Route("/initiatieven", overview, methods=["GET"]),
        Route("/initiatieven/kandidaten", candidates, methods=["GET"]),
        Route("/initiatieven/kandidaten", decide, methods=["POST"]),
        Route("/initiatieven/{slug}", initiative_page, methods=["GET"]),
    ]
