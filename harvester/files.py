"""Writing a file the user named (--out): whole or not at all, and a Dutch error when it fails.

Every command that writes a document, spreadsheet or network file writes through `replacing`: the
bytes go to a temporary file beside the target, which is renamed over it only once everything is
written and on disk. A run that fails halfway (no permission, a full disk, a crash) leaves neither
a half file nor a changed old one, and the reason reaches the user as a `WriteFailed`, not as
Python's English OSError.
"""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from .errors import HarvesterError

# the failures people can act on, in their words; any other keeps the system's text
REASONS = {
    errno.EACCES: "geen toestemming om in die map te schrijven",
    errno.EPERM: "geen toestemming om in die map te schrijven",
    errno.EROFS: "die map staat op een schijf waarop niet geschreven kan worden",
    errno.ENOSPC: "de schijf is vol",
    errno.EDQUOT: "de schijfruimte van deze gebruiker is op",
    errno.EFBIG: "het bestand wordt te groot voor deze schijf",
    errno.EISDIR: "er staat een map met die naam",
}


class WriteFailed(HarvesterError):
    """A file could not be written; nothing was left behind (exit status 1)."""


@contextlib.contextmanager
def replacing(path: Path) -> Iterator[BinaryIO]:
    """A binary stream whose bytes become `path` when the block ends without an error.

    Nest two to write a pair (a network's two CSV files): an error while writing either, or in the
    inner one's rename, removes both temporary files and changes neither file."""
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as e:
        raise WriteFailed(_failed(path, e)) from e
    try:
        with os.fdopen(fd, "wb") as stream:
            yield stream
            stream.flush()
            os.fsync(stream.fileno())   # a full disk shows here, not after the rename
        os.replace(tmp, path)
    except BaseException as e:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        if isinstance(e, OSError):
            raise WriteFailed(_failed(path, e)) from e
        raise


def _failed(path: Path, error: OSError) -> str:
    reason = REASONS.get(error.errno or 0, error.strerror or str(error))
    return f"{path} is niet geschreven: {reason}; er is geen bestand gemaakt of vervangen"
