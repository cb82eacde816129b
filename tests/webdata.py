"""Posts, classifications and accounts for the review-app tests, stored the way the pipeline stores them."""

from __future__ import annotations

from harvester.models import Author, Classification, Post
from harvester.store import Store
from harvester.web.auth import hash_password

PASSWORD = "geheim-wachtwoord-1"


def add_post(store: Store, n: int, text: str = "", *, html: str | None = None, source: str = "mastodon-nl",
             language: str = "nl", published_at: str | None = None, scores: dict[str, float] | None = None,
             confidence: float | None = 0.5, author: str = "ambtenaar@mastodon.nl") -> int:
    """Store post number `n` as seen on `source`, classified with `scores` (themes >= 0.5 assigned)."""
    text = text or f"Idee {n}: laat teams zelf experimenteren met nieuwe werkvormen #innoverheid"
    src = store.sources.get(source) or store.sources.sync(source, "mastodon", "https://mastodon.example")
    post = Post(
        key=f"https://mastodon.example/@a/{n}", kind="mastodon", url=f"https://mastodon.example/@a/{n}",
        content_html=html if html is not None else f"<p>{text}</p>", text=text, language=language,
        published_at=published_at or f"2026-11-{1 + n % 20:02d}T10:{n % 60:02d}:00+00:00",
        tags=("innoverheid",), author=Author(author, display_name="Ambtenaar"),
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
