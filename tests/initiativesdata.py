"""Posts that name initiatives, written the way Dutch civil servants write on Mastodon and in blogs,
stored the way the collectors store them (HTML through harvester.normalize.extract)."""

from __future__ import annotations

from harvester.models import Author, Post
from harvester.normalize import extract
from harvester.store import Store

# (author, HTML as a Mastodon instance or a blog feed sends it)
POSTS = [
    ("marieke@social.overheid.nl",
     '<p>Gisteren bij het Slimmernetwerk Café in Utrecht: veel vernieuwers, weinig powerpoint. Volgende keer '
     'sluiten de Ynnovators aan. Wie durft? <a href="https://mastodon.nl/tags/innoverheid" class="mention hashtag" '
     'rel="tag">#<span>innoverheid</span></a></p>'),
    ("marieke@social.overheid.nl",
     '<p>Nog even nagenieten van de Stampijfabriek. De vraag was: hoe vergroten we de impact met factor 100? '
     'Mijn antwoord: samenwerken met <span class="h-card"><a href="https://mastodon.nl/@ynnovate" class="u-url mention">'
     '@<span>ynnovate</span></a></span> en de Grand Parade. <a href="https://mastodon.nl/tags/innoverheid" '
     'class="mention hashtag" rel="tag">#<span>innoverheid</span></a> <a href="https://mastodon.nl/tags/GrandParade" '
     'class="mention hashtag" rel="tag">#<span>GrandParade</span></a></p>'),
    ("jeroen@mastodon.nl",
     '<p>Ruimte voor de professional begint bij jezelf. Daarom doen wij mee aan de Doetank van '
     '<a href="https://mastodon.nl/tags/BeterWerken" class="mention hashtag" rel="tag">#<span>BeterWerken</span></a>. '
     'Het charter staat op <a href="https://www.kl.nl/nieuws/oproep-charter-innovatieve-overheid/">'
     'kl.nl/nieuws/oproep-charter</a> <a href="https://mastodon.nl/tags/lanceerplatform" class="mention hashtag" '
     'rel="tag">#<span>lanceerplatform</span></a></p>'),
    ("jeroen@mastodon.nl",
     '<p>Het was puur toeval dat ik de collega&#39;s van PUUR tegenkwam op de VOM-dag. Samen met Ambtenaar 2.0 '
     'gaan we een dag meelopen buiten de overheid. Ook de Grand Parade kwam ter sprake. '
     '<a href="https://mastodon.nl/tags/GrandParade" class="mention hashtag" rel="tag">#<span>GrandParade</span></a> '
     '<a href="https://mastodon.nl/tags/innoverheid" class="mention hashtag" rel="tag">#<span>innoverheid</span></a></p>'),
    ("https://ambtenaarblog.example/over",
     "<p>In mijn gemeente hebben we het charter besproken met het MT. Wat ik meenam: sluit aan bij bestaande "
     "netwerken zoals Ambtenaren Netwerk Nederland en Ambtenaar20, in plaats van iets nieuws te beginnen.</p>"
     "<p>Meer over de aanpak op <a href=\"https://www.grandparade.example/aanpak\">grandparade.example</a>. "
     "#innoverheid #Burgemeesteracademie</p>"),
    ("ruud@mastodon.social",
     '<p>De Grand Parade van de Burgemeesteracademie komt eraan! Burgers die zich inzetten voor hun buurt, '
     'ambtenaren die meelopen. Aanmelden via <a href="https://www.grandparade.example/">grandparade.example</a> '
     '<a href="https://mastodon.social/tags/innoverheid" class="mention hashtag" rel="tag">#<span>innoverheid</span></a> '
     '<a href="https://mastodon.social/tags/grandparade" class="mention hashtag" rel="tag">#<span>grandparade</span></a></p>'),
    # one author repeating himself is no movement: #mijnwijkapp three times, by him alone
    ("henk@mastodon.nl", '<p>Onze Mijn Wijk App is live! <a href="https://mastodon.nl/tags/mijnwijkapp" '
                         'rel="tag">#mijnwijkapp</a> #innoverheid</p>'),
    ("henk@mastodon.nl", '<p>Al 200 meldingen via de Mijn Wijk App. #mijnwijkapp #innoverheid</p>'),
    ("henk@mastodon.nl", '<p>Nieuwe versie van de Mijn Wijk App, nu met kaart. #mijnwijkapp #innoverheid</p>'),
]


def collected_post(n: int, author: str, html: str, *, published_at: str | None = None) -> Post:
    """Post `n` as a collector hands it over (source `mastodon-nl`)."""
    extracted = extract(html)
    kind = "feed" if author.startswith("http") else "mastodon"
    return Post(
        key=f"https://mastodon.nl/users/x/statuses/{n}", kind=kind, url=f"https://mastodon.nl/@x/{n}",
        content_html=html, text=extracted.text, tags=extracted.tags, links=extracted.links,
        mentions=tuple(m if "@" in m else f"{m}@mastodon.nl" for m in extracted.mentions),
        published_at=published_at or f"2026-11-{1 + n:02d}T09:{n:02d}:00+00:00", author=Author(author, author.split("@")[0]),
    )


def store_post(store: Store, n: int, author: str, html: str, *, published_at: str | None = None) -> int:
    """Store post `n` as a collector would; returns its id."""
    source = store.sources.get("mastodon-nl") or store.sources.sync("mastodon-nl", "mastodon", "https://mastodon.nl")
    post = collected_post(n, author, html, published_at=published_at)
    store.posts.upsert(post, source.id)
    return store.db.execute("SELECT id FROM posts WHERE key = ?", [post.key]).fetchone()[0]


def store_all(store: Store) -> list[int]:
    return [store_post(store, n, author, html) for n, (author, html) in enumerate(POSTS, start=1)]


def store_mentions_of_pieter(store: Store, about: str, *, first: int = 1) -> list[int]:
    """Posts `first` and `first + 1` by two authors, each mentioning @pieter@mastodon.nl (a person) and
    `about`: enough for his account to become a candidate."""
    html = ('<p>Goed gesprek met <span class="h-card"><a href="https://mastodon.nl/@pieter" class="u-url mention">'
            f'@<span>pieter</span></a></span> over {about} #innoverheid</p>')
    return [store_post(store, n, author, html)
            for n, author in ((first, "anna@mastodon.nl"), (first + 1, "bert@social.overheid.nl"))]
