"""Posts, classifications and accounts for the review-app tests, stored the way the pipeline stores them."""

from __future__ import annotations

from harvester.models import Author, Classification, Post
from harvester.store import Store
from harvester.web.auth import hash_password

PASSWORD = "geheim-wachtwoord-1"


def add_post(store: Store, n: int, text: str = "", *, html: str | None = None, source: str = "mastodon-nl",
             language: str = "nl", published_at: str | None = None, scores: dict[str, float] | None = None,
             confidence: float | None = 0.5, author: str | None = "ambtenaar@mastodon.nl",
             author_name: str = "Ambtenaar") -> int:
    """Store post number `n` as seen on `source`, classified with `scores` (themes >= 0.5 assigned).
    Without `author` no author row is written: what a test of an old schema can still store."""
    text = text or f"Idee {n}: laat teams zelf experimenteren met nieuwe werkvormen #innoverheid"
    src = store.sources.get(source) or store.sources.sync(source, "mastodon", "https://mastodon.example")
    post = Post(
        key=f"https://mastodon.example/@a/{n}", kind="mastodon", url=f"https://mastodon.example/@a/{n}",
        content_html=html if html is not None else f"<p>{text}</p>", text=text, language=language,
        published_at=published_at or f"2026-11-{1 + n % 20:02d}T10:{n % 60:02d}:00+00:00",
        tags=("innoverheid",), author=Author(author, display_name=author_name) if author else None,
    )
    store.posts.upsert(post, src.id)
    post_id = store.db.execute("SELECT id FROM posts WHERE key = ?", [post.key]).fetchone()[0]
    if confidence is not None:
        scores = scores if scores is not None else {"cultuur": 0.8, "samenwerking": 0.3}
        store.classifications.save(post_id, Classification(
            scores=scores, assigned=tuple(t for t, s in scores.items() if s >= 0.5),
            reasons={t: ["experimenteren", "teams"] for t in scores}, language=language,
            is_dutch=language == "nl", confidence=confidence, model_version="test-1",
        ))
    return post_id


def add_user(store: Store, name: str, role: str, password: str = PASSWORD):
    return store.users.add(name, role, hash_password(password))


def write_web_config(directory, *, https: bool = False):
    """A config for the review app with its database in `directory` and the project's themes."""
    from pathlib import Path

    from harvester.config import load_config

    root = Path(__file__).resolve().parent.parent
    path = Path(directory) / "harvester.toml"
    path.write_text(
        f'[database]\npath = "{Path(directory) / "harvester.db"}"\n'
        f'[nlp]\nthemes = "{root / "config" / "themes.toml"}"\n'
        f'[web]\nhttps = {"true" if https else "false"}\n',
        encoding="utf-8",
    )
    return load_config(path)


def login(client, name: str, password: str = PASSWORD):
    """Log an httpx client in through the login form; returns the session's CSRF token."""
    import re

    page = client.get("/login")
    token = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    response = client.post("/login", data={"csrf": token, "name": name, "password": password, "next": "/"},
                           follow_redirects=False)
    assert response.status_code == 303, response.text
    return csrf_of(client.get("/").text)


def csrf_of(html: str) -> str:
    import re

    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


def start_site(directory, users: dict[str, str], posts: int = 0):
    """A running review app on a fresh database in `directory`: accounts {name: role} with PASSWORD,
    and posts 1..`posts`; returns (ServerThread, config). Stop the server when done."""
    from harvester.web import ServerThread

    config = write_web_config(directory)
    with Store(config.db_path) as store:
        for name, role in users.items():
            add_user(store, name, role)
        for n in range(1, posts + 1):
            add_post(store, n)
    return ServerThread(config).start(), config
