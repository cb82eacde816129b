"""Searching the queue on lemmas: `gemeente` finds gemeenten and gemeentes as well.

Beside the posts' full-text index (`posts_fts`, the words as written) the store keeps
`posts_fts_lemmas`: per post one column with the lemma of each word, in the order of the text,
filled by triggers through the SQL function `harvester_lemmas(title, text)` (registered on every
connection the Store opens) and, for the posts already there, by the migration that made it.
The lemmas are simplemma's, through the lemmatiser the classifier uses
(`harvester.nlp.components.lemmatize`), so a search and the model read words alike.

An editor's words become an FTS5 query on that column (`search_query`): each word is looked up
by its lemma; `word*` is a prefix of lemmas (gemeente* also finds gemeentelijk and gemeenteraad);
"two words" is a phrase; OR (or OF) between two terms takes either; -word leaves out posts with it.
Terms side by side must all match. The result cannot be an FTS5 syntax error: every term is
quoted, and the operators are placed by this module only.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable

from ...errors import UsageError

# a word as FTS5's unicode61 tokenizer sees one: letters and digits; '_' and the rest separate
WORD = re.compile(r"[^\W_]+")
# a term of the editor's query: -"a phrase", "a phrase" (closing quote optional), or a word
TERM = re.compile(r'(-?)"([^"]*)"?|(\S+)')
OR_WORDS = ("OR", "OF")
MAX_TERMS = 20

_lemma: Callable[[str], str] | None = None


class SearchError(UsageError):
    """A query that asks for nothing findable; the message says what to type instead."""


def lemma_of(word: str) -> str:
    """The lemma of one word (lower case), as the classifier's lemmatiser gives it; cached."""
    global _lemma
    if _lemma is None:
        # imported on first use: the NLP package loads spaCy, which a store that never sees a
        # new post (or a search) does not need
        from ...nlp.components import lemma_cache

        _lemma = lemma_cache("nl").__getitem__
    return _lemma(word.lower())


def lemma_text(*texts: str | None) -> str:
    """The lemmas of the texts' words, in order, separated by spaces (the SQL function
    `harvester_lemmas`); a post's title comes before its text."""
    return " ".join(lemma_of(w) for text in texts if text for w in WORD.findall(text))


def search_query(text: str) -> str | None:
    """The editor's query as an FTS5 expression on the lemma column; None when it holds no word.

    Raises SearchError when it only excludes (-word) or is too long to be meant.
    """
    text = "".join(c for c in text if unicodedata.category(c) not in ("Cc", "Cs"))
    groups: list[list[str]] = []      # each group: alternatives joined by OR; groups all required
    excluded: list[str] = []
    join_next = False
    for m in TERM.finditer(text):
        negative, phrase, word = m.group(1) == "-", m.group(2), m.group(3)
        if word in OR_WORDS:
            join_next = bool(groups)
            continue
        if word is not None and word.startswith("-") and len(word) > 1:
            negative, word = True, word[1:]
        term = _term(phrase if phrase is not None else word, prefix=phrase is None and word.endswith("*"))
        if term is None:
            continue
        if negative:
            excluded.append(term)
        elif join_next:
            groups[-1].append(term)
        else:
            groups.append([term])
        join_next = False
    if len(excluded) + sum(map(len, groups)) > MAX_TERMS:
        raise SearchError(f"Zoek op hoogstens {MAX_TERMS} woorden of zinnen tegelijk.")
    if not groups:
        if excluded:
            raise SearchError("Zoek op minstens één woord: -woord sluit alleen posts uit die het bevatten.")
        return None
    query = " AND ".join(f"({' OR '.join(g)})" if len(g) > 1 else g[0] for g in groups)
    if excluded:
        query = f"({query}) NOT ({' OR '.join(excluded)})"
    return query


def _term(words: str, *, prefix: bool) -> str | None:
    """One quoted FTS5 phrase of lemmas ('"gemeente"', '"open data"'), or a prefix ('"gemeente"*')."""
    found = WORD.findall(words)
    if not found:
        return None
    if prefix and len(found) == 1:
        # a prefix is of the lemmas as stored; they are lower case, and FTS5 folds the diacritics
        return f'"{found[0].lower()}"*'
    return '"' + " ".join(lemma_of(w) for w in found) + '"'
