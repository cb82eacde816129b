"""The catalogue of initiatives: config/initiatives.toml, plus what editors confirmed in the app.

Pure: reading and checking the file, merging the editors' decisions into it, and a digest of the
result with the consultation's tags. The digest is stored with the matches
(harvester.store.initiatives), so a changed file, a new decision or other tags are noticed and every
post is matched again.
"""

from __future__ import annotations

import hashlib
import json
import re
import tomllib
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path

from ..errors import UsageError
from ..models import DomainWord

ACCOUNT = re.compile(r"@?([\w.-]+@[\w-]+(?:\.[\w-]+)+)")
DOMAIN = re.compile(r"(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+[a-z]{2,}")
TAG = re.compile(r"#?(\w+)")


class InitiativesError(UsageError):
    """The initiatives file cannot be used; the message names the file, the entry and the problem."""


class TermKind(DomainWord):
    """What a candidate (and the evidence of a match) is: stored in the database as its value."""

    NAME = "naam"
    HASHTAG = "hashtag"
    ACCOUNT = "account"
    DOMAIN = "domein"


class Decision(DomainWord):
    """An editor's decision on a candidate."""

    CONFIRMED = "bevestigd"     # a new initiative
    ALIAS = "alias"             # another name, tag, account or domain of a known initiative
    DISMISSED = "afgewezen"     # no initiative; not proposed again


@dataclass(frozen=True)
class Initiative:
    name: str
    aliases: tuple[str, ...] = ()
    hashtags: tuple[str, ...] = ()      # lower case, without '#'
    accounts: tuple[str, ...] = ()      # lower case, name@instance
    domains: tuple[str, ...] = ()       # lower case, without 'www.'

    @property
    def slug(self) -> str:
        return slug(self.name)

    def with_term(self, kind: str, term: str) -> Initiative:
        """This initiative with one more alias, hashtag, account or domain."""
        field_name = {TermKind.NAME: "aliases", TermKind.HASHTAG: "hashtags", TermKind.ACCOUNT: "accounts",
                      TermKind.DOMAIN: "domains"}[TermKind(kind)]
        values = getattr(self, field_name)
        return self if term in values else replace(self, **{field_name: (*values, term)})


@dataclass(frozen=True)
class CandidateDecision:
    """An editor's decision as the store keeps it: `initiative` names the new or existing initiative."""

    kind: str
    term: str           # the candidate's key: a normalised name, tag, account or domain
    label: str          # as written in the posts (for a name: the alias to add)
    decision: str
    initiative: str | None


@dataclass(frozen=True)
class Catalogue:
    initiatives: tuple[Initiative, ...]
    ignore_domains: tuple[str, ...] = ()
    ignore_hashtags: tuple[str, ...] = ()
    source: str = ""                    # the file's text (for the digest)
    decisions: tuple[CandidateDecision, ...] = field(default=())
    # additions to an initiative that is not (or no longer) in the list: they wait until it is back
    unapplied: tuple[CandidateDecision, ...] = field(default=())

    def digest(self, tags: Iterable[str]) -> str:
        """Changes whenever matching could give another answer: the file, an editor's decision, or
        the consultation's own `tags` (evidence of nothing, and never a candidate)."""
        material = json.dumps([self.source, [list(d.__dict__.values()) for d in self.decisions], sorted(set(tags))],
                              ensure_ascii=False)
        return hashlib.sha256(material.encode("utf-8")).hexdigest()

    def by_slug(self, value: str) -> Initiative | None:
        return next((i for i in self.initiatives if i.slug == value), None)

    def names(self) -> list[str]:
        return [i.name for i in self.initiatives]

    def named(self, written: str) -> Initiative | None:
        """The initiative with this name or alias, compared as `squash` does."""
        wanted = squash(written)
        return next((i for i in self.initiatives if wanted in {squash(w) for w in (i.name, *i.aliases)}), None)

    def with_decisions(self, decisions: list[CandidateDecision]) -> Catalogue:
        """The file's initiatives with the editors' confirmed initiatives and additions.

        A decision names its initiative as it was called then; it finds it by name or alias, so an
        initiative renamed in the file with its old name kept as an alias keeps what editors added.
        Confirmations go first: an addition finds a confirmed initiative whatever the order they
        were decided in. An addition whose initiative is gone (deleted from the file, renamed
        without the old name as alias, its confirmation undone) does not bring it back: it waits in
        `unapplied`, and applies again once the initiative is back.
        """
        initiatives = list(self.initiatives)
        index: dict[str, int] = {}      # squashed name or alias -> place in `initiatives`

        def remember(n: int) -> None:
            for written in (initiatives[n].name, *initiatives[n].aliases):
                index.setdefault(squash(written), n)

        for n in range(len(initiatives)):
            remember(n)
        unapplied = []
        for d in sorted(decisions, key=lambda d: d.decision != Decision.CONFIRMED):
            if d.decision == Decision.DISMISSED or not d.initiative:
                continue
            n = index.get(squash(d.initiative))
            if n is None and d.decision != Decision.CONFIRMED:
                unapplied.append(d)
                continue
            if n is None:
                initiatives.append(Initiative(d.initiative))
                n = len(initiatives) - 1
                remember(n)
            term = d.label if d.kind == TermKind.NAME else d.term
            if d.kind != TermKind.NAME or squash(term) not in index:     # a name already known adds nothing
                initiatives[n] = initiatives[n].with_term(d.kind, term)
                remember(n)
        return replace(self, initiatives=tuple(initiatives), decisions=tuple(decisions), unapplied=tuple(unapplied))


def squash(value: str) -> str:
    """A name as compared: case folded, without accents, spaces and punctuation ('Beter-Werken' = 'beterwerken')."""
    decomposed = unicodedata.normalize("NFKD", value.casefold())
    return "".join(c for c in decomposed if c.isalnum())


def slug(name: str) -> str:
    """The initiative's part of its page's address: lower-case words joined by '-'."""
    decomposed = unicodedata.normalize("NFKD", name.casefold())
    words = re.findall(r"\w+", "".join(c for c in decomposed if not unicodedata.combining(c)))
    return "-".join(w.replace("_", "-") for w in words) or "initiatief"


def host_of(domain: str) -> str:
    domain = domain.strip().lower().rstrip(".")
    return domain[4:] if domain.startswith("www.") else domain


def load_catalogue(path: str | Path) -> Catalogue:
    """Read and check an initiatives file; InitiativesError (Dutch) names what is wrong."""
    path = Path(path)
    try:
        source = path.read_text(encoding="utf-8")
        raw = tomllib.loads(source)
    except FileNotFoundError:
        raise InitiativesError(f"{path}: bestand met initiatieven niet gevonden") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise InitiativesError(f"{path}: geen geldige TOML: {e}") from None
    return parse_catalogue(raw, source, str(path))


def parse_catalogue(raw: dict, source: str, where: str) -> Catalogue:
    unknown = set(raw) - {"initiatives", "candidates"}
    if unknown:
        raise InitiativesError(f"{where}: onbekende sectie {sorted(unknown)[0]!r} (bekend: initiatives, candidates)")
    items = raw.get("initiatives", [])
    if not isinstance(items, list):
        raise InitiativesError(f"{where}: schrijf initiatieven als [[initiatives]]-tabellen")
    initiatives: list[Initiative] = []
    seen: dict[str, str] = {}
    claimed: dict[tuple[str, str], str] = {}     # (kind, hashtag, account or domain) -> initiative
    for n, item in enumerate(items):
        at = f"{where}: initiatives[{n}]"
        if not isinstance(item, dict):
            raise InitiativesError(f"{at}: moet een tabel zijn")
        unknown = set(item) - {"name", "aliases", "hashtags", "accounts", "domains"}
        if unknown:
            raise InitiativesError(f"{at}: onbekende sleutel {sorted(unknown)[0]!r} "
                                   "(bekend: name, aliases, hashtags, accounts, domains)")
        name = item.get("name")
        if not isinstance(name, str) or not squash(name):
            raise InitiativesError(f"{at}.name: ontbreekt of bevat geen letters of cijfers")
        at = f"{where}: initiatives[{n}] ({name})"
        initiative = Initiative(
            name=" ".join(name.split()),
            aliases=tuple(" ".join(a.split()) for a in _strings(item, "aliases", at) if squash(a)),
            hashtags=tuple(_checked(item, "hashtags", at, TAG, "geen hashtag")),
            accounts=tuple(_checked(item, "accounts", at, ACCOUNT, "geen account als @naam@instance")),
            domains=tuple(host_of(d) for d in _checked(item, "domains", at, DOMAIN, "geen domeinnaam", group=0)),
        )
        if squash(initiative.name) in seen:
            raise InitiativesError(f"{at}: de naam hoort al bij {seen[squash(initiative.name)]!r}")
        for written in (initiative.name, *initiative.aliases):
            other = seen.setdefault(squash(written), initiative.name)
            if other != initiative.name:
                raise InitiativesError(f"{at}: de naam {written!r} hoort al bij {other!r}")
        # matching gives a post to the first initiative claiming its term: the second one's would be dead
        for kind, written in ([("de hashtag", f"#{t}") for t in initiative.hashtags]
                              + [("het account", f"@{a}") for a in initiative.accounts]
                              + [("het domein", d) for d in initiative.domains]):
            other = claimed.setdefault((kind, written), initiative.name)
            if other != initiative.name:
                raise InitiativesError(f"{at}: {kind} {written!r} hoort al bij {other!r}")
        initiatives.append(initiative)
    for n, initiative in enumerate(initiatives):     # a hashtag is matched before the names inside hashtags
        for tag in initiative.hashtags:
            other = seen.get(squash(tag), initiative.name)
            if other != initiative.name:
                raise InitiativesError(f"{where}: initiatives[{n}] ({initiative.name}): de hashtag '#{tag}' is de "
                                       f"naam van {other!r}")
    candidates = raw.get("candidates", {})
    if not isinstance(candidates, dict) or set(candidates) - {"ignore_domains", "ignore_hashtags"}:
        raise InitiativesError(f"{where}: [candidates] kent alleen ignore_domains en ignore_hashtags")
    at = f"{where}: candidates"
    return Catalogue(
        initiatives=tuple(initiatives),
        ignore_domains=tuple(host_of(d) for d in _checked(candidates, "ignore_domains", at, DOMAIN, "geen domeinnaam",
                                                          group=0)),
        ignore_hashtags=tuple(_checked(candidates, "ignore_hashtags", at, TAG, "geen hashtag")),
        source=source,
    )


def _strings(table: dict, key: str, at: str) -> list[str]:
    values = table.get(key, [])
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise InitiativesError(f"{at}.{key}: moet een lijst met teksten zijn")
    return values


def _checked(table: dict, key: str, at: str, pattern: re.Pattern, problem: str, group: int = 1) -> list[str]:
    """The list's values in their normal form (lower case, the pattern's group), each checked."""
    found = []
    for value in _strings(table, key, at):
        match = pattern.fullmatch(value.strip().lower())
        if match is None:
            raise InitiativesError(f"{at}.{key}: {value!r} is {problem}")
        found.append(match.group(group))
    return found
