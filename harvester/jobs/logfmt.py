"""The key=value log lines the collectors and the background job write, one per run.

`logfmt(source="blog", status="ok", duration=seconds(0.21))` -> 'source=blog status=ok duration=0.21s'.
Keys stay in the order given; a None value is left out; `error` and `reason` are always quoted (free
Dutch text), other values only when they hold a space, a quote or an '=' (or are empty).
"""

from __future__ import annotations

import re

_PLAIN = re.compile(r"[^\s\"=\\]+")
_ALWAYS_QUOTED = frozenset({"error", "reason"})


def quote(value: str) -> str:
    """A value in double quotes, backslash and quote escaped, on one line."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ") + '"'


def seconds(value: float) -> str:
    """A duration as the lines write it: '0.21s'."""
    return f"{value:.2f}s"


def logfmt(**fields: object) -> str:
    parts = []
    for key, value in fields.items():
        if value is None:
            continue
        text = str(value)
        if key in _ALWAYS_QUOTED or not _PLAIN.fullmatch(text):
            text = quote(text)
        parts.append(f"{key}={text}")
    return " ".join(parts)
