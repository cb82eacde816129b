"""A fake Mastodon instance on a LocalServer: tag timelines, statuses (batch and single), instance v2,
and the public tag feeds (`/tags/NAME.rss`).

It behaves the way Mastodon's own controllers do where the collector depends on it: ids compare as
numbers, a page is newest first also when paging with `min_id`, `Link` carries `rel="next"` only
after a full page and drops `any[]`, every answer has `X-RateLimit-*` headers and a `Date`, closed
timelines answer 422. Statuses are built from tests/data/mastodon/status.json, the documented
Status example, so every field a real server sends is there.
"""

from __future__ import annotations

import copy
import html
import json
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from xml.sax.saxutils import escape

from .localserver import LocalServer, Reply, Request

DATA = Path(__file__).resolve().parent / "data" / "mastodon"
STATUS = json.loads((DATA / "status.json").read_text(encoding="utf-8"))
INSTANCE_V2 = json.loads((DATA / "instance_v2.json").read_text(encoding="utf-8"))
NOT_FOUND = json.dumps({"error": "Record not found"})
AUTH_ERROR = json.dumps({"error": "This method requires an authenticated user"})


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def make_status(status_id: str, *, origin: str = "mastodon.nl", instance: str = "mastodon.nl",
                username: str = "annedv", origin_id: str | None = None, tags: tuple[str, ...] = ("innoverheid",),
                text: str = "Een idee voor de overheid", created_at: datetime | None = None,
                note: str | None = None, account: dict | None = None, **fields) -> dict:
    """A Status as `instance` shows it: `status_id` is its local id, `origin`/`origin_id` make the uri."""
    status = copy.deepcopy(STATUS)
    origin_id = origin_id or status_id
    status["id"] = status_id
    status["uri"] = f"https://{origin}/users/{username}/statuses/{origin_id}"
    status["url"] = f"https://{origin}/@{username}/{origin_id}"
    status["created_at"] = iso(created_at or datetime.now(UTC) - timedelta(hours=1))
    links = " ".join(   # remote content keeps its origin's HTML; `tags` point at the instance showing it
        f'<a href="https://{origin}/tags/{t}" class="mention hashtag" rel="tag">#<span>{t}</span></a>' for t in tags
    )
    status["content"] = f"<p>{html.escape(text)} {links}</p>"
    status["tags"] = [{"name": t.lower(), "url": f"https://{instance}/tags/{t.lower()}"} for t in tags]
    acct = username if origin == instance else f"{username}@{origin}"
    status["account"].update(
        id=str(abs(hash((username, origin))) % 10**6), username=username, acct=acct,
        display_name=username.capitalize(), url=f"https://{origin}/@{username}", uri=f"https://{origin}/users/{username}",
    )
    if note is not None:
        status["account"]["note"] = note
    status["account"].update(account or {})
    status.update(fields)
    return status


class FakeInstance:
    def __init__(self, server: LocalServer, tags: tuple[str, ...] = ("innoverheid", "lanceerplatform"), *,
                 domain: str = "mastodon.nl", closed: bool = False, token: str = "", batch_endpoint: bool = True,
                 skew: timedelta = timedelta(0)):
        self.server, self.domain = server, domain
        self.closed, self.token, self.batch_endpoint, self.skew = closed, token, batch_endpoint, skew
        self.statuses: dict[str, dict] = {}
        self.remaining = 300
        self.reset_after = timedelta(minutes=5)   # the rate-limit window ends this long after each answer
        self.delay = 0.0                          # seconds before each timeline answer (a slow server)
        self.honours_max_id = True                # False: always the newest page, as some servers answer
        self.hashtag_access: dict[str, str] | None = None   # timelines_access.hashtag_feeds, if not by `closed`
        self.version = "4.5.0"
        self.scripted: list[Reply] = []      # answers served before the real timeline (errors, 429, ...)
        for tag in tags:
            server.route(f"/api/v1/timelines/tag/{tag}", self.timeline)
            server.route(f"/tags/{tag}.rss", self.tag_feed)
        server.route("/api/v1/statuses", self.statuses_batch)
        server.route("/api/v2/instance", self.instance)

    @property
    def url(self) -> str:
        return self.server.base_url

    def add(self, *statuses: dict) -> None:
        for status in statuses:
            self.statuses[status["id"]] = status
            self.server.route(f"/api/v1/statuses/{status['id']}", self.single)

    def delete(self, status_id: str) -> None:
        del self.statuses[status_id]

    def timeline_requests(self) -> list[Request]:
        return [r for r in self.server.requests if r.path.startswith("/api/v1/timelines/tag/")]

    def now(self) -> datetime:
        return datetime.now(UTC) + self.skew

    def headers(self, **extra: str) -> dict[str, str]:
        """Date and rate-limit headers on the server's (possibly skewed) clock."""
        now = self.now()
        reset = now + self.reset_after
        self.remaining = max(self.remaining - 1, 0)
        return {"Content-Type": "application/json; charset=utf-8", "Date": format_datetime(now, usegmt=True),
                "X-RateLimit-Limit": "300", "X-RateLimit-Remaining": str(self.remaining),
                "X-RateLimit-Reset": reset.strftime("%Y-%m-%dT%H:%M:%S.%fZ"), **extra}

    def timeline(self, request: Request) -> Reply:
        if self.scripted:
            return self.scripted.pop(0)
        if self.closed and request.headers.get("Authorization") != f"Bearer {self.token}":
            return Reply(422, AUTH_ERROR, self.headers())
        q = request.query
        wanted = {request.path.rsplit("/", 1)[1], *q.get("any[]", [])}
        limit = min(int(q.get("limit", ["20"])[0]), 40)
        items = sorted(
            (s for s in self.statuses.values() if wanted & {t["name"] for t in (s.get("reblog") or s)["tags"]}),
            key=lambda s: int(s["id"]), reverse=True,
        )
        if "max_id" in q and self.honours_max_id:
            items = [s for s in items if int(s["id"]) < int(q["max_id"][0])]
        if "since_id" in q:
            items = [s for s in items if int(s["id"]) > int(q["since_id"][0])]
        if "min_id" in q:
            items = sorted((s for s in items if int(s["id"]) > int(q["min_id"][0])), key=lambda s: int(s["id"]))
            items = items[:limit][::-1]
        else:
            items = items[:limit]
        base = self.server.base_url + request.path
        links = []
        if len(items) == limit:   # like Mastodon: next only after a full page, and without any[]
            links.append(f'<{base}?limit={limit}&max_id={items[-1]["id"]}>; rel="next"')
        if items:
            links.append(f'<{base}?limit={limit}&min_id={items[0]["id"]}>; rel="prev"')
        extra = {"Link": ", ".join(links)} if links else {}
        return Reply(200, json.dumps(items), self.headers(**extra), delay=self.delay)

    def tag_feed(self, request: Request) -> Reply:
        """The RSS Mastodon's tags/show.rss.ruby builds: the tag's statuses, remote ones too (without
        `?local=true`), newest first, each named by `url_for(status)`, its web address or else its uri
        (`item.link` writes both `guid isPermaLink` and `link`), no author."""
        tag = request.path.rsplit("/", 1)[1].removesuffix(".rss")
        shown = sorted((s for s in self.statuses.values() if not s.get("reblog")
                        and tag in {t["name"] for t in s["tags"]}), key=lambda s: int(s["id"]), reverse=True)
        items = "".join(
            f"<item><guid isPermaLink=\"true\">{escape(s['url'] or s['uri'])}</guid>"
            f"<link>{escape(s['url'] or s['uri'])}</link>"
            f"<pubDate>{format_datetime(datetime.fromisoformat(s['created_at']))}</pubDate>"
            f"<description>{escape(s['content'])}</description>"
            + "".join(f"<category>{escape(t['name'])}</category>" for t in s["tags"]) + "</item>"
            for s in shown[:20]
        )
        body = (f'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>#{tag}</title>'
                f"<link>https://{self.domain}/tags/{tag}</link><generator>Mastodon v{self.version}</generator>"
                f"{items}</channel></rss>")
        return Reply(200, body, {"Content-Type": "application/rss+xml; charset=utf-8"})

    def statuses_batch(self, request: Request) -> Reply:
        if not self.batch_endpoint:
            return Reply(404, NOT_FOUND, self.headers())
        found = [self.statuses[i] for i in request.query.get("id[]", []) if i in self.statuses]
        return Reply(200, json.dumps(found), self.headers())

    def single(self, request: Request) -> Reply:
        status = self.statuses.get(request.path.rsplit("/", 1)[1])
        if status is None:
            return Reply(404, NOT_FOUND, self.headers())
        return Reply(200, json.dumps(status), self.headers())

    def instance(self, request: Request) -> Reply:
        body = copy.deepcopy(INSTANCE_V2)
        level = "authenticated" if self.closed else "public"
        body["configuration"]["timelines_access"]["hashtag_feeds"] = self.hashtag_access or {"local": level, "remote": level}
        if self.version < "4.5":       # timelines_access came with Mastodon 4.5
            del body["configuration"]["timelines_access"]
        body["version"] = self.version
        return Reply(200, json.dumps(body), self.headers())
