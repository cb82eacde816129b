"""A real spreadsheet opens the exports: LibreOffice Calc converts them, openpyxl or csv reads the result."""

from __future__ import annotations

import csv
import io
import subprocess

import openpyxl
import pytest

from harvester.export import ExportOptions, write_export

from .conftest import require_soffice
from .test_export import HEADER, HOSTILE, LABELS, TEXT_1, fill
from .test_export_control import CONTROL, EVIL, export, harvest_hostile

# LibreOffice's CSV import options (help.libreoffice.org, "CSV Filter Options"): field separator 59 (;),
# text delimiter 34 ("), character set 76 (UTF-8), start at line 1; token 6 is the language (1043: Dutch).
CSV_IMPORT = "Text - txt - csv (StarCalc):59,34,76,1,,1043"


@pytest.mark.libreoffice
def test_libreoffice_reads_the_excel_nl_csv_with_its_columns_and_accents(store, tmp_path):
    soffice = require_soffice("calc")
    ids = fill(store)
    out = io.BytesIO()
    count = write_export(store, ExportOptions(), out, labels=LABELS)
    source = tmp_path / "ideeën.csv"
    source.write_bytes(out.getvalue())
    subprocess.run(
        [soffice, f"-env:UserInstallation=file://{tmp_path / 'profile'}", "--headless", "--norestore",
         "--convert-to", "xlsx", f"--infilter={CSV_IMPORT}", "--outdir", str(tmp_path / "out"), str(source)],
        check=True, capture_output=True, timeout=120,
    )
    sheet = openpyxl.load_workbook(tmp_path / "out" / "ideeën.xlsx").active
    rows = [[c.value for c in row] for row in sheet.iter_rows()]
    assert rows[0] == HEADER
    assert len(rows) == count + 1 and all(len(r) == len(HEADER) for r in rows)
    by_id = {row[0]: row for row in rows[1:]}
    anne = by_id[ids["p1"]]
    assert anne[1] == "Cultuur, Samenwerking"
    assert anne[2] == TEXT_1          # ';', quotes, a newline, an emoji and accents, all in one cell
    assert anne[3] == "Anne de Vries (anne@mastodon.nl)"
    assert anne[8] == pytest.approx(0.91)   # Dutch decimal comma read as a number
    # the hostile cell stayed text: LibreOffice shows the apostrophe, nothing was calculated
    cell = next(c for c in sheet["C"] if c.row > 1 and c.value and "HYPERLINK" in c.value)
    assert cell.data_type == "s" and cell.value == "'" + HOSTILE


def _soffice(soffice: str, tmp_path, source, target: str, *infilter: str) -> None:
    subprocess.run(
        [soffice, f"-env:UserInstallation=file://{tmp_path / 'profile'}", "--headless", "--norestore",
         "--convert-to", target, *infilter, "--outdir", str(tmp_path / "out"), str(source)],
        check=True, capture_output=True, timeout=120,
    )


def _assert_defused(rows: list[list], count: int) -> None:
    """Every record whole, no control character and no live formula in any text cell."""
    assert rows[0] == HEADER
    assert len(rows) == count + 1 and all(len(r) == len(HEADER) for r in rows)
    for row in rows[1:]:
        for cell in row:
            if isinstance(cell, str):
                assert not CONTROL.search(cell) and not cell.startswith(tuple("=+-@\t\r")), row
    ideas = [row[2] for row in rows[1:]]
    assert "'" + EVIL + "\n\n#innoverheid klik hier" in ideas
    assert 'Idee met NUL; "quotes" #innoverheid\n\ntekst na de titel' in ideas


@pytest.mark.libreoffice
def test_libreoffice_reads_a_csv_with_nul_and_control_formulas_whole_and_defused(server, store, write_config, tmp_path):
    """Issue 16, 3 and 4: a NUL no longer splits a record, a control character no longer hides a formula."""
    soffice = require_soffice("calc")
    ids = harvest_hostile(server, store, write_config)
    out = io.BytesIO()
    write_export(store, ExportOptions(), out)
    source = tmp_path / "vijandig.csv"
    source.write_bytes(out.getvalue())
    _soffice(soffice, tmp_path, source, "xlsx", f"--infilter={CSV_IMPORT}")
    sheet = openpyxl.load_workbook(tmp_path / "out" / "vijandig.xlsx").active
    assert "f" not in {c.data_type for row in sheet.iter_rows() for c in row}
    _assert_defused([[c.value for c in row] for row in sheet.iter_rows()], len(ids))


@pytest.mark.libreoffice
@pytest.mark.parametrize(("dialect", "separators"), [("excel-nl", "44"), ("excel-nl", "9"), ("rfc4180", "59"),
                                                     ("rfc4180", "9"), ("excel-nl", "44/59/9")])
def test_libreoffice_reads_a_csv_with_another_separator_and_calculates_nothing(
        server, store, write_config, tmp_path, dialect, separators):
    """A facilitator's list separator is not the file's (',' for excel-nl, ';' for rfc4180, or tab):
    the formulas after a ',' ';' tab or line break inside a text start cells now, and stay text.
    Formulas evaluated (token 13) and spaces trimmed (token 11), the reader most eager to calculate."""
    soffice = require_soffice("calc")
    harvest_hostile(server, store, write_config)
    source = tmp_path / "ander-scheidingsteken.csv"
    source.write_bytes(export(store, dialect=dialect))
    _soffice(soffice, tmp_path, source, "xlsx", f"--infilter=CSV:{separators},34,76,1,,1043,false,false,false,false,true,-1,true")
    sheet = openpyxl.load_workbook(tmp_path / "out" / "ander-scheidingsteken.xlsx").active
    rows = list(sheet.iter_rows())
    # the header in one cell (split on the file's own separator as well: in twelve)
    assert len([c for c in rows[0] if c.value]) == (len(HEADER) if "/" in separators else 1)
    cells = [c for row in rows for c in row if isinstance(c.value, str)]
    assert [c.value for c in cells if c.data_type == "f"] == []
    # text after a separator and a space stays as written
    assert any("- zegt Piet" in c.value and "'- zegt Piet" not in c.value for c in cells)


@pytest.mark.libreoffice
def test_libreoffice_opens_the_xlsx_with_control_formulas_defused(server, store, write_config, tmp_path):
    """The XLSX opened in LibreOffice and saved as CSV (what makes a formula live): still defused."""
    soffice = require_soffice("calc")
    ids = harvest_hostile(server, store, write_config)
    source = tmp_path / "vijandig.xlsx"
    with source.open("wb") as out:
        write_export(store, ExportOptions(format="xlsx"), out)
    _soffice(soffice, tmp_path, source, "csv:Text - txt - csv (StarCalc):59,34,76,1")
    text = (tmp_path / "out" / "vijandig.csv").read_text(encoding="utf-8")
    _assert_defused(list(csv.reader(io.StringIO(text, newline=""), delimiter=";")), len(ids))
