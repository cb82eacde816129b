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
from collections.abc import Callable
from functools import lru_cache

import simplemma
from py3langid.langid import MODEL_FILE, LanguageIdentifier
from spacy.attrs import LEMMA, NORM, ORTH
from spacy.language import Language
from spacy.tokenizer import Tokenizer
from spacy.tokens import Doc
from spacy.util import compile_infix_regex, compile_prefix_regex, compile_suffix_regex, registry

# NORM values of tokens that are not words
URL, MENTION, EMOJI = "<url>", "<mention>", "<emoji>"

# Per doc. `words`: the post's words in order, each [token index, norm, lemma, hashtag, minor]:
# URLs, mentions, emoji and punctuation left out, a hashtag spelled out as one entry per word
# (`hashtag` holds its text, e.g. "#OpenOverheid"), `minor` marks stop words and numbers.
# Later components read this list instead of walking the tokens again: the pipeline runs at
# thousands of posts a second, and creating Token objects is what costs.
# `compounds`: token index -> parts of a compound; `term_hits`: theme id -> matched words.
Doc.set_extension("words", default=None)
Doc.set_extension("compounds", default=None)
Doc.set_extension("term_hits", default=None)
Doc.set_extension("language", default=None)
Doc.set_extension("language_score", default=None)

CAMEL_RE = re.compile(r"[A-ZÀ-Ý]+(?![a-zß-ÿ])|[A-ZÀ-Ý]?[a-zß-ÿ]+|\d+")
CACHE_SIZE = 200_000


@registry.tokenizers("harvester.social_tokenizer.v1")
def create_social_tokenizer() -> Callable[[Language], Tokenizer]:
    """The language's tokenizer, except that '#' is no prefix: `#OpenOverheid` stays one token."""

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
        )

    return make


def split_hashtag(tag: str) -> list[str]:
    """`OpenOverheid` -> ['open', 'overheid']; `WOO2024` -> ['woo', '2024']; lower case stays whole."""
    return [p.lower() for p in CAMEL_RE.findall(tag)] or [tag.lower()]


def is_emoji(text: str) -> bool:
    return not any(c.isalnum() for c in text) and any(unicodedata.category(c) in ("So", "Sk") for c in text)


# what social_text makes of a lexeme: skipped, a word, or one of the kinds that are no words
SKIP, WORD, HASHTAG = 0, 1, 2


def _lexeme_kind(lexeme) -> tuple[int, str | None, bool]:
    """(kind, marker NORM or None, minor) for one vocabulary entry; cached per ORTH by the caller."""
    text = lexeme.orth_
    first = text[0] if text else " "
    if lexeme.is_punct or lexeme.is_space or not text:
        return SKIP, None, False
    if lexeme.like_url:
        return SKIP, URL, False
    if first == "@" and len(text) > 1:
        return SKIP, MENTION, False
    if first == "#" and len(text) > 1:
        return HASHTAG, None, False
    if not first.isalnum() and is_emoji(text):
        return SKIP, EMOJI, False
    return WORD, None, lexeme.is_stop or lexeme.like_num


@Language.factory("social_text")
def make_social_text(nlp: Language, name: str) -> Callable[[Doc], Doc]:
    """URLs, mentions and emoji get a marker NORM (never words); a hashtag's NORM is its words.

    Builds doc._.words. Works on ORTH ids with a per-lexeme cache, touching Token objects only
    for the few tokens whose NORM changes.
    """
    vocab = nlp.vocab
    kinds: dict[int, tuple[int, str | None, bool]] = {}
    norms: dict[int, str] = {}   # NORM id -> text, quicker than the StringStore

    def social_text(doc: Doc) -> Doc:
        words: list[list] = []
        strings = vocab.strings
        if len(kinds) > CACHE_SIZE:
            kinds.clear()
            norms.clear()
        for i, (orth, norm) in enumerate(doc.to_array([ORTH, NORM]).tolist()):
            kind = kinds.get(orth)
            if kind is None:
                kind = kinds[orth] = _lexeme_kind(vocab[orth])
            what, marker, minor = kind
            if what == WORD:
                norm_ = norms.get(norm)
                if norm_ is None:
                    norm_ = norms[norm] = strings[norm]
                words.append([i, norm_, norm_, None, minor])
            elif what == HASHTAG:
                text = strings[orth]
                spelled = split_hashtag(text[1:])
                doc[i].norm_ = " ".join(spelled)
                words.extend([i, w, w, text, False] for w in spelled)
            elif marker:
                doc[i].norm_ = marker
        doc._.words = words
        return doc

    return social_text


def set_lemmas(doc: Doc, words: list[list]) -> None:
    """LEMMA of every word token from the word list (a hashtag's lemma is its words' lemmas), in one array write."""
    strings = doc.vocab.strings
    lemmas = doc.to_array([LEMMA])
    previous = -1
    for i, _, lemma, tag, _ in words:
        if i == previous:
            continue
        previous = i
        lemmas[i] = strings.add(" ".join(w[2] for w in words if w[0] == i) if tag else lemma)
    doc.from_array([LEMMA], lemmas)


def lemmatize(word: str, lang: str = "nl") -> str:
    """simplemma's lemma, lower case; its dictionary writes some compounds as gemeente_raad."""
    return simplemma.lemmatize(word, lang=lang).lower().replace("_", "")


@Language.factory("simplemma_lemmatizer", default_config={"lang": "nl"})
def make_simplemma_lemmatizer(nlp: Language, name: str, lang: str) -> Callable[[Doc], Doc]:
    """Lemmas from simplemma's dictionary and rules: no POS needed, no download, good on unseen words."""

    lemma = lru_cache(maxsize=CACHE_SIZE)(lambda word: lemmatize(word, lang))

    def simplemma_lemmatizer(doc: Doc) -> Doc:
        words = doc._.words
        for word in words:
            word[2] = lemma(word[1])
        set_lemmas(doc, words)
        return doc

    simplemma_lemmatizer.lemma = lemma  # type: ignore[attr-defined]
    return simplemma_lemmatizer


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

    def is_word(word: str) -> bool:
        return word in extra or simplemma.is_known(word, lang=lang)

    def head_word(head: str) -> str | None:
        for link in linkers:
            if head.endswith(link) and len(head) - len(link) >= min_part and is_word(head[: -len(link)]):
                return head[: -len(link)]
        return head if is_word(head) else None

    @lru_cache(maxsize=CACHE_SIZE)
    def halves(word: str) -> tuple[str, str] | None:
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

    @lru_cache(maxsize=CACHE_SIZE)
    def split(word: str) -> tuple[str, ...]:
        """Every part at every level: samenwerkingsverband -> samenwerking, samen, werking, verband."""
        pair = halves(word)
        if pair is None:
            return ()
        parts: list[str] = []
        for side in pair:
            parts.append(side)
            parts.extend(split(side))
        return tuple(parts)

    def spell(word: str) -> list[str]:
        """The smallest parts in reading order: openoverheid -> open, overheid."""
        pair = halves(word)
        return [w for side in pair for w in spell(side)] if pair else [word]

    def compound_splitter(doc: Doc) -> Doc:
        found: dict[int, tuple[str, ...]] = {}
        words = doc._.words
        respelled = False
        for n, (i, norm, lemma, tag, _) in enumerate(words):
            if tag:
                if len(norm) >= min_length and tag[1:].lower() == norm:
                    # a hashtag in lower case: spell it out as words, like #OpenOverheid
                    spelled = spell(norm)
                    if len(spelled) > 1:
                        words[n] = [[i, w, lemmatize(w, lang), tag, False] for w in spelled]
                        doc[i].norm_ = " ".join(spelled)
                        respelled = True
                continue
            if len(lemma) >= min_length:
                parts = split(lemma) or (split(norm) if lemma != norm else ())
                if parts:
                    found[i] = parts
        if respelled:
            words[:] = [e for w in words for e in (w if isinstance(w[0], list) else [w])]
            set_lemmas(doc, words)
        doc._.compounds = found
        return doc

    compound_splitter.split = split  # type: ignore[attr-defined]
    return compound_splitter


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
        self.word_hits = lru_cache(maxsize=CACHE_SIZE)(self._word_hits)
        # word -> hits of the word and of its lemma (a word's lemma never changes within a pipeline)
        self.known: dict[str, tuple[tuple[str, str], ...]] = {}

    def _word_hits(self, word: str) -> tuple[tuple[str, str], ...]:
        hits = list(self.words.get(word, ()))
        for n in self.stem_lengths:
            if n > len(word):
                break
            hits.extend(self.stems.get(word[:n], ()))
        return tuple(hits)

    def match(self, doc: Doc) -> dict[str, list[str]]:
        """Theme id -> the words of the text that matched one of its terms, in text order."""
        found: dict[str, list[str]] = {}

        def add(hits, shown: str) -> None:
            for theme, _term in hits:
                words = found.setdefault(theme, [])
                if shown not in words:
                    words.append(shown)

        seq_words: list[str] = []
        seq_lemmas: list[str] = []
        seq_tags: list = []   # (token index, hashtag) for words spelled out of a hashtag
        compounds = doc._.compounds or {}
        previous = -1
        known = self.known
        for i, word, lemma, tag, _ in doc._.words:
            if tag and i != previous:
                add(self.tags.get(tag[1:].lower(), ()), tag)
            hits = known.get(word)
            if hits is None:
                if len(known) > CACHE_SIZE:
                    known.clear()
                hits = known[word] = self.word_hits(word) + (self.word_hits(lemma) if lemma != word else ())
            if hits:
                add(hits, tag or word)
            seq_words.append(word)
            seq_lemmas.append(lemma)
            seq_tags.append(tag and (i, tag))
            if i != previous and i in compounds:
                for part in compounds[i]:
                    add(self.word_hits(part) + self.word_hits(self.lemma(part)), tag or word)
            previous = i
        if self.max_phrase > 1:
            starts = self.phrase_starts
            for seq in (seq_words, seq_lemmas):
                for i, first in enumerate(seq):
                    if first not in starts:
                        continue
                    for n in range(2, min(self.max_phrase, len(seq) - i) + 1):
                        hits = self.phrases.get(tuple(seq[i:i + n]))
                        if hits:
                            tag = seq_tags[i]
                            within_tag = tag and seq_tags[i + n - 1] == tag
                            add(hits, tag[1] if within_tag else " ".join(seq_words[i:i + n]))
        return found


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
        lang = self.lang
        self.matcher = TermMatcher(terms, lambda w: lemmatize(w, lang))

    def __call__(self, doc: Doc) -> Doc:
        doc._.term_hits = self.matcher.match(doc)
        return doc


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
    identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    identifier.set_languages(languages)
    markers = frozenset(markers)

    def language_detector(doc: Doc) -> Doc:
        words = [w[1] for w in doc._.words]
        found = len(markers.intersection(words))
        if len(words) < min_words:
            doc._.language, doc._.language_score = None, None
        elif markers and found >= 3 and found * 10 >= len(words):
            # plainly the target language: its own function words, many of them; no need to ask langid
            doc._.language, doc._.language_score = target, None
        else:
            doc._.language, score = identifier.classify(" ".join(words))
            doc._.language_score = round(score, 4)
        return doc

    return language_detector
