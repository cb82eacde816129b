"""Dutch wording that texts for people share: the command line's closing lines, the documents, errors."""

from __future__ import annotations

import errno


def counted(n: int, one: str, many: str) -> str:
    """'1 idee', '3 ideeën': a count with its noun in the right number. Dutch plurals follow no rule
    code could apply (idee/ideeën, thema/thema's, initiatief/initiatieven), so the caller names both."""
    return f"{n} {one if n == 1 else many}"


def decimal(value: float | None, places: int = 2) -> str:
    """A number as Dutch readers write it (0,35); '-' for none."""
    return "-" if value is None else f"{value:.{places}f}".replace(".", ",")


# the reasons the system gives most for refusing to read or write a file
_OS_ERRORS = {
    errno.ENOSPC: "de schijf is vol",
    errno.EDQUOT: "de schijfruimte van deze gebruiker (quotum) is op",
    errno.EACCES: "geen toestemming",
    errno.EPERM: "geen toestemming",
    errno.EROFS: "de schijf is alleen te lezen",
    errno.ENOENT: "bestaat niet",
    errno.EISDIR: "is een map, geen bestand",
    errno.ENOTDIR: "een deel van het pad is geen map",
    errno.EIO: "lees- of schrijffout van de schijf",
    errno.EFBIG: "het bestand wordt groter dan het systeem toestaat",
}


def os_error(error: OSError) -> str:
    """Why the system refused to read or write a file, in Dutch: Python says it in English
    ("No space left on device"). A rarer reason keeps the system's own words."""
    return _OS_ERRORS.get(error.errno, error.strerror or str(error))
