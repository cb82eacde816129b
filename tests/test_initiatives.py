"""Initiatives: matching real phrasing, candidates across authors, re-matching after a change of the
list, the network's edges and weights, and the files for Gephi read back with networkx."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import networkx as nx
import pytest
from click.testing import CliRunner

from harvester.cli import main
from harvester.config import DEFAULTS, load_config
from harvester.initiatives import step
from harvester.initiatives.catalogue import InitiativesError, load_catalogue, parse_catalogue
from harvester.initiatives.matching import Matcher, PostFacts, capitalised_names
from harvester.initiatives.network import graph, layout, summarise, write_network
from harvester.models import Classification, InitiativeStats
from harvester.privacy.retention import purge_expired
from harvester.store import Store

from .initiativesdata import POSTS, collected_post, store_all, store_mentions_of_pieter, store_post
from .races import uncommitted_edit

CONSULTATION = ("innoverheid", "lanceerplatform")


@pytest.fixture(scope="module")
def matcher() -> Matcher:
    return Matcher(load_catalogue(DEFAULTS / "initiatives.toml"), CONSULTATION)


def facts(text: str, *, tags=(), mentions=(), links=(), author=None) -> PostFacts:
    return PostFacts(1, text, tuple(tags), tuple(mentions), tuple(links), author)


def names(matcher: Matcher, post: PostFacts) -> dict[str, tuple[str, str]]:
    return {m.initiative: (m.via, m.evidence) for m in matcher.match(post)}


# ---- matching -------------------------------------------------------------------------------

def test_names_and_aliases_in_running_text(matcher):
    found = names(matcher, facts("Vanmiddag met de Ynnovators en mensen van Ambtenaren  Netwerk Nederland "
                                 "gesproken over ruimte voor de professional. Mooi initiatief van de Burgermeesteracademie!"))
    assert found == {
        "Ynnovate": ("naam", "Ynnovators"),
        "Ambtenaren Netwerk Nederland": ("naam", "Ambtenaren Netwerk Nederland"),
        "Burgemeesteracademie": ("naam", "Burgermeesteracademie"),
    }


def test_spacing_and_case_do_not_matter_but_words_must_be_whole(matcher):
    assert "Ambtenaar 2.0" in names(matcher, facts("Lid van ambtenaar20 sinds 2009"))
    assert "Ambtenaar 2.0" in names(matcher, facts("Via AMBTENAAR 2.0 kwam ik hier terecht"))
    assert "Slimmernetwerk" in names(matcher, facts("het Slimmer   Netwerk organiseert weer een café"))
    # a name inside another word is no mention of it
    assert names(matcher, facts("Ynnovatesque plannen en een slimmernetwerkje van collega's")) == {}


def test_inside_hashtags(matcher):
    text = "Dit is precies waar #BeterWerkenInHetOpenbaarBestuur voor staat. Ook #BeterWerken doet mee."
    assert names(matcher, facts(text, tags=["beterwerkeninhetopenbaarbestuur", "beterwerken"])) == {
        "Beter Werken in het Openbaar Bestuur": ("hashtag", "beterwerkeninhetopenbaarbestuur")}
    # a tag must be the whole name: one that only starts with it is another word, or a candidate;
    # in the text the CamelCase words count
    assert names(matcher, facts("Het #kennislandschap verandert", tags=["kennislandschap"])) == {}
    post = facts("Meedoen? #ynnovatechallenge", tags=["ynnovatechallenge"])
    assert names(matcher, post) == {}
    assert [t.key for t in matcher.terms(post)] == ["ynnovatechallenge"]
    assert names(matcher, facts("Meedoen? #YnnovateChallenge", tags=["ynnovatechallenge"])) == {
        "Ynnovate": ("naam", "Ynnovate")}
    assert names(matcher, facts("Terug van de #SlimmernetwerkCafe")) == {"Slimmernetwerk": ("naam", "Slimmernetwerk")}


def test_ordinary_dutch_is_no_initiative(matcher):
    # names made of ordinary words count in running text only with their capitals
    for text in ("Dat zou misschien beter werken dan de persberichten die nu drie keer worden herschreven.",
                 "Beter werken voor onze inwoners, daar gaat het om.",
                 "We bouwen een slimmer netwerk van regiogemeenten.",
                 "Een doetank van bewoners en ambtenaren in de wijk",
                 "Nederland als kennisland: investeer in onderwijs"):
        assert names(matcher, facts(text)) == {}, text
    found = names(matcher, facts("Met de Doetank van BETER WERKEN en een Beter-Werken-sessie bij Kennisland"))
    assert found == {"Beter Werken in het Openbaar Bestuur": ("naam", "BETER WERKEN"), "Doetanks": ("naam", "Doetank"),
                     "Kennisland": ("naam", "Kennisland")}
    # a whole hashtag or handle is written as a name in any case
    assert set(names(matcher, facts("Gisteren met @ynnovate #beterwerken #doetank", tags=["beterwerken", "doetank"]))) \
        == {"Ynnovate", "Beter Werken in het Openbaar Bestuur", "Doetanks"}
    # a name the list writes in lower case counts in any case
    assert "Ambtenaar 2.0" in names(matcher, facts("Lid van ambtenaar20 sinds 2009"))


def test_a_name_written_apart_is_found_whatever_else_the_list_holds():
    text = "Vandaag de tweede dag van de Burgemeester Academie in Zwolle."
    for others in ([], [{"name": "Beter Werken in het Openbaar Bestuur"}]):
        m = Matcher(parse_catalogue({"initiatives": [{"name": "Burgemeesteracademie"}, *others]}, "", "test"), CONSULTATION)
        assert names(m, facts(text)) == {"Burgemeesteracademie": ("naam", "Burgemeester Academie")}, others


def test_abbreviations_match_in_capitals_only(matcher):
    assert names(matcher, facts("Het was puur toeval, en vom is geen woord")) == {}
    assert set(names(matcher, facts("Collega's van PUUR en de VOM-dag"))) == {"PUUR", "VOM"}
    assert "PUUR" in names(matcher, facts("Mooi gesprek #puur", tags=["puur"]))


def test_the_consultation_tags_are_no_evidence(matcher):
    text = "Denk mee over het charter! #innoverheid #lanceerplatform"
    assert names(matcher, facts(text, tags=CONSULTATION)) == {}
    # the Lanceerplatform in words is an initiative of its own
    assert names(matcher, facts("Het idee van het Lanceerplatform: kennis van het ene project naar het andere"))\
        == {"Lanceerplatform": ("naam", "Lanceerplatform")}


def test_accounts_and_domains():
    catalogue = parse_catalogue({"initiatives": [
        {"name": "Open State Foundation", "accounts": ["@openstate@mastodon.nl"], "domains": ["openstate.eu"]},
        {"name": "Kennisland", "domains": ["www.kl.nl"]},
    ]}, "", "test")
    m = Matcher(catalogue, CONSULTATION)
    post = facts("Goed stuk van @openstate over de Woo. Zie ook https://nieuws.openstate.eu/woo-index en "
                 "https://kl.nl/projecten/",
                 mentions=["openstate@mastodon.nl"], links=["https://nieuws.openstate.eu/woo-index", "https://kl.nl/projecten/"])
    assert names(m, post) == {"Open State Foundation": ("account", "openstate@mastodon.nl"),
                              "Kennisland": ("domein", "kl.nl")}
    # written by the initiative's own account
    assert names(m, facts("Onze nieuwe Woo-index staat online", author="OpenState@mastodon.nl")) == {
        "Open State Foundation": ("account", "openstate@mastodon.nl")}
    # a look-alike domain is not the initiative's
    assert names(m, facts("", links=["https://notopenstate.eu/"])) == {}


def test_capitalised_names():
    text = ("Vandaag bij de Stampijfabriek in Den Haag. Ook de Grand Parade kwam langs, met mensen van "
            "Open State Foundation. Wie doet er mee? Graag!")
    assert capitalised_names(text) == ["Stampijfabriek", "Den Haag", "Grand Parade", "Open State Foundation"]


def test_terms_leave_out_known_ignored_and_own(matcher):
    post = facts("Terugkijken: https://m.youtube.com/watch?v=abc en https://www.kl.nl/x. Met @ynnovate en @ikzelf. "
                 "#opendata #innoverheid #Ynnovate",
                 tags=["opendata", "innoverheid", "ynnovate"], mentions=["ynnovate@mastodon.nl", "ikzelf@mastodon.nl"],
                 links=["https://m.youtube.com/watch?v=abc", "https://www.kl.nl/x"], author="ikzelf@mastodon.nl")
    assert {(t.kind, t.key) for t in matcher.terms(post)} == {("hashtag", "opendata"), ("account", "ynnovate@mastodon.nl")}


def test_a_bad_list_gets_a_dutch_error(tmp_path):
    path = tmp_path / "initiatives.toml"
    path.write_text('[[initiatives]]\nname = "Ynnovate"\n[[initiatives]]\nname = "ynnovate"\n', encoding="utf-8")
    with pytest.raises(InitiativesError, match="hoort al bij 'Ynnovate'"):
        load_catalogue(path)
    path.write_text('[[initiatives]]\nname = "X"\naccounts = ["x@"]\n', encoding="utf-8")
    with pytest.raises(InitiativesError, match=r"accounts: 'x@' is geen account als @naam@instance"):
        load_catalogue(path)


@pytest.mark.parametrize("key, value, said", [
    ("hashtags", "challenge", "de hashtag '#challenge'"),
    ("accounts", "@info@kl.nl", "het account '@info@kl.nl'"),
    ("domains", "www.kl.nl", "het domein 'kl.nl'"),
])
def test_a_term_under_two_initiatives_gets_a_dutch_error(tmp_path, key, value, said):
    """Matching gives the term to the first initiative: the second one's entry would be dead without a word."""
    path = tmp_path / "initiatives.toml"
    path.write_text(f'[[initiatives]]\nname = "Ynnovate"\n{key} = ["{value}"]\n'
                    f'[[initiatives]]\nname = "Kennisland"\n{key} = ["{value.upper()}"]\n', encoding="utf-8")
    with pytest.raises(InitiativesError) as error:
        load_catalogue(path)
    assert str(error.value) == f"{path}: initiatives[1] (Kennisland): {said} hoort al bij 'Ynnovate'"


def test_a_hashtag_that_is_another_initiatives_name_gets_a_dutch_error(tmp_path):
    path = tmp_path / "initiatives.toml"
    path.write_text('[[initiatives]]\nname = "Ynnovate"\nhashtags = ["kennisland"]\n'
                    '[[initiatives]]\nname = "Kennisland"\n', encoding="utf-8")
    with pytest.raises(InitiativesError, match=r"initiatives\[0\] \(Ynnovate\): de hashtag '#kennisland' is de naam "
                                               r"van 'Kennisland'"):
        load_catalogue(path)


# ---- the step: matches, candidates, re-matching ---------------------------------------------

def config_with(tmp_path: Path, initiatives: Path | None = None):
    path = tmp_path / "harvester.toml"
    body = f'[database]\npath = "{tmp_path / "harvester.db"}"\n'
    if initiatives is not None:
        body += f'[initiatives]\nfile = "{initiatives}"\n'
    path.write_text(body, encoding="utf-8")
    return load_config(path)


def test_posts_get_their_initiatives(tmp_path):
    config = config_with(tmp_path)
    with Store(config.db_path) as store:
        ids = store_all(store)
        result = step.update(store, config)
        assert result.rematched and result.matched == len(POSTS)
        assert {i for i, _, _ in store.initiatives.initiatives_of(ids[2])} == {
            "Beter Werken in het Openbaar Bestuur", "Doetanks", "Kennisland"}
        assert store.initiatives.initiatives_of(ids[6]) == []
        # nothing changed: nothing is matched again
        assert step.update(store, config) == step.UpdateResult(False, 0, False)


def test_candidates_recur_across_authors_not_one_author_repeating_himself(tmp_path):
    config = config_with(tmp_path)
    with Store(config.db_path) as store:
        store_all(store)
        step.update(store, config)
        found = {(c.kind, c.term): (c.posts, c.authors) for c in store.initiatives.candidates(limit=50)}
    assert found == {
        ("hashtag", "grandparade"): (3, 3),                # marieke, jeroen, ruud
        ("naam", "grandparade"): (3, 3),
        ("domein", "grandparade.example"): (2, 2),         # the blogger and ruud
    }
    # henk wrote #mijnwijkapp and "Mijn Wijk App" three times: no candidate; neither are Utrecht
    # (one author) nor known initiatives, nor the consultation's tags


def test_an_edited_post_is_matched_again(tmp_path):
    config = config_with(tmp_path)
    with Store(config.db_path) as store:
        post_id = store_post(store, 1, "eva@mastodon.nl", "<p>Op naar het Slimmernetwerk Café #innoverheid</p>")
        step.update(store, config)
        store_post(store, 1, "eva@mastodon.nl", "<p>Op naar de Stampijfabriek (eerst verkeerd getypt) #innoverheid</p>")
        assert step.update(store, config).matched == 1
        assert [i for i, _, _ in store.initiatives.initiatives_of(post_id)] == ["Stampijfabriek"]
        assert [s.initiative for s in store.initiatives.stats()] == ["Stampijfabriek"]
        # after a pass only posts changed since it are read (by the index), new ones among them
        assert store.initiatives.matched_through() > ""
        new = store_post(store, 2, "joost@mastodon.nl", "<p>Ook de Ynnovators waren er #innoverheid</p>")
        assert step.update(store, config).matched == 1
        assert [i for i, _, _ in store.initiatives.initiatives_of(new)] == ["Ynnovate"]


def test_an_edit_committed_after_its_old_text_was_read_is_matched_again(tmp_path, monkeypatch):
    config = config_with(tmp_path)
    with Store(config.db_path) as store:
        step.update(store, config)   # the catalogue is known: the pass below only reads before it writes
        post_id = store_post(store, 1, "eva@mastodon.nl", "<p>Op naar het Slimmernetwerk Café #innoverheid</p>")
        edit = collected_post(1, "eva@mastodon.nl", "<p>Op naar de Stampijfabriek #innoverheid</p>")
        with uncommitted_edit(store.path, "mastodon-nl", edit) as commit:
            match = step.match_post

            def match_then_commit(matcher, post):
                found = match(matcher, post)
                assert "Slimmernetwerk" in post.text   # the old text: the edit was not committed
                commit()
                return found

            monkeypatch.setattr(step, "match_post", match_then_commit)
            assert step.update(store, config).matched == 1
        monkeypatch.undo()
        assert [i for i, _, _ in store.initiatives.initiatives_of(post_id)] == ["Slimmernetwerk"]
        assert step.update(store, config).matched == 1
        assert [i for i, _, _ in store.initiatives.initiatives_of(post_id)] == ["Stampijfabriek"]
        assert step.update(store, config).matched == 0


def test_a_changed_list_rematches_every_post(tmp_path):
    own = tmp_path / "initiatives.toml"
    shutil.copy(DEFAULTS / "initiatives.toml", own)
    config = config_with(tmp_path, own)
    with Store(config.db_path) as store:
        ids = store_all(store)
        step.update(store, config)
        assert "Grand Parade" not in {s.initiative for s in store.initiatives.stats()}
        own.write_text(own.read_text(encoding="utf-8") + '\n[[initiatives]]\nname = "Grand Parade"\n'
                       'domains = ["grandparade.example"]\n', encoding="utf-8")
        result = step.update(store, config)
        assert result.rematched and result.matched == len(POSTS)
        stats = {s.initiative: s for s in store.initiatives.stats()}
        assert (stats["Grand Parade"].posts, stats["Grand Parade"].authors) == (4, 4)
        assert ("Grand Parade", "domein", "grandparade.example") in store.initiatives.initiatives_of(ids[4])
        # known now: no longer a candidate
        assert store.initiatives.candidates(limit=50) == []


def test_the_command_tells_of_a_rematch_only_when_posts_were_matched_again(tmp_path):
    own = tmp_path / "initiatives.toml"
    shutil.copy(DEFAULTS / "initiatives.toml", own)
    config = config_with(tmp_path, own)
    command = ["initiatives", "--config", str(config.path)]
    assert CliRunner().invoke(main, ["init", "--config", str(config.path)]).exit_code == 0
    first = CliRunner().invoke(main, command)   # a new database: a first digest, nothing to match again
    assert first.exit_code == 0 and "veranderd" not in first.stderr
    with Store(config.db_path) as store:
        store_all(store)
    own.write_text(own.read_text(encoding="utf-8") + '\n[[initiatives]]\nname = "Grand Parade"\n', encoding="utf-8")
    changed = CliRunner().invoke(main, command)
    assert changed.exit_code == 0
    assert f"zijn veranderd: {len(POSTS)} posts opnieuw gekoppeld" in changed.stderr


def test_matches_made_by_older_rules_or_other_tags_are_made_again(tmp_path):
    config = config_with(tmp_path)
    with Store(config.db_path) as store:
        store_post(store, 1, "anna@mastodon.nl", "<p>Zo kunnen we beter werken. #innoverheid</p>")
        step.update(store, config)
        # as a database whose matches older rules made from the same list ('beter werken' counted)
        store.initiatives.reset(step.catalogue(store, config).digest)
        assert step.update(store, config).rematched
        assert step.update(store, config) == step.UpdateResult(False, 0, False)
        # another consultation tag is evidence of nothing any more, or of something now
        other = dataclasses.replace(config, harvest=dataclasses.replace(config.harvest, tags=["innoverheid"]))
        assert step.update(store, other).rematched


def test_an_editors_decision_joins_the_list_and_is_audited(tmp_path):
    config = config_with(tmp_path)
    with Store(config.db_path) as store:
        ids = store_all(store)
        editor = store.users.add("eva", "redacteur", "x")
        step.update(store, config)
        store.initiatives.decide("hashtag", "grandparade", "#grandparade", "bevestigd", "Grand Parade", editor)
        store.initiatives.decide("domein", "grandparade.example", "grandparade.example", "alias", "Grand Parade", editor)
        store.initiatives.decide("naam", "grandparade", "Grand Parade", "afgewezen", None, editor)
        assert step.update(store, config).rematched
        assert ("Grand Parade", "hashtag", "grandparade") in store.initiatives.initiatives_of(ids[1])
        assert ("Grand Parade", "domein", "grandparade.example") in store.initiatives.initiatives_of(ids[4])
        events = store.db.execute("SELECT actor, action, after FROM review_events ORDER BY id").fetchall()
    assert [(actor, action) for actor, action, _ in events] == [
        ("eva", "initiative_bevestigd"), ("eva", "initiative_alias"), ("eva", "initiative_afgewezen")]
    assert json.loads(events[0][2])["initiative"] == "Grand Parade"


def test_deciding_twice_is_refused(tmp_path):
    from harvester.store.initiatives import AlreadyDecided

    config = config_with(tmp_path)
    with Store(config.db_path) as store:
        store_all(store)
        step.update(store, config)
        a, b = store.users.add("eva", "redacteur", "x"), store.users.add("piet", "redacteur", "x")
        store.initiatives.decide("naam", "grandparade", "Grand Parade", "afgewezen", None, a)
        with pytest.raises(AlreadyDecided):
            store.initiatives.decide("naam", "grandparade", "Grand Parade", "bevestigd", "Grand Parade", b)


def test_an_addition_follows_its_initiative_by_alias_and_never_brings_a_gone_one_back(tmp_path):
    own = tmp_path / "initiatives.toml"
    own.write_text('[[initiatives]]\nname = "Slimmernetwerk"\n', encoding="utf-8")
    config = config_with(tmp_path, own)
    with Store(config.db_path) as store:
        editor = store.users.add("eva", "redacteur", "x")
        first = store_post(store, 1, "anna@mastodon.nl", "<p>Vanavond het #sncafe in Utrecht, over Slimmernetwerk.</p>")
        second = store_post(store, 2, "bram@mastodon.nl", "<p>Goed gesprek op het #sncafe #innoverheid</p>")
        step.update(store, config)
        store.initiatives.decide("hashtag", "sncafe", "#sncafe", "alias", "Slimmernetwerk", editor)
        step.update(store, config)
        # renamed in the file, the old name kept as an alias: one initiative, with the editor's hashtag
        own.write_text('[[initiatives]]\nname = "Slimmernetwerk Nederland"\naliases = ["Slimmernetwerk"]\n',
                       encoding="utf-8")
        step.update(store, config)
        assert step.catalogue(store, config).names() == ["Slimmernetwerk Nederland"]
        assert [(s.initiative, s.posts) for s in store.initiatives.stats()] == [("Slimmernetwerk Nederland", 2)]
        assert store.initiatives.initiatives_of(second) == [("Slimmernetwerk Nederland", "hashtag", "sncafe")]
        # deleted from the file: the editor's addition waits, it does not bring the initiative back
        own.write_text('[[initiatives]]\nname = "Ynnovate"\n', encoding="utf-8")
        step.update(store, config)
        catalogue = step.catalogue(store, config)
        assert catalogue.names() == ["Ynnovate"]
        assert [(d.term, d.initiative) for d in catalogue.unapplied] == [("sncafe", "Slimmernetwerk")]
        assert store.initiatives.stats() == [] and store.initiatives.initiatives_of(first) == []
        # a confirmation undone takes its initiative along, additions to it or not
        for n, author in ((5, "anna@mastodon.nl"), (6, "bram@mastodon.nl")):
            store_post(store, n, author, "<p>Op naar de Grand Parade! #gp2026 #innoverheid</p>")
        step.update(store, config)
        store.initiatives.decide("naam", "grandparade", "Grand Parade", "bevestigd", "Grand Parade", editor)
        store.initiatives.decide("hashtag", "gp2026", "#gp2026", "alias", "Grand Parade", editor)
        step.update(store, config)
        assert [(s.initiative, s.posts) for s in store.initiatives.stats()] == [("Grand Parade", 2)]
        store.initiatives.undo("naam", "grandparade", editor)
        step.update(store, config)
        assert step.catalogue(store, config).names() == ["Ynnovate"]
        assert store.initiatives.stats() == []
        assert [c.label for c in store.initiatives.candidates(limit=10)] == ["Grand Parade"]
        # confirmed again: the waiting addition applies again, whatever the order of the decisions
        store.initiatives.decide("naam", "grandparade", "Grand Parade", "bevestigd", "Grand Parade", editor)
        step.update(store, config)
        assert step.catalogue(store, config).named("grand parade").hashtags == ("gp2026",)


def test_other_consultation_tags_rematch_every_post(tmp_path):
    """The consultation's own tags are evidence of nothing: a tag added to them stops matching old posts too."""
    own = tmp_path / "initiatives.toml"
    own.write_text('[[initiatives]]\nname = "Ynnovate"\nhashtags = ["ynnovate"]\n', encoding="utf-8")
    config = config_with(tmp_path, own)
    with Store(config.db_path) as store:
        old = store_post(store, 1, "a@mastodon.nl", "<p>Mijn idee voor de overheid #innoverheid #ynnovate</p>")
        step.update(store, config)
        assert store.initiatives.initiatives_of(old) == [("Ynnovate", "hashtag", "ynnovate")]
    config.path.write_text(config.path.read_text(encoding="utf-8")
                           + '[harvest]\ntags = ["innoverheid", "lanceerplatform", "ynnovate"]\n', encoding="utf-8")
    config = load_config(config.path)
    with Store(config.db_path) as store:
        new = store_post(store, 2, "b@mastodon.nl", "<p>Mijn idee voor de overheid #innoverheid #ynnovate</p>")
        assert step.update(store, config).rematched
        assert store.initiatives.initiatives_of(old) == store.initiatives.initiatives_of(new) == []


def test_counts_carry_themes_and_drop_deleted_posts(tmp_path):
    config = config_with(tmp_path)
    with Store(config.db_path) as store:
        ids = store_all(store)
        store.classifications.save(ids[0], Classification(
            scores={"samenwerking": 0.9}, assigned=("samenwerking",), reasons={}, language="nl", is_dutch=True,
            confidence=0.8, model_version="test"))
        step.update(store, config)
        stats = {s.initiative: s for s in store.initiatives.stats()}
        assert stats["Slimmernetwerk"].themes == {"samenwerking": 1}
        store.db.execute("DELETE FROM posts WHERE id = ?", [ids[0]])
        store.db.conn.commit()
        assert step.update(store, config).summarised
        assert "Slimmernetwerk" not in {s.initiative for s in store.initiatives.stats()}


def test_posts_rejected_as_spam_leave_the_counts_and_the_candidates(tmp_path):
    config = config_with(tmp_path)
    with Store(config.db_path) as store:
        eva = store.users.add("eva", "redacteur", "x")
        store_post(store, 1, "anna@mastodon.nl", "<p>Mooie middag bij Ynnovate en Kennisland. #innoverheid</p>")
        spam = store_post(store, 2, "spambot@mastodon.nl",
                          "<p>Koop nu! Ynnovate Kennisland Stampijfabriek korting #innoverheid</p>")
        bots = [store_post(store, 2 + n, f"bot{n}@spam.example", "<p>Goedkope zonnepanelen #koopnu #innoverheid</p>")
                for n in (1, 2)]
        step.update(store, config)
        assert ("hashtag", "koopnu") in {(c.kind, c.term) for c in store.initiatives.candidates(limit=10)}
        for post_id in (spam, *bots):
            store.reviews.decide(post_id, eva, 0, "reject", reason="spam")
        # the editors' verdict alone makes the next pass count again: no other post has to arrive
        assert step.update(store, config).summarised
        assert [(s.initiative, s.posts) for s in store.initiatives.stats()] == [("Kennisland", 1), ("Ynnovate", 1)]
        assert [(e.source, e.target, e.posts) for e in store.initiatives.edges()] == [("Kennisland", "Ynnovate", 1)]
        assert store.initiatives.candidates(limit=10) == []
        # nor is it listed on an initiative's page, at once: the list is no summary to be made again
        assert [p.post_id for p in store.initiatives.posts_of("Ynnovate", limit=10)] == [1]
        assert store.initiatives.posts_of("Stampijfabriek", limit=10) == []
        # taking the verdict back counts the post again
        store.reviews.decide(spam, eva, 1, "undo")
        assert step.update(store, config).summarised
        assert "Stampijfabriek" in {s.initiative for s in store.initiatives.stats()}
        assert [p.post_id for p in store.initiatives.posts_of("Stampijfabriek", limit=10)] == [spam]
        # a note changes nothing the counts read
        store.reviews.decide(spam, eva, 2, "note", note="toch spam?")
        assert not step.update(store, config).summarised


# ---- the network ----------------------------------------------------------------------------

def test_edges_and_weights():
    rows = [
        (1, 10, "Ynnovate", "2026-11-01"), (1, 10, "Slimmernetwerk", "2026-11-01"),   # one post names both
        (2, 10, "Ynnovate", "2026-11-02"),                                             # the same author, again
        (3, 11, "Slimmernetwerk", "2026-11-03"), (4, 11, "VOM", "2026-11-04"),         # one author, two posts
        (5, 12, "VOM", "2026-11-05"),
    ]
    stats, edges = summarise(rows, {})
    assert {(e.source, e.target): (e.posts, e.together, e.authors) for e in edges} == {
        ("Slimmernetwerk", "Ynnovate"): (2, 1, 1),   # post 1 names both, post 2 by the author who did
        ("Slimmernetwerk", "VOM"): (2, 0, 1),        # posts 3 and 4 by author 11
    }
    assert {s.initiative: (s.posts, s.authors, s.first_seen, s.last_seen) for s in stats} == {
        "Ynnovate": (2, 1, "2026-11-01", "2026-11-02"), "Slimmernetwerk": (2, 2, "2026-11-01", "2026-11-03"),
        "VOM": (2, 2, "2026-11-04", "2026-11-05")}


def test_the_layout_is_stable(tmp_path):
    config = config_with(tmp_path)
    with Store(config.db_path) as store:
        store_all(store)
        step.update(store, config)
        first = layout(step.network(store))
        # the same data read in another order gives the same picture
        again = layout(graph(list(reversed(store.initiatives.stats())), list(reversed(store.initiatives.edges()))))
    assert first == again and len(first) == 11
    assert len(set(first.values())) == 11        # no two initiatives on one spot
    assert all(0 <= x <= 1 and 0 <= y <= 1 for x, y in first.values())


def test_gexf_and_graphml_read_back(tmp_path):
    config = config_with(tmp_path)
    with Store(config.db_path) as store:
        store_all(store)
        step.update(store, config)
        g = step.network(store)
    write_network(g, tmp_path / "netwerk.gexf")
    back = nx.read_gexf(tmp_path / "netwerk.gexf")
    labels = {n: d["label"] for n, d in back.nodes(data=True)}
    assert labels["ynnovate"] == "Ynnovate" and labels["ambtenaar-2-0"] == "Ambtenaar 2.0"
    assert back.nodes["ynnovate"]["posts"] == 2
    assert back.edges["slimmernetwerk", "ynnovate"]["weight"] == 2
    assert back.edges["slimmernetwerk", "ynnovate"]["together"] == 1
    write_network(g, tmp_path / "netwerk.graphml")
    again = nx.read_graphml(tmp_path / "netwerk.graphml")
    assert again.nodes["ambtenaar-2-0"]["label"] == "Ambtenaar 2.0"
    assert sorted(again.edges) == sorted(back.edges)


def test_network_csv_labels_are_defused_for_a_spreadsheet_with_another_separator(tmp_path):
    """An editor names a new initiative; a facilitator opens netwerk-knopen.csv in Dutch Excel, which
    reads the ',' file with ';': a formula after a ';' inside a label, or behind quotes, must stay text."""
    names = ['Netwerk;=HYPERLINK("https://evil.example","x")', '"=1+1" collectief', "Gewoon, - zegt Piet"]
    stats = [InitiativeStats(name, 1, 1, "2013-05-14", "2013-05-14", {}) for name in names]
    [nodes, _] = write_network(graph(stats, []), tmp_path / "netwerk.csv")
    text = nodes.read_text(encoding="utf-8")
    assert {row[1] for row in csv.reader(io.StringIO(text, newline=""))} >= {
        "Label", "Netwerk;'=HYPERLINK(\"https://evil.example\",\"x\")", "'\"=1+1\" collectief", "Gewoon, - zegt Piet"}
    for separator in (",", ";"):
        cells = [cell for row in csv.reader(io.StringIO(text, newline=""), delimiter=separator) for cell in row]
        assert not [c for c in cells if c.lstrip('"')[:1] in ("=", "+", "-", "@") or c.lstrip(' "')[:1] == "="]


# ---- the commands ---------------------------------------------------------------------------

def test_initiatives_and_network_commands(tmp_path):
    config = config_with(tmp_path)
    with Store(config.db_path) as store:
        store_all(store)
    runner = CliRunner()
    args = ["--config", str(config.path)]
    result = runner.invoke(main, ["initiatives", *args, "--json"])
    assert result.exit_code == 0, result.output
    items = json.loads(result.stdout)
    assert {"name": "Ynnovate", "posts": 2} == {k: items[[i["name"] for i in items].index("Ynnovate")][k]
                                                 for k in ("name", "posts")}
    assert {i["name"] for i in items} >= {"Stampijfabriek", "Serious Ambtenaar"}   # unnamed ones too, with 0
    result = runner.invoke(main, ["initiatives", *args, "--candidates"])
    assert result.exit_code == 0 and "#grandparade" in result.stdout and "Grand Parade" in result.stdout
    result = runner.invoke(main, ["network", *args, "--out", str(tmp_path / "n.csv")])
    assert result.exit_code == 0, result.output
    nodes = (tmp_path / "n-knopen.csv").read_text(encoding="utf-8").splitlines()
    assert nodes[0] == "Id,Label,Posts,Authors" and "ynnovate,Ynnovate,2,1" in nodes
    assert "slimmernetwerk,ynnovate,Undirected,2,1,1" in (tmp_path / "n-verbindingen.csv").read_text(encoding="utf-8")
    result = runner.invoke(main, ["network", *args, "--out", str(tmp_path / "n.png")])
    assert result.exit_code == 2 and "onbekend formaat" in result.output


def forget(config, who: str) -> None:
    """`harvester forget` as the admin runs it."""
    result = CliRunner().invoke(main, ["forget", "--config", str(config.path), who],
                                env={"HARVESTER_SECRET": "een-geheime-sleutel-van-lengte"})
    assert result.exit_code == 0, result.output


def test_the_table_shows_dutch_time(tmp_path):
    config = config_with(tmp_path)
    with Store(config.db_path) as store:
        store_post(store, 1, "anna@mastodon.nl", "<p>Naar Ynnovate #innoverheid</p>", published_at="2026-11-30T23:30:00+00:00")
    result = CliRunner().invoke(main, ["initiatives", "--config", str(config.path)])
    assert result.exit_code == 0, result.output
    row = next(line for line in result.stdout.splitlines() if line.startswith("Ynnovate"))
    assert row.split()[1:] == ["1", "1", "2026-12-01", "00:30", "2026-12-01", "00:30"]
    # the JSON keeps the stored UTC
    result = CliRunner().invoke(main, ["initiatives", "--config", str(config.path), "--json"])
    assert json.loads(result.stdout)[0]["first_seen"] == "2026-11-30T23:30:00+00:00"


def test_a_forgotten_account_leaves_the_candidates(tmp_path):
    config = config_with(tmp_path)
    with Store(config.db_path) as store:
        store_mentions_of_pieter(store, "het charter")
        for n, author in ((3, "anna@mastodon.nl"), (4, "bert@social.overheid.nl")):
            store_post(store, n, author, '<p>Mooi stuk van @anne.bsky.social over open data #innoverheid</p>')
            store.db.execute("UPDATE posts SET mentions = json_array('anne.bsky.social') WHERE id = ?", [n])
        step.update(store, config)
        assert {c.term for c in store.initiatives.candidates(limit=10)} == {"pieter@mastodon.nl", "anne.bsky.social"}
        editor = store.users.add("eva", "redacteur", "niet-gebruikt")
        store.initiatives.decide("account", "pieter@mastodon.nl", "@pieter@mastodon.nl", "afgewezen", None, editor)
    for who in ("pieter@mastodon.nl", "anne.bsky.social"):     # a Mastodon account and a Bluesky handle
        forget(config, who)
    with Store(config.db_path) as store:
        assert store.initiatives.candidates(limit=10) == []
        for name in ("pieter", "anne"):
            assert store.db.execute("SELECT count(*) FROM post_terms WHERE term LIKE ?", [f"%{name}%"]).fetchone()[0] == 0
        # the audit trail keeps that a candidate was dismissed, not whose account it was
        (after,) = store.db.execute("SELECT after FROM review_events WHERE action LIKE 'initiative%'").fetchone()
        assert "pieter" not in after and json.loads(after)["decision"] == "afgewezen"
        step.update(store, config)
        assert store.initiatives.candidates(limit=10) == []


def test_a_forgotten_account_takes_the_initiative_named_after_it_along(tmp_path):
    """An editor confirmed a mentioned account as an initiative under the account's own name and added a
    hashtag to it; once the person is forgotten no initiative, count, decision or audit line holds the account."""
    config = config_with(tmp_path)
    with Store(config.db_path) as store:
        store_mentions_of_pieter(store, "#pietersplan")
        step.update(store, config)
        editor = store.users.add("eva", "redacteur", "niet-gebruikt")
        store.initiatives.decide("account", "pieter@mastodon.nl", "@pieter@mastodon.nl", "bevestigd", "@Pieter@mastodon.nl",
                                 editor)
        store.initiatives.decide("hashtag", "pietersplan", "#pietersplan", "alias", "@Pieter@mastodon.nl", editor)
        step.update(store, config)
        assert [s.initiative for s in store.initiatives.stats()] == ["@Pieter@mastodon.nl"]
    forget(config, "pieter@mastodon.nl")
    with Store(config.db_path) as store:
        # gone at once, before any pass, and not back after one
        assert store.initiatives.stats() == [] and store.initiatives.decisions() == []
        step.update(store, config)
        assert "@Pieter@mastodon.nl" not in step.catalogue(store, config).names()
        assert store.initiatives.stats() == [] and store.initiatives.decisions() == []
        assert store.db.execute("SELECT count(*) FROM post_initiatives").fetchone()[0] == 0
        trail = [json.loads(after) for (after,) in store.db.execute(
            "SELECT after FROM review_events WHERE action LIKE 'initiative%' ORDER BY id")]
        assert [(t["decision"], t["initiative"]) for t in trail] == [("bevestigd", "[verwijderd]"),
                                                                     ("alias", "[verwijderd]")]
        assert not any("pieter@" in json.dumps(t).lower() for t in trail)
        # the hashtag is proposed again: editors decide on it anew
        assert [c.label for c in store.initiatives.candidates(limit=10)] == ["#pietersplan"]


def test_a_forget_or_a_purge_makes_the_counts_anew_at_once(tmp_path):
    """The forgotten author's posts leave the counts, dates, network and candidates in the forget's
    own transaction, not at the next pass (none comes without the background job); a purge too."""
    config = config_with(tmp_path)
    with Store(config.db_path) as store:
        store_post(store, 1, "anna@mastodon.nl", "<p>Mooie middag bij Ynnovate. #koffieoverleg #innoverheid</p>",
                   published_at="2026-11-02T10:00:00+00:00")
        store_post(store, 2, "anna@mastodon.nl", "<p>Weer naar Ynnovate, nu over Kennisland. #innoverheid</p>",
                   published_at="2026-11-30T10:00:00+00:00")
        store_post(store, 3, "bert@mastodon.nl", "<p>Ynnovate was goed. #koffieoverleg #innoverheid</p>",
                   published_at="2026-11-16T10:00:00+00:00")
        step.update(store, config)
        assert [(s.initiative, s.posts, s.authors) for s in store.initiatives.stats()] == [("Ynnovate", 3, 2),
                                                                                          ("Kennisland", 1, 1)]
        assert [c.term for c in store.initiatives.candidates(limit=10)] == ["koffieoverleg"]
    forget(config, "anna@mastodon.nl")
    with Store(config.db_path) as store:
        assert [(s.initiative, s.posts, s.authors, s.first_seen, s.last_seen) for s in store.initiatives.stats()] == [
            ("Ynnovate", 1, 1, "2026-11-16T10:00:00+00:00", "2026-11-16T10:00:00+00:00")]
        assert store.initiatives.edges() == [] and store.initiatives.candidates(limit=10) == []
        assert not store.initiatives.needs_summary()      # the page shows these as counted, which they are
        purge_expired(store, "9999-12-31T00:00:00+00:00", min_authors=config.initiatives.min_authors)
        assert store.initiatives.stats() == [] and not store.initiatives.needs_summary()



def test_a_forget_while_a_pass_reads_the_matches_is_not_undone_by_its_save(tmp_path):
    """A forget in another process that would commit between a pass's reading of the matches and its
    saving of the counts: the pass holds the write lock from before its read, so the forget waits
    for it (here it gives up at once and is run again after the pass) instead of being undone by
    counts made from the matches as they were."""
    from harvester.privacy.forget import forget as forget_author, parse_author

    config = config_with(tmp_path)
    with Store(config.db_path) as store, Store(config.db_path) as admin:
        store_post(store, 1, "anna@mastodon.nl", "<p>Mooie middag bij Ynnovate. #innoverheid</p>")
        store_post(store, 2, "bert@mastodon.nl", "<p>Ynnovate was goed. #innoverheid</p>")
        admin.db.execute("PRAGMA busy_timeout = 0")
        secret, refused = b"een-geheime-sleutel-van-lengte", []

        def forget_anna():
            forget_author(admin, secret, parse_author("anna@mastodon.nl"), min_authors=config.initiatives.min_authors)

        def forget_during_the_read() -> int:
            """Runs on the pass's connection while it reads the matches (once)."""
            store.db.conn.set_progress_handler(None, 1)
            try:
                forget_anna()
            except sqlite3.OperationalError as e:
                refused.append(str(e))
            return 0

        def arm(sql: str) -> None:
            if "FROM post_initiatives i" in sql and sql.lstrip().startswith("SELECT i.post_id"):
                store.db.conn.set_trace_callback(None)
                store.db.conn.set_progress_handler(forget_during_the_read, 1)

        store.db.conn.set_trace_callback(arm)
        step.update(store, config)
        if refused:       # the admin tries again
            forget_anna()
        assert [(s.initiative, s.posts, s.authors) for s in store.initiatives.stats()] == [("Ynnovate", 1, 1)]
        assert refused == ["database is locked"]


def test_the_command_line_and_the_background_job_start_without_networkx():
    """networkx is loaded when counts are first made (a pass, a forget, a purge), not at start-up."""
    code = "import sys, harvester.cli, harvester.jobs.jobs; print('networkx' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"

def test_the_background_job_matches_and_rematches_after_an_edit_of_the_list(tmp_path, caplog):
    import logging
    import threading

    from harvester.jobs.jobs import Jobs

    own = tmp_path / "initiatives.toml"
    shutil.copy(DEFAULTS / "initiatives.toml", own)
    config = config_with(tmp_path, own)
    with Store(config.db_path) as store:
        store_all(store)
    jobs = Jobs(config, threading.Event())
    with caplog.at_level(logging.INFO, logger="harvester.run"):
        assert jobs.match()
    assert f"job=initiatives status=ok matched={len(POSTS)} rematched=yes" in caplog.text
    own.write_text(own.read_text(encoding="utf-8").replace('name = "PUUR"', 'name = "PUUR"\naliases = ["Puur Overheid"]'),
                   encoding="utf-8")
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="harvester.run"):
        assert jobs.match()
    assert f"matched={len(POSTS)} rematched=yes" in caplog.text
    # a broken list fails the job visibly, and loses nothing
    own.write_text("[[initiatives]]\nname = 3\n", encoding="utf-8")
    with caplog.at_level(logging.INFO, logger="harvester.run"):
        assert not jobs.match()
    assert "job=initiatives status=failed" in caplog.text and "initiatives[0].name" in caplog.text
    with Store(config.db_path) as store:
        assert {s.initiative for s in store.initiatives.stats()} >= {"Ynnovate", "PUUR"}
        store_post(store, 50, "anna@mastodon.nl", "<p>Weer naar Ynnovate #innoverheid</p>")
    # ... and `harvester status`, where the admin looks, says what is wrong and what waits
    status = CliRunner().invoke(main, ["status", "--config", str(config.path)])
    assert status.exit_code == 0, status.output
    assert "Initiatieven: laatst geteld 20" in status.output and "nog te koppelen: 1 post\n" in status.output
    assert f"fout: {own}: initiatives[0].name: ontbreekt" in status.output
    assert "koppelt geen posts aan initiatieven tot dit bestand klopt" in status.output
    # once: under Initiatieven, not again under the job's line, which keeps when it last went well
    assert status.output.count("initiatives[0].name") == 1
    assert "initiatieven koppelen: laatste keer 20" in status.output and "laatst gelukt: 20" in status.output
    reported = json.loads(CliRunner().invoke(main, ["status", "--config", str(config.path), "--json"]).stdout)
    assert reported["initiatives"]["pending"] == 1 and "initiatives[0].name" in reported["initiatives"]["error"]
    # mended, the job runs again and status has nothing to report
    shutil.copy(DEFAULTS / "initiatives.toml", own)
    assert jobs.match()
    status = CliRunner().invoke(main, ["status", "--config", str(config.path)]).output
    assert "nog te koppelen: 0 posts" in status and "fout:" not in status
