"""Related ideas and grouping in the review app (HTTP): the post page, the queue's partial, group and ungroup."""

from __future__ import annotations

import re

from harvester.nlp.related import TermExtractor
from harvester.privacy.forget import deleted_at_source
from harvester.related import index_pending
from harvester.store import Store

from .test_related import PAIRS
from .test_web_security import own_site
from .webdata import add_post, add_user, csrf_of, login, write_web_config


def site_with_pairs(tmp_path):
    config = write_web_config(tmp_path)
    with Store(config.db_path) as store:
        add_user(store, "eva", "redacteur")
        add_user(store, "lex", "lezer")
        ids = [add_post(store, n, text, author=f"schrijver{n}@mastodon.nl")
               for n, text in enumerate(dict.fromkeys(t for p in PAIRS for t in (p["a"], p["b"])), 1)]
        index_pending(store, TermExtractor())
    return config, ids


def test_post_page_lists_related_ideas_and_editors_group_and_ungroup_them(tmp_path):
    config, ids = site_with_pairs(tmp_path)
    first, partner = ids[0], ids[1]     # PAIRS[0]: a and b
    with own_site(config) as c:
        csrf = login(c, "eva")
        page = c.get(f"/posts/{first}").text
        assert f'id="verwant-{first}"' in page
        listed = re.findall(r'name="posts" value="(\d+)"', page)
        assert listed[0] == str(first) and listed[1] == str(partner)
        response = c.post("/groepen", data={"csrf": csrf, "next": f"/posts/{first}", "posts": [first, partner]})
        assert response.status_code == 303 and "groep=" in response.headers["location"]
        page = c.get(response.headers["location"]).text
        assert "Eén idee (groep" in page and "nu één idee" in page and "Geschiedenis van de groepering" in page
        group_id = re.search(r"Eén idee \(groep (\d+)\)", page).group(1)
        response = c.post(f"/groepen/{group_id}/opheffen", data={"csrf": csrf, "next": f"/posts/{first}"})
        assert response.status_code == 303
        page = c.get(f"/posts/{first}").text
        assert "Eén idee (groep" not in page and "groep opgeheven" in page
    with Store(config.db_path) as store:
        assert [(e.actor, e.action) for e in store.groups.history(int(group_id))] == [("eva", "group"), ("eva", "ungroup")]


def test_grouping_from_the_queue_selection_and_the_partial(tmp_path):
    config, ids = site_with_pairs(tmp_path)
    with own_site(config) as c:
        csrf = login(c, "eva")
        queue = c.get("/").text
        assert 'formaction="/groepen"' in queue and 'class="show-related"' in queue
        response = c.post("/groepen", data={"csrf": csrf, "next": "/?status=nieuw", "action": "group",
                                            "select": [f"{ids[2]}:0", f"{ids[3]}:0"]})
        assert response.status_code == 303 and response.headers["location"].startswith("/?status=nieuw&groep=")
        landed = c.get(response.headers["location"]).text
        assert "nu één idee" in landed
        # the message is for this visit only: the queue's own links and forms leave it off
        assert re.search(r'name="next" value="/\?status=nieuw', landed)
        assert not re.search(r'(href|value)="[^"]*groep=', landed)
        part = c.get(f"/posts/{ids[2]}/verwant", headers={"X-Requested-With": "fetch"})
        assert part.status_code == 200 and "Eén idee (groep" in part.text and "<html" not in part.text
        assert c.get(f"/posts/{ids[2]}/verwant").status_code == 303    # without JavaScript: the post page
        refused = c.post("/groepen", data={"csrf": csrf, "next": "/", "select": [f"{ids[4]}:0"]})
        assert refused.status_code == 400 and "minstens twee" in refused.text and "<main" in refused.text


def test_a_lezer_sees_related_ideas_but_cannot_group(tmp_path):
    config, ids = site_with_pairs(tmp_path)
    with own_site(config) as c:
        login(c, "lex")
        page = c.get(f"/posts/{ids[0]}").text
        assert f'href="/posts/{ids[1]}"' in page and "als één idee markeren" not in page
        refused = c.post("/groepen", data={"csrf": csrf_of(page), "posts": [ids[0], ids[1]]})
        assert refused.status_code == 403


def test_taking_one_post_out_of_two_dissolves_the_group_as_a_deletion_does(tmp_path):
    config, ids = site_with_pairs(tmp_path)
    with Store(config.db_path) as store:
        eva = store.users.get("eva")
        pair, kept = store.groups.group(ids[:2], eva), store.groups.group(ids[2:4], eva)
        key = store.db.execute("SELECT key FROM posts WHERE id = ?", [ids[3]]).fetchone()[0]
        deleted_at_source(store, ids[3], key, ["mastodon-nl"])
    with own_site(config) as c:
        csrf = login(c, "eva")
        assert f"Post {ids[1]} uit de groep halen" in c.get(f"/posts/{ids[0]}").text
        response = c.post(f"/groepen/{pair}/opheffen", data={"csrf": csrf, "next": f"/posts/{ids[0]}", "post": ids[1]})
        assert response.status_code == 303
        page = c.get(f"/posts/{ids[0]}").text
        assert "Eén idee (groep" not in page and "(groep opgeheven)" in page
        page = c.get(f"/posts/{ids[2]}").text
        assert "Eén idee (groep" not in page
        assert f"groep {kept} opgeheven omdat er een bericht uit verwijderd is; post {ids[2]} staat weer los" in page
    with Store(config.db_path) as store:
        assert store.groups.groups_of(ids) == {}


def test_an_authors_name_in_the_related_list_is_isolated_and_shortened(tmp_path):
    """docs/security.md: names in <bdi> (a right-to-left override ends with the name), at most 120 characters."""
    name = "\u202eAmbtenaar " + "x" * 189
    config = write_web_config(tmp_path)
    with Store(config.db_path) as store:
        add_user(store, "eva", "redacteur")
        first = add_post(store, 1, "Laat teams zelf experimenteren met nieuwe werkvormen in de gemeente #innoverheid")
        other = add_post(store, 2, "Teams moeten experimenteren met werkvormen in elke gemeente #innoverheid",
                         author="spoof@mastodon.example", author_name=name)
        rest = [add_post(store, n, f"Iets heel anders over fietspaden nummer {n} #innoverheid",
                         author=f"p{n}@m.example") for n in range(3, 8)]
        shared = ["team", "experimenteren", "werkvorm", "gemeente"]
        store.related.save_many([(first, shared), (other, shared)] + [(p, ["fietspad", f"nummer{p}"]) for p in rest])
    with own_site(config) as c:
        login(c, "eva")
        page = c.get(f"/posts/{first}").text
    entry = re.search(rf'<li>[^<]*<input[^>]*value="{other}">.*?</li>', page, re.S).group(0)
    shown = re.search("<bdi>(\u202e[^<]*)</bdi>", entry)
    assert shown and len(shown.group(1)) <= 120 and "; \u202e" not in entry
