"""`python -m harvester`: the `harvester` command where its script is not on PATH (a venv not
activated, a checkout without `make install`), under the same name in its help and errors."""

from .cli import main

if __name__ == "__main__":   # tests import every module of the package; only running it starts the CLI
    main(prog_name="harvester")
