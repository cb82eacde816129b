"""Which initiatives a post talks about, and what in it could be an initiative nobody listed yet.

Pure code: a `Matcher` is built once from a Catalogue and then reads `PostFacts` (the stored
text, hashtags, mentions, links and author of one post); harvester.initiatives.step brings the
posts from the store and takes the answers back.

Evidence, strongest first: the initiative's account wrote or was mentioned; a link to its domain;
one of its hashtags; its name or an alias in the text or inside a hashtag. The consultation's own
tags (#innoverheid, #lanceerplatform) are evidence of nothing: every post carries one.

Many names are ordinary Dutch ('Beter Werken', 'Slimmer Netwerk', 'Doetank', 'PUUR'): in running
text a name counts only where it is written as one, with the capitals the list gives it (or all in
capitals) or as a whole hashtag or handle; a name the list writes in lower case counts in any case.
A hashtag counts whole: a tag that merely starts with a name is another word (#kennislandschap is
no Kennisland).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Container, Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from .catalogue import Catalogue, Initiative, TermKind, host_of, squash

# the rules below: raise it when the same list would find other things in the same posts, so a
# database whose matches were made by older rules has every post matched again
RULES = 2
# small words that may sit inside a name of several capitalised words (Beter Werken in het Openbaar Bestuur)
PARTICLES = {"van", "de", "der", "den", "het", "in", "voor", "en", "op", "te", "ter", "aan", "'t", "of", "&"}
# these join only a longer name ('Beter Werken in het Openbaar Bestuur', not 'Stampijfabriek in Den Haag')
LOOSE_PARTICLES = {"in", "op", "en", "aan", "te", "ter", "of", "&"}
# a capitalised article opens a sentence, not a name
ARTICLES = {"de", "het", "een", "'t"}
# words that open many Dutch sentences: dropped from the front of a name that opens one
OPENERS = ARTICLES | {
    "ook", "onze", "ons", "deze", "dit", "die", "dat", "wij", "we", "zij", "ze", "hij", "jij", "je", "wie", "wat",
    "waar", "hoe", "waarom", "vandaag", "gisteren", "morgen", "nu", "dan", "nog", "en", "maar", "want", "bij", "met",
    "op", "in", "naar", "van", "voor", "over", "door", "als", "zo", "hier", "daar", "er", "al", "samen", "mooi",
    "mooie", "leuk", "leuke", "goed", "goede", "tijdens", "na", "namens", "dank", "dankzij", "volgens", "sinds",
}
# capitalised words that are no name wherever they stand (the polite pronoun, spelled-out abbreviations)
NOT_NAMES = {"u", "uw", "ik", "rt", "cc", "nb", "ps", "via"}

_WORD = re.compile(r"[^\W\d_][\w'’&-]*|&")
_SENTENCE_BREAKS = set(".!?:;•·-–—\"“”(\n")
_URL = re.compile(r"https?://\S+", re.IGNORECASE)
_MENTION = re.compile(r"(?<![\w/])@[\w.-]+(?:@[\w-]+(?:\.[\w-]+)+)?")
_HASHTAG = re.compile(r"(?<![\w/&#])#(\w+)")
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_TOKEN = re.compile(r"\w+")
_GAP = re.compile(r"[ \t\-_.·]*")        # what may stand between a name's words


@dataclass(frozen=True)
class PostFacts:
    """What matching reads of one stored post."""

    post_id: int
    text: str                       # the title, a line break and the plain text
    tags: tuple[str, ...] = ()      # lower case, without '#'
    mentions: tuple[str, ...] = ()  # accounts as stored (name@instance)
    links: tuple[str, ...] = ()
    author: str | None = None       # the author's account: name@instance, a Bluesky handle, else the key


@dataclass(frozen=True)
class Match:
    initiative: str
    via: str            # TermKind: how it was recognised (its strongest evidence)
    evidence: str       # what was found: the account, domain, hashtag or the words as written


@dataclass(frozen=True)
class Term:
    """Something in a post that might be an initiative: a candidate once several authors use it."""

    kind: str           # TermKind
    key: str            # normal form: lower-case tag, account or domain; a name squashed
    label: str          # as written


class Matcher:
    def __init__(self, catalogue: Catalogue, consultation_tags: Iterable[str] = ()):
        self.catalogue = catalogue
        self.consultation_tags = {t.lower().lstrip("#") for t in consultation_tags}
        self.ignore_tags = self.consultation_tags | set(catalogue.ignore_hashtags)
        self.ignore_domains = set(catalogue.ignore_domains)
        self.accounts: dict[str, str] = {}
        self.domains: dict[str, str] = {}
        self.hashtags: dict[str, str] = {}
        self.names: dict[str, str] = {}          # squashed name -> initiative
        # squashed name -> where its written forms have capitals (positions in the squashed name);
        # running text must have the capitals of one of them
        self.capitals: dict[str, set[frozenset[int]]] = {}
        self.beginnings: set[str] = set()        # every squashed name's beginnings: where to stop looking
        for initiative in catalogue.initiatives:
            self._index(initiative)
        self.order = {name: n for n, name in enumerate(catalogue.names())}

    @property
    def digest(self) -> str:
        """What the matches depend on: the catalogue, the consultation's tags (no evidence) and
        the rules. Kept with the matches; another one has every post matched again."""
        material = f"{RULES}\n{self.catalogue.digest}\n{' '.join(sorted(self.consultation_tags))}"
        return hashlib.sha256(material.encode("utf-8")).hexdigest()

    def _index(self, initiative: Initiative) -> None:
        name = initiative.name
        for account in initiative.accounts:
            self.accounts.setdefault(account, name)
        for domain in initiative.domains:
            self.domains.setdefault(domain, name)
        for tag in initiative.hashtags:
            self.hashtags.setdefault(tag, name)
        for written in (initiative.name, *initiative.aliases):
            key = squash(written)
            self.names.setdefault(key, name)
            self.capitals.setdefault(key, set()).add(_capitals(written))
            self.beginnings.update(key[:n] for n in range(1, len(key) + 1))

    # ---- matching ------------------------------------------------------------------------

    def read(self, post: PostFacts) -> tuple[list[Match], list[Term]]:
        """`match` and `terms` of one post, finding the names in its text once."""
        spans = self._name_spans(post.text)
        return self.match(post, spans), self.terms(post, spans)

    def match(self, post: PostFacts, spans: list[tuple[int, int, str]] | None = None) -> list[Match]:
        """The initiatives `post` talks about, each once with its strongest evidence, in catalogue order."""
        found: dict[str, Match] = {}

        def add(initiative: str | None, via: str, evidence: str) -> None:
            if initiative is not None and initiative not in found:
                found[initiative] = Match(initiative, via, evidence)

        if post.author:
            add(self.accounts.get(post.author.lower()), TermKind.ACCOUNT, post.author.lower())
        for account in post.mentions:
            add(self.accounts.get(account.lower()), TermKind.ACCOUNT, account.lower())
        for link in post.links:
            host = _host(link)
            if host:
                add(self.domain_initiative(host), TermKind.DOMAIN, host)
        for tag in post.tags:
            add(self.tag_initiative(tag), TermKind.HASHTAG, tag)
        for start, end, initiative in self._name_spans(post.text) if spans is None else spans:
            add(initiative, TermKind.NAME, " ".join(post.text[start:end].split()))
        return sorted(found.values(), key=lambda m: self.order.get(m.initiative, len(self.order)))

    def domain_initiative(self, host: str) -> str | None:
        """The initiative whose domain `host` is or lies under."""
        domain = _domain_in(host, self.domains)
        return self.domains[domain] if domain else None

    def tag_initiative(self, tag: str) -> str | None:
        """The initiative a hashtag means: listed as its hashtag, or its name run together, in any
        case. Only the whole tag counts: #ynnovatechallenge is a candidate of its own, and
        #kennislandschap is a word. None for the consultation's tags."""
        tag = tag.lower()
        if tag in self.consultation_tags:
            return None
        if tag in self.hashtags:
            return self.hashtags[tag]
        return self.names.get(squash(tag))

    def _name_spans(self, text: str) -> list[tuple[int, int, str]]:
        """(start, end, initiative) of each name or alias in the text, longest first, not overlapping.

        The text's words are compared run-together and case-folded, so 'Beter Werken', 'Beter-Werken'
        and 'BeterWerken' are one name, and 'Burgemeester Academie' is 'Burgemeesteracademie'; only
        spaces, hyphens, dots and underscores may stand between a name's words. A name must carry the
        capitals the list gives it ('beter werken' is ordinary Dutch), unless it is a whole hashtag
        or handle (#beterwerken, @ynnovate). A CamelCase hashtag counts with its words apart
        (#SlimmernetwerkCafe), the consultation's tags not at all. Links are left out (a name in a
        URL is the domain's business).
        """
        words = self._words(_URL.sub(lambda m: " " * len(m.group()), text))
        spans, i = [], 0
        while i < len(words):
            found, key = None, ""
            # no limit on the words: the names' beginnings end the search, and a name may be written
            # in more words than the list has (each word adds a letter to `key`)
            for j in range(i, len(words)):
                if j > i and not words[j][4]:
                    break
                key += words[j][2]
                if key not in self.beginnings:
                    break
                initiative = self.names.get(key)
                if initiative is not None and ((j == i and words[i][3])
                                               or self._written_as_name(key, text[words[i][0]:words[j][1]])):
                    found = (j, initiative)
            if found is None:
                i += 1
                continue
            j, initiative = found
            spans.append((words[i][0], words[j][1], initiative))
            i = j + 1
        return spans

    def _written_as_name(self, key: str, written: str) -> bool:
        """Whether `written` (the words as in the text) has the capitals of one of the list's forms of `key`."""
        upper = _capitals(written)
        return any(required <= upper for required in self.capitals[key])

    def _words(self, text: str) -> list[tuple[int, int, str, bool, bool]]:
        """(start, end, folded word, a whole hashtag or handle, joins the word before) of each word;
        CamelCase hashtags in their words. A handle (@ynnovate) is written as a name in any case, like
        a hashtag. A word joins the one before when only a space, hyphen, dot or underscore stands
        between them."""
        words = []
        for start, end, word, whole in self._raw_words(text):
            joins = bool(words) and _GAP.fullmatch(text, words[-1][1], start) is not None
            words.append((start, end, word, whole, joins))
        return words

    def _raw_words(self, text: str) -> list[tuple[int, int, str, bool]]:
        words = []
        for m in _TOKEN.finditer(text):
            start, word = m.start(), m.group()
            if start and text[start - 1] == "#":
                if word.lower() in self.consultation_tags:
                    continue
                if word != word.lower() and word != word.upper():
                    parts = _CAMEL.split(word)
                    if len(parts) > 1:
                        for part in parts:
                            words.append((start, start + len(part), _fold(part), False))
                            start += len(part)
                        continue
                words.append((start, m.end(), _fold(word), True))
            else:
                words.append((start, m.end(), _fold(word), bool(start) and text[start - 1] == "@"))
        return words

    # ---- candidates ----------------------------------------------------------------------

    def terms(self, post: PostFacts, spans: list[tuple[int, int, str]] | None = None) -> list[Term]:
        """What in `post` could be an initiative nobody listed: hashtags, mentioned accounts,
        linked domains and capitalised names that no initiative of the catalogue claims."""
        found: dict[tuple[str, str], Term] = {}

        def add(kind: str, key: str, label: str) -> None:
            found.setdefault((kind, key), Term(kind, key, label))

        for tag in post.tags:
            tag = tag.lower()
            if tag not in self.ignore_tags and self.tag_initiative(tag) is None:
                add(TermKind.HASHTAG, tag, "#" + tag)
        for account in post.mentions:
            account = account.lower()
            if account not in self.accounts and account != (post.author or "").lower():
                add(TermKind.ACCOUNT, account, "@" + account)
        for link in post.links:
            host = _host(link)
            if host and self.domain_initiative(host) is None and not _domain_in(host, self.ignore_domains):
                add(TermKind.DOMAIN, host, host)
        text = post.text
        # every known name cut out: what remains around it may still be a name
        for start, end, _ in reversed(self._name_spans(text) if spans is None else spans):
            text = text[:start] + " . " + text[end:]
        for name in capitalised_names(text):
            add(TermKind.NAME, squash(name), name)
        return list(found.values())



def capitalised_names(text: str) -> list[str]:
    """Runs of capitalised words that do not just open a sentence: 'Grand Parade', 'Open State
    Foundation', 'Beter Werken in het Openbaar Bestuur', or one capitalised word inside a sentence
    ('bij de Stampijfabriek'). Dutch capitalises little else, so these are mostly names."""
    text = _HASHTAG.sub(" . ", _MENTION.sub(" . ", _URL.sub(" . ", text)))
    names: list[str] = []
    run: list[tuple[str, bool]] = []      # (word, capitalised)
    run_start_initial = False
    last_end = 0

    def close() -> None:
        nonlocal run_start_initial
        while run and not run[-1][1]:
            run.pop()
        # 'Ook de Grand Parade', 'Onze Mijn Wijk App': a sentence's first word is rarely part of the name
        while run_start_initial and run and run[0][0].lower() in OPENERS:
            run.pop(0)
        while run and run[0][0].lower() in ARTICLES:     # 'De Grand Parade' is the Grand Parade
            run.pop(0)
            run_start_initial = False
        capitals = sum(1 for _, cap in run if cap)
        if capitals >= 2 or (capitals == 1 and not run_start_initial):
            name = " ".join(w for w, _ in run)
            if squash(name) not in NOT_NAMES and len(squash(name)) >= 3:
                names.append(name)
        run.clear()

    for m in _WORD.finditer(text):
        word = m.group().strip("'’-")
        if not word:
            continue
        between = text[last_end:m.start()]
        last_end = m.end()
        capital = word[0].isupper() and squash(word) not in NOT_NAMES
        if run and between.strip():            # punctuation ends a name
            close()
        if capital:
            if not run:
                run_start_initial = _opens_sentence(text, m.start())
            run.append((word, True))
        elif run and word.lower() in PARTICLES and (
                word.lower() not in LOOSE_PARTICLES or sum(1 for _, cap in run if cap) >= 2):
            run.append((word, False))
        elif run:
            close()
    close()
    return list(dict.fromkeys(names))


def _opens_sentence(text: str, at: int) -> bool:
    """Whether the word at `at` is the first of a sentence, a line or a list item."""
    at -= 1
    while at >= 0 and text[at] in " \t":
        at -= 1
    return at < 0 or text[at] in _SENTENCE_BREAKS


def _capitals(written: str) -> frozenset[int]:
    """Where `written` has capitals, as positions in its squashed form ('Beter Werken': 0 and 5)."""
    positions, at = set(), 0
    for c in written:
        folded = squash(c)
        if folded and c.isupper():
            positions.add(at)
        at += len(folded)
    return frozenset(positions)


def _fold(word: str) -> str:
    """A word as `squash` compares it (the word pattern leaves only letters, digits and '_')."""
    return squash(word) if not word.isascii() else word.lower().replace("_", "")


def _domain_in(host: str, domains: Container[str]) -> str | None:
    """`host` or the domain it lies under (news.kl.nl: kl.nl) when `domains` holds it."""
    while host:
        if host in domains:
            return host
        host = host.partition(".")[2]
    return None


def _host(link: str) -> str | None:
    try:
        host = urlsplit(link).hostname
    except ValueError:
        return None
    return host_of(host) if host else None
