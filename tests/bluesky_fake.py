"""A fake Bluesky service on a LocalServer: sign-in, session refresh, post search and getPosts.

It answers in the shapes of the lexicons where the collector depends on them: `createSession` and
`refreshSession` give an access and a refresh token (a refresh token works once: it is rotated);
an expired access token gets HTTP 400 `ExpiredToken`, a wrong password 401
`AuthenticationRequired`; `searchPosts` AND-s its `tag` parameters, sorts by the earlier of
`indexedAt` and `createdAt` (the AppView's sortAt), honours `since` (inclusive) and `until`
(exclusive), and pages with an offset `cursor` that is only there while more posts follow (with
`page_depth`, only within that many results: the lexicon allows a cursor that stops before the
last result; `honours_until = False` plays a service that ignores `until`);
`getPosts` leaves out posts that were deleted. Every answer has `RateLimit-*` headers (the reset
as a Unix time) and a `Date`. Post views are built from tests/data/bluesky/post_view.json.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

from .localserver import LocalServer, Reply, Request

DATA = Path(__file__).resolve().parent / "data" / "bluesky"
POST_VIEW = json.loads((DATA / "post_view.json").read_text(encoding="utf-8"))
XRPC = "/xrpc/"
TOKEN = re.compile(r"(#\w+)|(@[\w.-]+\w)|(https?://\S+)")


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def did_of(handle: str) -> str:
    """A stable did:plc for a handle (base32 letters, 24 of them, like the real ones)."""
    digest = hashlib.sha256(handle.encode()).digest()
    return "did:plc:" + "".join("abcdefghijklmnopqrstuvwxyz234567"[b % 32] for b in digest[:24])


def facets_for(text: str) -> list[dict]:
    """Facets as a Bluesky client makes them: #tags, @mentions and links, by UTF-8 byte range."""
    facets = []
    for m in TOKEN.finditer(text):
        start, end = len(text[:m.start()].encode()), len(text[:m.end()].encode())
        tag, mention, link = m.groups()
        if tag:
            feature = {"$type": "app.bsky.richtext.facet#tag", "tag": tag[1:]}
        elif mention:
            feature = {"$type": "app.bsky.richtext.facet#mention", "did": did_of(mention[1:])}
        else:
            feature = {"$type": "app.bsky.richtext.facet#link", "uri": link}
        facets.append({"$type": "app.bsky.richtext.facet", "index": {"byteStart": start, "byteEnd": end},
                       "features": [feature]})
    return facets


def make_post(rkey: str, *, handle: str = "marieke.bsky.social", text: str = "Een idee voor de overheid #innoverheid",
              created_at: datetime | None = None, indexed_after: timedelta = timedelta(seconds=1),
              display_name: str | None = None, author_labels: tuple[str, ...] = (), langs: tuple[str, ...] = ("nl",),
              facets: list | None = None, record: dict | None = None) -> dict:
    """A postView of `handle`'s post `rkey`; facets come from the text unless given."""
    view = copy.deepcopy(POST_VIEW)
    did = did_of(handle)
    created = created_at or datetime.now(UTC) - timedelta(hours=1)
    view["uri"] = f"at://{did}/app.bsky.feed.post/{rkey}"
    view["author"].update(did=did, handle=handle, displayName=display_name or handle.split(".")[0].capitalize(),
                          labels=[{"src": did, "uri": f"at://{did}/app.bsky.actor.profile/self", "val": v,
                                   "cts": "2026-01-01T00:00:00.000Z"} for v in author_labels])
    view["record"] = {"$type": "app.bsky.feed.post", "createdAt": iso(created), "langs": list(langs), "text": text,
                      "facets": facets_for(text) if facets is None else facets, **(record or {})}
    view["indexedAt"] = iso(created + indexed_after)
    return view


def sort_at(view: dict) -> datetime:
    """The AppView's sort time: the earlier of indexing and creation (indexing alone without a creation time)."""
    created = view["record"].get("createdAt")
    indexed = datetime.fromisoformat(view["indexedAt"])
    return min(indexed, datetime.fromisoformat(created)) if created else indexed


def tags_of(view: dict) -> set[str]:
    record = view["record"]
    facet_tags = {f["tag"].lower() for facet in record.get("facets") or [] for f in facet["features"]
                  if f["$type"].endswith("#tag")}
    return facet_tags | {t.lower() for t in record.get("tags") or []}


class FakeBluesky:
    def __init__(self, server: LocalServer, *, handle: str = "harvester.bsky.social", password: str = "abcd-efgh-ijkl-mnop"):
        self.server, self.handle, self.password = server, handle, password
        self.posts: dict[str, dict] = {}            # by uri
        self.access: set[str] = set()               # valid access tokens
        self.refresh: set[str] = set()              # valid refresh tokens (each works once)
        self.issued = 0
        self.remaining = 3000
        self.reset_after = timedelta(minutes=5)
        self.scripted: list[Reply] = []             # answers served before the real search (errors, 429, ...)
        self.delay = 0.0                            # seconds before each search answer
        self.page_depth: int | None = None          # no cursor beyond this many results
        self.honours_until = True
        for nsid, handler in {
            "com.atproto.server.createSession": self.create_session,
            "com.atproto.server.refreshSession": self.refresh_session,
            "app.bsky.feed.searchPosts": self.search_posts,
            "app.bsky.feed.getPosts": self.get_posts,
        }.items():
            server.route(XRPC + nsid, handler)

    @property
    def url(self) -> str:
        return self.server.base_url

    def add(self, *views: dict) -> None:
        for view in views:
            self.posts[view["uri"]] = view

    def delete(self, uri: str) -> None:
        del self.posts[uri]

    def expire_access_tokens(self) -> None:
        self.access.clear()

    def calls(self, nsid: str) -> list[Request]:
        return self.server.requests_to(XRPC + nsid)

    def headers(self) -> dict[str, str]:
        now = datetime.now(UTC)
        self.remaining = max(self.remaining - 1, 0)
        return {"Content-Type": "application/json; charset=utf-8", "Date": format_datetime(now, usegmt=True),
                "RateLimit-Limit": "3000", "RateLimit-Remaining": str(self.remaining),
                "RateLimit-Reset": str(int((now + self.reset_after).timestamp())), "RateLimit-Policy": "3000;w=300"}

    def error(self, status: int, name: str, message: str) -> Reply:
        return Reply(status, json.dumps({"error": name, "message": message}), self.headers())

    def _session(self) -> Reply:
        self.issued += 1
        access, refresh = f"access-{self.issued}", f"refresh-{self.issued}"
        self.access.add(access)
        self.refresh.add(refresh)
        return Reply(200, json.dumps({"did": did_of(self.handle), "handle": self.handle, "email": "redactie@example.org",
                                      "emailConfirmed": True, "active": True, "accessJwt": access,
                                      "refreshJwt": refresh}), self.headers())

    def create_session(self, request: Request) -> Reply:
        if request.method != "POST":
            return self.error(400, "InvalidRequest", "Incorrect HTTP method (GET) expected POST")
        body = json.loads(request.body or b"{}")
        if body.get("identifier") != self.handle or body.get("password") != self.password:
            return self.error(401, "AuthenticationRequired", "Invalid identifier or password")
        return self._session()

    def refresh_session(self, request: Request) -> Reply:
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        if token not in self.refresh:
            return self.error(400, "ExpiredToken", "Token has expired")
        self.refresh.discard(token)
        return self._session()

    def _authorised(self, request: Request) -> Reply | None:
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        if not token:
            return self.error(401, "AuthenticationRequired", "Authentication Required")
        if token not in self.access:
            return self.error(400, "ExpiredToken", "Token has expired")
        return None

    def search_posts(self, request: Request) -> Reply:
        if self.scripted:
            return self.scripted.pop(0)
        refused = self._authorised(request)
        if refused:
            return refused
        q = request.query
        limit = min(int(q.get("limit", ["25"])[0]), 100)
        wanted = {t.lower() for t in q.get("tag", [])}
        hits = [v for v in self.posts.values() if wanted <= tags_of(v)]
        if "since" in q:
            hits = [v for v in hits if sort_at(v) >= datetime.fromisoformat(q["since"][0])]
        if "until" in q and self.honours_until:
            hits = [v for v in hits if sort_at(v) < datetime.fromisoformat(q["until"][0])]
        hits.sort(key=lambda v: (sort_at(v), v["uri"]), reverse=True)
        offset = int(q.get("cursor", ["0"])[0])
        page = hits[offset:offset + limit]
        body: dict = {"posts": page, "hitsTotal": len(hits)}
        if offset + limit < min(len(hits), self.page_depth or len(hits)):
            body["cursor"] = str(offset + limit)
        reply = Reply(200, json.dumps(body), self.headers())
        reply.delay = self.delay
        return reply

    def get_posts(self, request: Request) -> Reply:
        refused = self._authorised(request)
        if refused:
            return refused
        uris = request.query.get("uris", [])
        if len(uris) > 25:
            return self.error(400, "InvalidRequest", 'Error: Params must have the property "uris" with at most 25 items')
        return Reply(200, json.dumps({"posts": [self.posts[u] for u in uris if u in self.posts]}), self.headers())
