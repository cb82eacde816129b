"""normalize.tidy, the last step of every collector, on what a collector hands it."""

from __future__ import annotations

from harvester.models import Post
from harvester.normalize import extract, tidy


def test_tidy_keeps_only_the_links_that_are_web_addresses_each_once():
    """Collectors hand over every link they find, as written (an href, an address in the text, a
    Bluesky card's uri, which may hold anything); tidy keeps the web addresses, so no collector can
    forget the test. Hashtag links are left out where the text is read."""
    extracted = extract('<p>Een plan <a href="javascript:alert(1)">hier</a> <a href=" https://example.org/plan ">'
                        'plan</a> <a href="/relatief">rel</a> <a href="https://x.nl/tags/innoverheid">#innoverheid</a>'
                        " zie https://example.org/plan. en smb://server/share</p>")
    card = {"uri": "https://example.org/kaart"}
    post = Post(key="k", kind="bluesky", content_html="", text=extracted.text,
                links=(*extracted.links, "https://example.org/een plan", "HTTPS://Example.org/Hoofd",
                       "https://example.org/tab\tstop", card, None))
    assert tidy(post).links == ("https://example.org/plan", "HTTPS://Example.org/Hoofd")
