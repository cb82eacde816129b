"""Dutch wording that texts for people share: the command line's closing lines and the documents."""

from __future__ import annotations


def counted(n: int, one: str, many: str) -> str:
    """'1 idee', '3 ideeën': a count with its noun in the right number. Dutch plurals follow no rule
    code could apply (idee/ideeën, thema/thema's, initiatief/initiatieven), so the caller names both."""
    return f"{n} {one if n == 1 else many}"
