"""The classifier the background job uses: loaded in a thread of its own, reloaded when another
model becomes active, when the themes file changed, and after a load that failed."""

from __future__ import annotations

import logging
import threading

from .. import learning
from ..config import Config
from ..errors import HarvesterError
from ..nlp import Classifier, ModelError, ThemesError, load_themes
from ..store import Store
from ..tomlfile import file_state
from .logfmt import logfmt

log = logging.getLogger("harvester.run")


class ModelLoader:
    """Loads the classifier in a background thread, so collecting starts without waiting for spaCy.

    The model is the active one (`learning.active_model`); when another becomes active (a
    retraining, or `harvester models use` while the job runs), or the themes file was changed, the
    next classification loads it. A model or themes file that cannot be loaded fails the
    classification (and says why in its log line), while collection goes on; the next
    classification tries again, so once the file is fixed the pending posts are classified without
    a restart.
    """

    def __init__(self, config: Config):
        self.config = config
        self._started = False
        self._start_lock = threading.Lock()
        self._swap_lock = threading.Lock()
        self._ready = threading.Event()
        self._classifier: Classifier | None = None
        self._path: str | None = None     # the loaded model's directory ('' = shipped)
        self._themes_file: tuple[int, int] | None = None   # the themes file read (mtime, size)
        self._error: str | None = None

    def start(self) -> None:
        with self._start_lock:
            if not self._started:
                self._started = True
                threading.Thread(target=self._first, name="model", daemon=True).start()

    def _first(self) -> None:
        try:
            with Store(self.config.db_path) as store:
                active = learning.active_model(store, self.config)
            self._load(active)
        except Exception as e:
            self._error = f"modelfout: {e}"
        finally:
            self._ready.set()

    def _load(self, active: learning.ActiveModel) -> None:
        # before reading: an edit while loading is seen by the next classification
        self._themes_file = file_state(self.config.nlp.themes)
        try:
            self._classifier = Classifier.load(active.path or None, load_themes(self.config.nlp.themes))
            self._error = None
        except (ThemesError, ModelError) as e:
            self._error = e.describe()
        self._path = active.path

    def outdated(self, store: Store) -> bool:
        """True when another model than the loaded one is active now."""
        return self._ready.is_set() and learning.active_model(store, self.config).path != self._path

    def get(self, stop: threading.Event, store: Store | None = None) -> Classifier | None:
        """The classifier once loaded (the active one, with `store`); None if we are asked to stop
        first. Raises if it did not load."""
        self.start()
        while not self._ready.wait(0.1):
            if stop.is_set():
                return None
        if store is not None:
            active = learning.active_model(store, self.config)
            with self._swap_lock:
                if (self._error or active.path != self._path
                        or file_state(self.config.nlp.themes) != self._themes_file):
                    self._load(active)
                    if not self._error:
                        log.info(logfmt(job="model", status="loaded", version=active.version))
        if self._error:
            raise ModelUnavailable(self._error)
        return self._classifier


class ModelUnavailable(HarvesterError):
    pass

