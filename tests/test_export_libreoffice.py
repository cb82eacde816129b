"""A real spreadsheet opens the excel-nl CSV: LibreOffice Calc converts it, openpyxl reads the result."""

from __future__ import annotations

import io
import subprocess

import openpyxl
import pytest

from harvester.export import ExportOptions, write_export

from .conftest import require_program
from .test_export import HEADER, HOSTILE, LABELS, TEXT_1, fill

# LibreOffice's CSV import options (help.libreoffice.org, "CSV Filter Options"): field separator 59 (;),
# text delimiter 34 ("), character set 76 (UTF-8), start at line 1; token 6 is the language (1043: Dutch).
CSV_IMPORT = "Text - txt - csv (StarCalc):59,34,76,1,,1043"


@pytest.mark.libreoffice
def test_libreoffice_reads_the_excel_nl_csv_with_its_columns_and_accents(store, tmp_path):
    soffice = require_program("soffice")
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
