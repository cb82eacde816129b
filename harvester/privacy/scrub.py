"""The one scrubber: replaces every way a text names a person, and quotes of their posts.

Forgetting an author (harvester.privacy.forget) and giving an accepted post a pseudonym
(harvester.privacy.retention) both remove a person from text, so both use this: what to look for
differs (an author's keys and names, a post's own addresses, the posts' words), how it is found
does not.

- keys (accts, profile and post URLs, `Name (site)`): as written, also HTML-escaped; an acct
  also with its `@` (`@anna@mastodon.example`);
- names: as whole words, at least MIN_NAME_LENGTH characters ("Jo" is in too many words), also
  without what a display name adds to the name a person signs with (`:custom_emoji:`, emoji,
  "(hij/hem)"): "Jan de Vries 🌻" is found as "Jan de Vries" too;
- handles (the local part of an acct): only as an @mention, `@anna` or Mastodon's HTML
  `@<span>anna</span>`, and not when an @domain follows (someone of that name elsewhere);
- quotes: a run of at least QUOTE_WORDS words from one of `quoted` (a shorter text: all its words,
  if at least MIN_QUOTE_WORDS), compared word by word and case-insensitively, so punctuation and
  line breaks around a quote do not hide it.

Everything is matched case-insensitively and never inside a longer word or address.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable
from functools import cached_property

# what a scrubbed note says where it named a forgotten author or quoted a removed post
REMOVED = "[verwijderd]"
MIN_NAME_LENGTH = 3
QUOTE_WORDS = 5
MIN_QUOTE_WORDS = 3

_ACCT = re.compile(r"^@?[\w.-]+@[\w-]+(?:\.[\w-]+)+$")


class Scrubber:
    def __init__(self, replacement: str, *, keys: Iterable[str] = (), names: Iterable[str] = (),
                 handles: Iterable[str] = (), quoted: Iterable[str | None] = ()):
        self.replacement = replacement
        literals = {k.strip() for k in keys if k and k.strip()}
        literals |= {"@" + k.lstrip("@") for k in literals if _ACCT.match(k)}
        words = {form for n in names if n for form in (n.strip(), _signed(n)) if len(form) >= MIN_NAME_LENGTH}
        self._literals = _with_escaped(literals | words)
        self._handles = {h for h in handles if h}
        # every match holds one of these: a text without any is returned unread by the pattern, and
        # the pattern is only compiled once a text needs it (an export holds a scrubber per author).
        # One that holds another (`@anna@x` holds `anna@x`) adds nothing to the check.
        needles = {_fold(s) for s in self._literals | self._handles}
        self._needles = tuple(n for n in needles if not any(m in n for m in needles if m != n))
        self.quotes: dict[int, set[tuple[str, ...]]] = {}
        for text in quoted:
            words_of = _words(text or "")
            n = min(QUOTE_WORDS, len(words_of))
            if n >= MIN_QUOTE_WORDS:
                self.quotes.setdefault(n, set()).update(
                    tuple(words_of[i:i + n]) for i in range(len(words_of) - n + 1))

    @cached_property
    def pattern(self) -> re.Pattern[str]:
        patterns = [re.escape(s) for s in self._literals]
        patterns += [rf"@(?:<span[^>]*>)?{re.escape(h)}(?:</span>)?(?!@\w)" for h in sorted(self._handles)]
        # longest first, so a post URL wins over the profile URL it starts with
        patterns.sort(key=len, reverse=True)
        return re.compile(r"(?<![\w/@])(?:" + "|".join(patterns) + r")(?![\w@-])", re.IGNORECASE)

    def __call__(self, text: str) -> str:
        if self._needles:
            folded = _fold(text)
            for needle in self._needles:
                if needle in folded:
                    text = self.pattern.sub(lambda match: self.replacement, text)
                    break
        return self._without_quotes(text) if self.quotes else text

    def _without_quotes(self, text: str) -> str:
        tokens = [(m.start(), m.end(), m.group().casefold()) for m in re.finditer(r"\w+", text)]
        words = [t[2] for t in tokens]
        quoted = [False] * len(tokens)
        for n, shingles in self.quotes.items():
            for i in range(len(words) - n + 1):
                if tuple(words[i:i + n]) in shingles:
                    quoted[i:i + n] = [True] * n
        spans: list[list[int]] = []
        for i, hit in enumerate(quoted):
            if hit and spans and spans[-1][1] == i - 1:
                spans[-1][1] = i
            elif hit:
                spans.append([i, i])
        for first, last in reversed(spans):
            text = text[:tokens[first][0]] + self.replacement + text[tokens[last][1]:]
        return text


def _fold(text: str) -> str:
    """Case-folded so that whatever the pattern matches ignoring case, the folded text contains
    folded: `re` also lets i and I match the dotless ı and the dotted İ, which casefold leaves
    as ı and makes i plus a combining dot."""
    return text.replace("İ", "i").casefold().replace("ı", "i")


_DECORATION = re.compile(r":[\w+-]+:|\([^)]*\)|\[[^\]]*\]|[^\w\s.'’-]")


def _signed(name: str) -> str:
    """A display name as its owner would sign: without custom emoji (`:verified:`), emoji and
    other symbols, and bracketed additions such as pronouns."""
    return " ".join(_DECORATION.sub(" ", name).split())


def _words(text: str) -> list[str]:
    return [w.casefold() for w in re.findall(r"\w+", text)]


def _with_escaped(values: Iterable[str]) -> set[str]:
    """The values as they are and as they appear in HTML (`&` as `&amp;`)."""
    return {v for value in values for v in (value, html.escape(value, quote=False), html.escape(value))}
