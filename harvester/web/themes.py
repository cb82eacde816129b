"""The configured themes as the review app offers them, read anew when the themes file changed.

The classifier reads a changed themes file without a restart (jobs/model.py); the app follows the
same file by the same check (`file_state`, cheap enough for every request), so a theme the admin
removed is no longer offered as a toggle or a filter, nor accepted in a decision. A file that cannot
be used keeps the themes last read: every page says so and the log has it once, rather than every
page failing while the admin fixes the file.
"""

from __future__ import annotations

import logging
from pathlib import Path

from ..nlp.themes import ThemesError, load_themes
from ..tomlfile import file_state

log = logging.getLogger(__name__)


class ConfiguredThemes:
    """One per app, used from the event loop's thread."""

    def __init__(self, path: str | Path):
        self.path = path
        self._labels: list[tuple[str, str, str]] = []
        self.problem = ""          # Dutch, shown on every page while the file cannot be used
        self._read()

    def labels(self) -> list[tuple[str, str, str]]:
        """(id, label, description) of the configured themes; [] (ids shown as they are) if the file
        could never be used."""
        if file_state(self.path) != self._state:
            self._read()
        return self._labels

    def ids(self) -> set[str]:
        return {t[0] for t in self.labels()}

    def _read(self) -> None:
        # taken before reading: an edit while reading is seen by the next request
        self._state = file_state(self.path)
        try:
            self._labels = [(t.id, t.label, " ".join(t.description.split())) for t in load_themes(self.path).themes]
            self.problem = ""
        except ThemesError as e:
            kept = "de thema's van voor de wijziging" if self._labels else "nog geen thema's"
            self.problem = (f"Het themabestand is niet te gebruiken: {e}. De app toont {kept}; "
                            "zodra de beheerder het bestand herstelt, neemt de app het over (zonder herstart).")
            log.warning("thema's niet geladen: %s", e)
