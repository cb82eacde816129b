"""Only what pyproject.toml cannot say: the package list.

The default themes and training texts live once, in the repository's config/ folder, where the
NLP work, its docs and tests edit them. The wheel carries them as the package `harvester.defaults`
(pyproject.toml maps it to config/), and the editors' guide docs/redactie.md as `harvester.guide`;
pyproject's `packages.find` cannot add a package that has no folder of its own, so the list is
made here.
"""

from setuptools import find_namespace_packages, setup

setup(packages=[*find_namespace_packages(include=["harvester*"]), "harvester.defaults", "harvester.guide"])
