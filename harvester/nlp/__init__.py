"""Dutch NLP for the harvester: texts in, theme scores and reasons out.

Pure: no database, no config file paths beyond those it is handed. `Classifier` wraps a trained
spaCy pipeline (pipeline.py: components from components.py, features from features.py) together
with the current theme set (themes.py); training.py trains and measures it.
"""

from .classifier import Classifier
from .pipeline import SHIPPED_MODEL, ModelError, build_pipeline, load_pipeline
from .themes import Theme, ThemeSet, ThemesError, load_themes
from .training import DataError, evaluate, format_report, read_jsonl, read_writers, split, train

__all__ = [
    "SHIPPED_MODEL", "Classifier", "DataError", "ModelError", "Theme", "ThemeSet", "ThemesError",
    "build_pipeline", "evaluate", "format_report", "load_pipeline", "load_themes", "read_jsonl", "read_writers", "split", "train",
]
