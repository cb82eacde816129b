"""LibreOffice opens the charter's ODT and DOCX: converted to text, every theme heading and a known idea are there,
also when a stored post holds a character XML cannot hold; and it reads the text as Dutch."""

from __future__ import annotations

import subprocess
from xml.etree import ElementTree

import pytest

from harvester.charter import build_charter, write_charter

from .charterdata import IDEAS, fill_charter
from .conftest import require_soffice
from .test_charter import LABELS, THEMES

ODF = {"style": "urn:oasis:names:tc:opendocument:xmlns:style:1.0",
       "fo": "urn:oasis:names:tc:opendocument:xmlns:xsl-fo-compatible:1.0"}


def convert(store, tmp_path, fmt: str, target: str):
    """The charter written as `fmt`, opened in LibreOffice and saved as `target`; the saved file."""
    soffice = require_soffice("writer")
    source = tmp_path / f"conceptcharter.{fmt}"
    with source.open("wb") as out:
        write_charter(build_charter(store, THEMES), fmt, out)
    subprocess.run(
        [soffice, f"-env:UserInstallation=file://{tmp_path / 'profile'}", "--headless", "--norestore",
         "--convert-to", target, "--outdir", str(tmp_path / "out"), str(source)],
        check=True, capture_output=True, timeout=120,
    )
    return tmp_path / "out" / f"conceptcharter.{target.partition(':')[0]}"


@pytest.mark.libreoffice
@pytest.mark.parametrize("fmt", ["odt", "docx"])
def test_libreoffice_reads_every_theme_and_a_known_idea(store, tmp_path, fmt):
    ids = fill_charter(store)
    # stored before `tidy` dropped it: a U+FFFF pasted from a PDF (python-docx refused the whole document)
    with store.db.conn:
        store.db.execute("UPDATE posts SET text = ? WHERE id = ?", [IDEAS["open"].replace(" ", " \uffff", 1), ids["open"]])
    text = convert(store, tmp_path, fmt, "txt:Text (encoded):UTF8").read_text(encoding="utf-8-sig")
    lines = [line.strip() for line in text.splitlines()]
    for label in LABELS:
        assert label in lines, label
    assert IDEAS["open"] in lines and IDEAS["lab2"] in lines
    assert "Kop <b>vet</b> en *nadruk* met [een link](http://evil.example) en =SOM(A1)" in lines


@pytest.mark.libreoffice
@pytest.mark.parametrize("fmt", ["odt", "docx"])
def test_libreoffice_reads_the_charter_as_dutch_text(store, tmp_path, fmt):
    """The language LibreOffice (and Word) proofreads the text in: the paragraphs' default, as
    LibreOffice reads it from the file and writes it back as flat ODF. It was en-US in the Word
    file (python-docx's template) and the language of whoever opened the ODT."""
    fill_charter(store)
    root = ElementTree.parse(convert(store, tmp_path, fmt, "fodt"))
    [text] = root.findall(".//style:default-style[@style:family='paragraph']/style:text-properties", ODF)
    assert (text.get(f"{{{ODF['fo']}}}language"), text.get(f"{{{ODF['fo']}}}country")) == ("nl", "NL")
