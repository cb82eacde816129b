"""spaCy components for Dutch social-media text, registered by name and wired by config.

Order in a pipeline (see pipeline.py): tokenizer `harvester.social_tokenizer.v1` keeps `#tags`
and `@mentions` whole; `social_text` marks URLs, mentions and emoji and spells hashtags out as
words; `simplemma_lemmatizer` sets lemmas; `compound_splitter` finds the parts of Dutch
compounds; `theme_terms` matches the themes' terms (the reasons editors see);
`language_detector` tells Dutch from other languages. Each keeps a per-word cache: posts
repeat the same few thousand words, so most work is a dict lookup.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Container, Iterable, Iterator
from functools import partial
from itertools import compress
from dataclasses import dataclass

import numpy
import simplemma
from py3langid.langid import MODEL_FILE, LanguageIdentifier
from spacy.attrs import LEMMA, NORM, ORTH
from spacy.language import Language
from spacy.strings import get_string_id
from spacy.tokenizer import Tokenizer
from spacy.tokens import Doc
from spacy.util import compile_infix_regex, compile_prefix_regex, compile_suffix_regex, minibatch, registry

from .evidence import TERM_WEIGHT, raised

# NORM values of tokens that are not words
URL, MENTION, EMOJI = "<url>", "<mention>", "<emoji>"

# Per doc. `words`: the post's words in order (a `Words`); `compounds`: token index -> parts of a
# compound; `term_hits`: theme id -> matched words. Later components read these instead of walking
# the tokens again: the pipeline runs at thousands of posts a second, and creating Token objects
# (or even a list per word) is what costs.
# The components read and write these in `doc.user_data` directly, under the key spaCy's
# Underscore uses for `doc._.<name>` (which stays the way to read them): Underscore builds a new
# object for every `doc._` and would cost more than the components' own work.
def extension(name: str) -> tuple[str, str, None, None]:
    """Register a doc extension `name` (default None); returns its key in `doc.user_data`."""
    Doc.set_extension(name, default=None)
    return ("._.", name, None, None)


WORDS, COMPOUNDS, TERM_HITS = extension("words"), extension("compounds"), extension("term_hits")
LANGUAGE, LANGUAGE_SCORE = extension("language"), extension("language_score")

CAMEL_RE = re.compile(r"[A-ZÀ-Ý]+(?![a-zß-ÿ])|[A-ZÀ-Ý]?[a-zß-ÿ]+|\d+")
# entries per cache (per-word caches, the tokenizer's): bounded, so that a process running for weeks is too
CACHE_SIZE = 200_000


@registry.tokenizers("harvester.social_tokenizer.v1")
def create_social_tokenizer() -> Callable[[Language], Tokenizer]:
    """The language's tokenizer, except that '#' is no prefix: `#OpenOverheid` stays one token.

    Its cache of whitespace-separated chunks holds CACHE_SIZE of them instead of spaCy's 10,000:
    that many are full after a few thousand posts (every number, URL and typo takes one), and
    a chunk first seen later was split anew every time (a fifth of the pipeline's time). spaCy
    caches nothing inside a memory zone, so the scheduler's process does not grow by it.
    """

    def make(nlp: Language) -> Tokenizer:
        defaults = nlp.Defaults
        return Tokenizer(
            nlp.vocab,
            rules=defaults.tokenizer_exceptions,
            prefix_search=compile_prefix_regex([p for p in defaults.prefixes if p != "#"]).search,
            suffix_search=compile_suffix_regex(defaults.suffixes).search,
            infix_finditer=compile_infix_regex(defaults.infixes).finditer,
            token_match=defaults.token_match,
            url_match=defaults.url_match,
            max_cache_size=CACHE_SIZE,
        )

    return make


class Cache(dict):
    """A dict that fills itself: `cache[key]` computes a missing value once (a miss costs a call, a hit
    nothing but the lookup, also through `map`). Emptied when it reaches `limit` entries, so that a
    process running for weeks stays bounded."""

    __slots__ = ("compute", "limit")

    def __init__(self, compute: Callable, limit: int = CACHE_SIZE):
        super().__init__()
        self.compute = compute
        self.limit = limit

    def __missing__(self, key):
        if len(self) >= self.limit:
            self.clear()
        value = self[key] = self.compute(key)
        return value


def pipe_in_batches(component: Callable[[Doc], Doc], docs: Iterable[Doc], batch_size: int = 256) -> Iterator[Doc]:
    """A component's `pipe`: run it over a batch of docs before passing any on.

    `nlp.pipe` then takes each batch through one component after the other instead of each doc
    through all of them, which keeps a component's code and caches hot: measured here, a fifth
    less CPU per post.
    """
    for batch in minibatch(docs, batch_size):
        for doc in batch:
            component(doc)
        yield from batch


def batched(component: Callable[[Doc], Doc]) -> Callable[[Doc], Doc]:
    component.pipe = partial(pipe_in_batches, component)  # type: ignore[attr-defined]
    return component


@dataclass(slots=True)
class Words:
    """A post's words in order, as parallel lists with one entry per word.

    URLs, mentions, emoji and punctuation are left out; a hashtag gives one entry per word it
    spells. `lemmas` is `norms` itself until the lemmatizer has run. The lists are replaced, never
    changed in place.
    """

    index: list[int]             # the token each word comes from
    norms: list[str]
    lemmas: list[str]
    tags: list[str | None]       # for words spelled out of a hashtag: its text ("#OpenOverheid")
    minor: list[bool]            # stop words and numbers


def split_hashtag(tag: str) -> list[str]:
    """`OpenOverheid` -> ['open', 'overheid']; `WOO2024` -> ['woo', '2024']; lower case stays whole."""
    return [p.lower() for p in CAMEL_RE.findall(tag)] or [tag.lower()]


def is_emoji(text: str) -> bool:
    return not any(c.isalnum() for c in text) and any(unicodedata.category(c) in ("So", "Sk") for c in text)


# what social_text makes of a lexeme: skipped (perhaps with a marker NORM), a word, or a hashtag
SKIP, WORD, HASHTAG = 0, 1, 2


def _lexeme_entry(lexeme) -> tuple:
    """What social_text does with every token of this vocabulary entry (cached per ORTH by the caller):
    (SKIP, marker NORM or None) | (WORD, NORM id, NORM, minor) | (HASHTAG, text, its words, their NORM)."""
    text = lexeme.orth_
    first = text[0] if text else " "
    if lexeme.is_punct or lexeme.is_space or not text:
        return SKIP, None
    if lexeme.like_url:
        return SKIP, URL
    if first == "@" and len(text) > 1:
        return SKIP, MENTION
    if first == "#" and len(text) > 1:
        spelled = split_hashtag(text[1:])
        return HASHTAG, text, spelled, " ".join(spelled)
    if not first.isalnum() and is_emoji(text):
        return SKIP, EMOJI
    return WORD, lexeme.norm, lexeme.norm_, lexeme.is_stop or lexeme.like_num


@Language.factory("social_text")
def make_social_text(nlp: Language, name: str) -> Callable[[Doc], Doc]:
    """URLs, mentions and emoji get a marker NORM (never words); a hashtag's NORM is its words.

    Builds doc._.words. Works on ORTH ids with a per-lexeme cache (one lookup per token), touching
    Token objects only for the few tokens whose NORM changes.
    """
    vocab = nlp.vocab
    entries = Cache(lambda orth: _lexeme_entry(vocab[orth]))

    def social_text(doc: Doc) -> Doc:
        strings = vocab.strings
        index: list[int] = []
        norms: list[str] = []
        tags: list[str | None] = []
        minor: list[bool] = []
        orths, norm_keys = doc.to_array([ORTH, NORM]).T.tolist()
        for i, entry in enumerate(map(entries.__getitem__, orths)):
            what = entry[0]
            if what == WORD:
                norm = norm_keys[i]
                index.append(i)
                # a token's NORM is its lexeme's unless a tokenizer exception set another
                norms.append(entry[2] if norm == entry[1] else strings[norm])
                tags.append(None)
                minor.append(entry[3])
            elif what == HASHTAG:
                _, text, spelled, joined = entry
                doc[i].norm_ = joined
                n = len(spelled)
                index.extend([i] * n)
                norms.extend(spelled)
                tags.extend([text] * n)
                minor.extend([False] * n)
            elif entry[1]:
                doc[i].norm_ = entry[1]
        doc.user_data[WORDS] = Words(index, norms, norms, tags, minor)
        return doc

    return batched(social_text)


# string -> its StringStore key (what StringStore.add returns: a symbol's id, else the hash), without touching the store
STRING_KEYS = Cache(get_string_id, 500_000)


def set_lemmas(doc: Doc, words: Words) -> None:
    """LEMMA of every word token from the word list (a hashtag's lemma is its words' lemmas), in one array write."""
    strings = doc.vocab.strings
    lemmas = words.lemmas
    keys = list(map(STRING_KEYS.__getitem__, lemmas))
    if not all(map(strings.__contains__, keys)):
        # Token.lemma_ reads the store (and a memory zone forgets the strings added in it)
        for key, lemma in zip(keys, lemmas):
            if key not in strings:
                strings.add(lemma)
    array = doc.to_array(LEMMA)
    array[words.index] = numpy.fromiter(keys, numpy.uint64, len(keys))
    tags = words.tags
    if any(tags):
        for i, lemma in hashtag_lemmas(words):
            array[i] = strings.add(lemma)
    doc.from_array([LEMMA], array)


def hashtag_lemmas(words: Words, only: Container[int] | None = None) -> Iterator[tuple[int, str]]:
    """(token index, lemma) of the hashtags among the words (or of those whose token index is in `only`)."""
    tagged: dict[int, list[str]] = {}
    index, lemmas = words.index, words.lemmas
    for n in compress(range(len(words.tags)), words.tags):
        if only is None or index[n] in only:
            tagged.setdefault(index[n], []).append(lemmas[n])
    return ((i, " ".join(parts)) for i, parts in tagged.items())


def lemmatize(word: str, lang: str = "nl") -> str:
    """simplemma's lemma, lower case; its dictionary writes some compounds as gemeente_raad."""
    return simplemma.lemmatize(word, lang=lang).lower().replace("_", "")


def lemma_cache(lang: str) -> Cache:
    """word -> lemma, cached; a lemma equal to its word is that same string object (cheap to compare)."""

    def compute(word: str) -> str:
        lemma = lemmatize(word, lang)
        return word if lemma == word else lemma

    return Cache(compute)


@Language.factory("simplemma_lemmatizer", default_config={"lang": "nl"})
def make_simplemma_lemmatizer(nlp: Language, name: str, lang: str) -> Callable[[Doc], Doc]:
    """Lemmas from simplemma's dictionary and rules: no POS needed, no download, good on unseen words."""
    lemmas = lemma_cache(lang)

    def simplemma_lemmatizer(doc: Doc) -> Doc:
        words = doc.user_data[WORDS]
        words.lemmas = list(map(lemmas.__getitem__, words.norms))
        set_lemmas(doc, words)
        return doc

    return batched(simplemma_lemmatizer)


@Language.factory(
    "compound_splitter",
    default_config={"lang": "nl", "min_length": 8, "min_part": 4, "linkers": ["s", "e", "en", "-"], "known": []},
)
def make_compound_splitter(
    nlp: Language, name: str, lang: str, min_length: int, min_part: int, linkers: list[str], known: list[str]
) -> Callable[[Doc], Doc]:
    """Split Dutch compounds into known words: samenwerkingsverband -> samenwerking + verband.

    A split needs both sides known to simplemma's dictionary (or listed in `known`), after
    dropping a linking -s-/-e-/-en- from the left part; the split with the longest shorter part
    wins, and both sides are split again. Parts stay as written (the term matcher also tries their
    lemmas). Hashtags written in lower case (#openoverheid) are spelled out as words this way.
    """
    extra = frozenset(w.lower() for w in known)
    lemmas = lemma_cache(lang)

    def is_word(word: str) -> bool:
        return word in extra or simplemma.is_known(word, lang=lang)

    def head_word(head: str) -> str | None:
        for link in linkers:
            if head.endswith(link) and len(head) - len(link) >= min_part and is_word(head[: -len(link)]):
                return head[: -len(link)]
        return head if is_word(head) else None

    def find_halves(word: str) -> tuple[str, str] | None:
        if len(word) < min_length or not word.isalpha():
            return None
        best: tuple[str, str] | None = None
        for k in range(min_part, len(word) - min_part + 1):
            tail = word[k:]
            if not is_word(tail):
                continue
            head = head_word(word[:k])
            if head and (best is None or min(len(head), len(tail)) > min(len(best[0]), len(best[1]))):
                best = (head, tail)
        return best

    halves = Cache(find_halves)

    def find_parts(word: str) -> tuple[str, ...]:
        """Every part at every level: samenwerkingsverband -> samenwerking, samen, werking, verband."""
        pair = halves[word]
        if pair is None:
            return ()
        parts: list[str] = []
        for side in pair:
            parts.append(side)
            parts.extend(split[side])
        return tuple(parts)

    split = Cache(find_parts)

    def spell(word: str) -> list[str]:
        """The smallest parts in reading order: openoverheid -> open, overheid."""
        pair = halves[word]
        return [w for side in pair for w in spell(side)] if pair else [word]

    # a hashtag's one word -> its parts if it is a compound (#openoverheid), else None
    respelled = Cache(lambda word: (parts if len(word) >= min_length and len(parts := spell(word)) > 1 else None))

    def respell_hashtags(doc: Doc, words: Words) -> None:
        """A hashtag in lower case (#openoverheid) spelled out as words, like #OpenOverheid."""
        spelled_at: list[tuple[int, list[str]]] = []
        for n in compress(range(len(words.tags)), words.tags):
            norm = words.norms[n]
            spelled = respelled[norm]
            if spelled and words.tags[n][1:].lower() == norm:
                spelled_at.append((n, spelled))
        if not spelled_at:
            return
        columns = (words.index, words.norms, words.lemmas, words.tags, words.minor)
        new: tuple[list, ...] = ([], [], [], [], [])
        start = 0
        for n, spelled in spelled_at:
            i, tag = words.index[n], words.tags[n]
            doc[i].norm_ = " ".join(spelled)
            k = len(spelled)
            for column, old, part in zip(new, columns, ([i] * k, spelled, [lemmas[w] for w in spelled],
                                                        [tag] * k, [False] * k)):
                column.extend(old[start:n])
                column.extend(part)
            start = n + 1
        for column, old in zip(new, columns):
            column.extend(old[start:])
        respelled_tokens = {words.index[n] for n, _ in spelled_at}
        words.index, words.norms, words.lemmas, words.tags, words.minor = new
        for i, lemma in hashtag_lemmas(words, respelled_tokens):
            doc[i].lemma_ = lemma

    def compound_splitter(doc: Doc) -> Doc:
        words = doc.user_data[WORDS]
        found: dict[int, tuple[str, ...]] = {}
        norms, tags = words.norms, words.tags
        for n, lemma in enumerate(words.lemmas):
            if len(lemma) >= min_length and not tags[n]:
                norm = norms[n]
                parts = split[lemma] or (split[norm] if lemma != norm else ())
                if parts:
                    found[words.index[n]] = parts
        if any(tags):
            respell_hashtags(doc, words)
        doc.user_data[COMPOUNDS] = found
        return doc

    return batched(compound_splitter)


Hits = tuple[tuple[str, str], ...]   # (theme, term) pairs


class TermMatcher:
    """Matches theme terms (words, `stem*`, phrases, `#hashtags`) against lemmas, words and compound parts."""

    def __init__(self, terms: dict[str, list[str]], lemma: Callable[[str], str]):
        self.words: dict[str, list[tuple[str, str]]] = {}      # word or lemma -> (theme, term)
        self.stems: dict[str, list[tuple[str, str]]] = {}      # stem -> (theme, term)
        self.phrases: dict[tuple[str, ...], list[tuple[str, str]]] = {}
        self.tags: dict[str, list[tuple[str, str]]] = {}        # hashtag without '#'
        for theme, items in terms.items():
            for term in items:
                term = term.lower().strip()
                if term.startswith("#"):
                    self.tags.setdefault(term[1:], []).append((theme, term))
                elif term.endswith("*"):
                    self.stems.setdefault(term[:-1], []).append((theme, term))
                elif " " in term:
                    words = tuple(term.split())
                    for key in {words, tuple(lemma(w) for w in words)}:
                        self.phrases.setdefault(key, []).append((theme, term))
                else:
                    for key in {term, lemma(term)}:
                        self.words.setdefault(key, []).append((theme, term))
        self.lemma = lemma
        self.stem_lengths = sorted({len(s) for s in self.stems})
        self.max_phrase = max((len(p) for p in self.phrases), default=0)
        self.phrase_starts = frozenset(p[0] for p in self.phrases)
        self.word_hits: Cache = Cache(self._word_hits)
        # (word, lemma) -> hits of the word and of its lemma
        self.known: Cache = Cache(
            lambda pair: self.word_hits[pair[0]] + (self.word_hits[pair[1]] if pair[1] != pair[0] else ()))
        # hashtag text -> hits; a compound's parts -> hits of every part and of its lemma
        self.tag_hits: Cache = Cache(lambda tag: tuple(self.tags.get(tag[1:].lower(), ())))
        self.part_hits: Cache = Cache(
            lambda parts: tuple(h for p in parts for h in self.word_hits[p] + self.word_hits[self.lemma(p)])
        )

    def _word_hits(self, word: str) -> Hits:
        hits = list(self.words.get(word, ()))
        for n in self.stem_lengths:
            if n > len(word):
                break
            hits.extend(self.stems.get(word[:n], ()))
        return tuple(hits)

    def match(self, words: Words, compounds: dict[int, tuple[str, ...]]) -> dict[str, list[str]]:
        """Theme id -> the words of the text that matched one of its terms, in text order."""
        found: dict[str, list[str]] = {}

        def add(hits: Hits, shown: str) -> None:
            for theme, _term in hits:
                words = found.setdefault(theme, [])
                if shown not in words:
                    words.append(shown)

        known = self.known
        previous = -1
        for i, word, lemma, tag in zip(words.index, words.norms, words.lemmas, words.tags):
            if tag and i != previous:
                add(self.tag_hits[tag], tag)
            hits = known[word, lemma]
            if hits:
                add(hits, tag or word)
            if i != previous and i in compounds:
                add(self.part_hits[compounds[i]], tag or word)
            previous = i
        if self.max_phrase > 1:
            self._match_phrases(words, add)
        return found

    def _match_phrases(self, words: Words, add: Callable[[Hits, str], None]) -> None:
        starts, phrases, max_phrase = self.phrase_starts, self.phrases, self.max_phrase
        index, norms, tags = words.index, words.norms, words.tags
        for seq in (norms, words.lemmas):
            if starts.isdisjoint(seq):
                continue
            for k, first in enumerate(seq):
                if first not in starts:
                    continue
                for n in range(2, min(max_phrase, len(seq) - k) + 1):
                    hits = phrases.get(tuple(seq[k:k + n]))
                    if hits:
                        tag, last = tags[k], k + n - 1
                        within_tag = tag and tags[last] == tag and index[last] == index[k]
                        add(hits, tag if within_tag else " ".join(norms[k:k + n]))


@Language.factory("theme_terms", default_config={"terms": {}, "lang": "nl"})
def make_theme_terms(nlp: Language, name: str, terms: dict[str, list[str]], lang: str) -> ThemeTerms:
    return ThemeTerms(terms, lang)


class ThemeTerms:
    """Sets doc._.term_hits: theme id -> words in the post that matched the theme's terms.

    The terms live in the pipeline's config (saved with the model); `set_terms` replaces them
    with the ones of the current themes file, so editors' changes to terms show at once.
    """

    def __init__(self, terms: dict[str, list[str]], lang: str):
        self.lang = lang
        self.set_terms(terms)

    def set_terms(self, terms: dict[str, list[str]]) -> None:
        self.matcher = TermMatcher(terms, lemma_cache(self.lang).__getitem__)

    def __call__(self, doc: Doc) -> Doc:
        data = doc.user_data
        data[TERM_HITS] = self.matcher.match(data[WORDS], data.get(COMPOUNDS) or {})
        return doc

    def pipe(self, docs: Iterable[Doc], batch_size: int = 256) -> Iterator[Doc]:
        return pipe_in_batches(self, docs, batch_size)


@Language.factory("term_evidence", default_config={"weight": TERM_WEIGHT})
def make_term_evidence(nlp: Language, name: str, weight: float) -> Callable[[Doc], Doc]:
    """After the classifier: each distinct word that matched a theme's terms closes `weight` of the
    gap between the theme's score and 1 (s -> 1 - (1 - s)(1 - weight)^words).

    The classifier learns how much a matched term says from the project's own texts, whose writers
    were asked to imply a theme rather than name it; real writers name it (cultuur, ambtenaren),
    and there the terms rank posts better than the learned weights do. The default weight is the
    one real writing takes (`evidence.TERM_WEIGHT`, docs/nlp-log.md "Fifteenth round"); editors'
    decisions may choose another (evidence.py).
    Without cats (the classifier disabled) it does nothing.
    """
    def term_evidence(doc: Doc) -> Doc:
        cats = doc.cats
        if cats:
            for theme, matched in (doc.user_data.get(TERM_HITS) or {}).items():
                if matched and theme in cats:
                    cats[theme] = raised(cats[theme], len(set(matched)), weight)
        return doc

    return batched(term_evidence)


class WordWalkIdentifier(LanguageIdentifier):
    """py3langid's identifier, its byte-by-byte walk through the n-gram automaton taken a word at a time.

    py3langid walks the text's bytes in Python, the slowest step of the pipeline; posts repeat
    their words, so the walk over a word and the space after it, from the state the text had
    reached before, is cached. The features are collected in the same order, so counts and
    scores are py3langid's exactly (tests/test_nlp.py compares). Relies on py3langid 0.4's
    internals (pinned in pyproject.toml).
    """

    __slots__ = ("_walks",)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # (state, word) -> the walk over the word and the space after it
        self._walks = Cache(lambda key: self._walk(key[0], key[1] + b" "))

    def _walk(self, state: int, piece: bytes) -> tuple[int, tuple[int, ...]]:
        """The state after `piece`, and the features visited on the way."""
        nextmove, rowbase, output = self.tk_nextmove, self._rowbase, self.tk_output
        found = []
        for byte in piece:
            state = nextmove[rowbase[state] + byte]
            feature = output[state]
            if feature >= 0:
                found.append(feature)
        return state, tuple(found)

    def _raw_score(self, text: bytes):
        walks = self._walks
        pieces = text.split(b" ")
        last = pieces.pop()
        state = 0
        visited: list[int] = []
        for piece in pieces:
            state, found = walks[state, piece]
            visited += found
        visited += self._walk(state, last)[1]
        if visited:
            return self._sparse_score(Counter(visited), self.nb_ptc)
        return super()._raw_score(b"")   # no features: py3langid's own answer for that


@Language.factory(
    "language_detector",
    default_config={"languages": ["nl", "en", "de", "fr"], "min_words": 4, "target": "nl", "markers": []},
)
def make_language_detector(
    nlp: Language, name: str, languages: list[str], min_words: int, target: str, markers: list[str]
) -> Callable[[Doc], Doc]:
    """py3langid restricted to a few languages, on the words only (no URLs, mentions, emoji).

    Below `min_words` words there is too little to tell: language stays None (not flagged). A
    post with three or more distinct `markers` (function words only the target language uses)
    making up a tenth of its words is taken as the target language without asking py3langid,
    which is the slowest step of the pipeline otherwise.
    """
    identifier = WordWalkIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    identifier.set_languages(languages)
    markers = frozenset(markers)

    def language_detector(doc: Doc) -> Doc:
        data = doc.user_data
        words = data[WORDS].norms
        found = len(markers.intersection(words))
        if len(words) < min_words:
            data[LANGUAGE], data[LANGUAGE_SCORE] = None, None
        elif markers and found >= 3 and found * 10 >= len(words):
            # plainly the target language: its own function words, many of them; no need to ask langid
            data[LANGUAGE], data[LANGUAGE_SCORE] = target, None
        else:
            language, score = identifier.classify(" ".join(words))
            data[LANGUAGE], data[LANGUAGE_SCORE] = language, round(score, 4)
        return doc

    return batched(language_detector)
