"""The shape docs/architecture.md describes, checked: SQL only in the store, collectors and NLP free of
the store, and every folder of the package named in the map."""

from __future__ import annotations

import ast
import re

from .conftest import ROOT

PACKAGE = ROOT / "harvester"
SQL = re.compile(r"\b(SELECT\s.+\sFROM|INSERT\s+(OR\s+\w+\s+)?INTO|UPDATE\s+\w+\s+SET|DELETE\s+FROM|CREATE\s+TABLE)\b")


def imports(path) -> set[str]:
    """The modules a file imports, as absolute names."""
    package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = package.rsplit(".", node.level - 1)[0] if node.level else ""
            module = ".".join(p for p in (base, node.module or "") if p)
            found |= {module} | {f"{module}.{a.name}" for a in node.names}
    return found


def test_sql_is_written_only_in_the_store():
    outside = [str(p.relative_to(ROOT)) for p in PACKAGE.rglob("*.py")
               if "store" not in p.relative_to(PACKAGE).parts and SQL.search(p.read_text(encoding="utf-8"))]
    assert outside == []


def test_collectors_and_nlp_do_not_import_the_store():
    leaks = {str(p.relative_to(ROOT)): sorted(m for m in imports(p) if m.startswith("harvester.store"))
             for folder in ("collectors", "nlp") for p in (PACKAGE / folder).rglob("*.py")}
    assert {path: found for path, found in leaks.items() if found} == {}


def test_the_architecture_map_names_every_folder_of_the_package():
    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    folders = sorted(p.name for p in PACKAGE.iterdir()
                     if p.is_dir() and (p / "__init__.py").is_file())
    assert [f for f in folders if f"| `{f}/` |" not in text] == []
