"""#innoverheid idea harvester: collect, classify, review and export ideas for the charter."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("innoverheid-harvester")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0.0.0"
