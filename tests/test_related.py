"""Related ideas: the terms, the index, the search on labelled pairs, and what it leaves out."""

from __future__ import annotations

import json
import os
import threading

import pytest

from harvester.config import load_config
from harvester.jobs.jobs import Jobs
from harvester.models import Author, Post
from harvester.nlp.related import TermExtractor
from harvester.related import index_pending, related_ideas, score_pairs
from harvester.store import Store

from .conftest import DATA, ROOT
from .races import uncommitted_edit
from .webdata import add_post, add_user

PAIRS = [json.loads(line) for line in (DATA / "related" / "pairs.jsonl").read_text(encoding="utf-8").splitlines()]


@pytest.fixture(scope="module")
def extractor():
    return TermExtractor()


def test_terms_are_lemmas_and_compound_parts_without_stop_words(extractor):
    [terms] = extractor.terms(["De gemeenten steunen burgerinitiatieven in hun wijken #OpenOverheid"])
    assert {"gemeente", "burgerinitiatief", "burger", "initiatief", "wijk", "open", "overheid"} <= set(terms)
    assert not {"de", "in", "hun"} & set(terms)


def index_pairs(store, extractor) -> dict[str, int]:
    """Every text of the labelled pairs as a post of its own author; returns post id by text."""
    texts = list(dict.fromkeys(t for pair in PAIRS for t in (pair["a"], pair["b"])))
    ids = {text: add_post(store, n, text, author=f"schrijver{n}@mastodon.nl", confidence=None)
           for n, text in enumerate(texts, 1)}
    assert index_pending(store, extractor) == len(texts)
    return ids


def labels(ids: dict[str, int], related: bool) -> dict[int, set[int]]:
    found: dict[int, set[int]] = {}
    for pair in PAIRS:
        if pair["related"] == related:
            a, b = ids[pair["a"]], ids[pair["b"]]
            found.setdefault(a, set()).add(b)
            found.setdefault(b, set()).add(a)
    return found


def test_on_the_labelled_pairs_the_related_text_comes_first(store, extractor):
    ids = index_pairs(store, extractor)
    related, unrelated = labels(ids, True), labels(ids, False)
    assert len(related) == 24 and sum(map(len, unrelated.values())) == 24
    firsts = [related_ideas(store, post_id, limit=5) for post_id in related]
    assert sum(1 for post_id, found in zip(related, firsts) if found and found[0].post_id in related[post_id]) >= 22
    score = score_pairs(store, related, unrelated, k=5)
    assert score.queries == 24 and score.ceiling == pytest.approx(0.2)
    assert score.at_k >= 0.18 and score.precision >= 0.6 and score.unrelated_shown <= 4


def test_the_same_author_rejected_posts_and_the_own_group_are_left_out(store, extractor):
    editor = add_user(store, "eva", "redacteur")
    a = add_post(store, 1, PAIRS[0]["a"], author="anne@mastodon.nl", confidence=None)
    same = add_post(store, 2, PAIRS[0]["b"], author="anne@mastodon.nl", confidence=None)
    spam = add_post(store, 3, PAIRS[0]["b"] + " nu!", author="spam@mastodon.nl", confidence=None)
    other = add_post(store, 4, PAIRS[0]["b"] + " echt", author="bob@mastodon.nl", confidence=None)
    for n, pair in enumerate(PAIRS[1:12], 5):   # other ideas, so that the shared words are rare
        add_post(store, n, pair["a"], author=f"schrijver{n}@mastodon.nl", confidence=None)
    index_pending(store, extractor)
    store.reviews.decide(spam, editor, 0, "reject", reason="spam")
    found = [r.post_id for r in related_ideas(store, a)]
    assert found[0] == other and same not in found and spam not in found
    assert "proeftuin" in related_ideas(store, a)[0].shared
    store.groups.group([a, other], editor)
    assert other not in [r.post_id for r in related_ideas(store, a)]


def test_an_edited_post_is_indexed_again(store, extractor):
    post = add_post(store, 1, "Een eerste versie over proeftuinen", confidence=None)
    index_pending(store, extractor)
    assert index_pending(store, extractor) == 0
    store.db.execute("UPDATE posts SET text = 'Nu over hackathons', changed_at = '9999' WHERE id = ?", [post])
    assert index_pending(store, extractor) == 1
    assert store.related.terms([post])[post] == ["hackathons"]


def test_an_edit_committed_after_its_old_text_was_read_is_indexed_again(store, extractor, monkeypatch):
    post = add_post(store, 1, "Een eerste versie over proeftuinen", confidence=None)
    edit = Post(key="https://mastodon.example/@a/1", kind="mastodon", url="https://mastodon.example/@a/1",
                content_html="<p>Nu over hackathons</p>", text="Nu over hackathons", language="nl",
                tags=("innoverheid",), author=Author("ambtenaar@mastodon.nl", display_name="Ambtenaar"))
    with uncommitted_edit(store.path, "mastodon-nl", edit) as commit:
        terms = extractor.terms

        def terms_then_commit(texts):
            found = terms(list(texts))
            commit()
            return found

        monkeypatch.setattr(extractor, "terms", terms_then_commit)
        assert index_pending(store, extractor) == 1
    monkeypatch.undo()
    assert "proeftuin" in store.related.terms([post])[post]   # of the text that was read
    assert index_pending(store, extractor) == 1
    assert store.related.terms([post])[post] == ["hackathons"]
    assert index_pending(store, extractor) == 0


def test_the_vocabulary_counts_posts_per_term_through_edits_and_deletions(store, extractor):
    first = add_post(store, 1, "Proeftuinen voor gemeenten, echt proeftuinen", confidence=None)
    add_post(store, 2, "Gemeenten delen kennis", confidence=None)
    index_pending(store, extractor)
    df = store.related.document_frequency
    assert df(["gemeente", "proeftuin", "kennis"]) == {"gemeente": 2, "proeftuin": 1, "kennis": 1}
    store.db.execute("UPDATE posts SET text = 'Kennis delen', changed_at = '9999' WHERE id = ?", [first])
    index_pending(store, extractor)
    assert df(["gemeente", "proeftuin", "kennis"]) == {"gemeente": 1, "kennis": 2}
    store.db.execute("DELETE FROM posts WHERE id = ?", [first])   # forget and purge delete posts so
    assert df(["gemeente", "kennis"]) == {"gemeente": 1, "kennis": 1}


def test_the_background_job_reads_the_terms_in_the_themes_language(write_config, tmp_path):
    """The job indexes as `harvester classify` does, in the themes file's language: a consultation
    in English gets English lemmas, not Dutch ones guessed from English words."""
    themes = tmp_path / "themes.toml"
    themes.write_text((ROOT / "config" / "themes.toml").read_text(encoding="utf-8")
                      .replace('language = "nl"', 'language = "en"', 1), encoding="utf-8")
    config = load_config(write_config(f'[nlp]\nthemes = "{themes}"\n'))
    with Store(config.db_path) as store:   # classified already: the job only indexes the terms
        post = add_post(store, 1, "The municipalities were experimenting with open data", language="en")
    assert Jobs(config, threading.Event()).classify()
    with Store(config.db_path) as store:
        terms = store.related.terms([post])[post]
    assert {"municipality", "experiment", "data"} <= set(terms) and not {"were", "datum"} & set(terms)


def test_the_background_job_reads_the_themes_file_again_only_once_it_changed(write_config, tmp_path):
    """The classify job asks for the themes' language on every pass: the file's state (time and
    size) tells whether to read it again, as for the classifier, so an unchanged file is read once."""
    themes = tmp_path / "themes.toml"
    themes.write_text((ROOT / "config" / "themes.toml").read_text(encoding="utf-8"), encoding="utf-8")
    config = load_config(write_config(f'[nlp]\nthemes = "{themes}"\n'))
    jobs = Jobs(config, threading.Event())
    assert jobs.classify()
    read = themes.stat()
    themes.write_text("x" * read.st_size, encoding="utf-8")   # no TOML, but the state it had
    os.utime(themes, ns=(read.st_atime_ns, read.st_mtime_ns))
    assert jobs.classify()
    os.utime(themes, ns=(read.st_atime_ns, read.st_mtime_ns + 1_000_000_000))   # saved again: read anew
    assert not jobs.classify()
    with Store(config.db_path) as store:
        assert store.job_outcomes.get("classify").status == "failed"
