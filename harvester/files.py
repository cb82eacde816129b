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

from .dutch import os_error
from .errors import HarvesterError

class WriteFailed(HarvesterError):
    """A file could not be written; nothing was left behind (exit status 1)."""


@contextlib.contextmanager
def replacing(path: Path) -> Iterator[BinaryIO]:
    """A binary stream whose bytes become `path` when the block ends without an error."""
    with replacing_together(path) as (stream,):
        yield stream


@contextlib.contextmanager
def replacing_together(*paths: Path) -> Iterator[tuple[BinaryIO, ...]]:
    """One binary stream per path, for files that only make sense together (a network's two CSV
    tables). Every file is written and on disk before the first rename, so a failure while writing,
    a full disk included, changes none of them. Only a rename failing after an earlier one went
    through (rare: renames in one folder do not need disk space) leaves that earlier file new; the
    error then names it."""
    made: list[tuple[Path, str, BinaryIO]] = []   # target, temporary file, its stream
    replaced: list[Path] = []
    failing: list[Path] = list(paths)   # while the caller writes, any of them
    try:
        for path in paths:
            failing = [path]
            if path.is_dir():   # the one failing rename that is known beforehand: refused before any is made
                raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(path))
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
            made.append((path, tmp, os.fdopen(fd, "wb")))
        failing = list(paths)
        yield tuple(stream for _, _, stream in made)
        for path, _, stream in made:
            failing = [path]
            stream.flush()
            os.fsync(stream.fileno())   # a full disk shows here, before any rename
            stream.close()
        for path, tmp, _ in made:
            failing = [path]
            os.replace(tmp, path)
            replaced.append(path)
    except BaseException as e:
        for _, tmp, stream in made:
            with contextlib.suppress(OSError):   # closing flushes again, and fails again on a full disk
                stream.close()
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
        if isinstance(e, OSError):
            raise WriteFailed(_failed(failing, e, replaced)) from e
        raise


def _failed(paths: list[Path], error: OSError, replaced: list[Path]) -> str:
    names = " en ".join(str(p) for p in paths)
    what = f"{names} {'is' if len(paths) == 1 else 'zijn'} niet geschreven: {os_error(error)}"
    if replaced:
        done = " en ".join(str(p) for p in replaced)
        return f"{what}; {done} is wel al vervangen: schrijf opnieuw, dan horen de bestanden weer bij elkaar"
    return f"{what}; er is geen bestand gemaakt of vervangen"
