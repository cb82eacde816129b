"""The commands that write a file (--out) refuse a name or folder they cannot use at once, in Dutch,
before any work (`harvester network` used to run its whole matching pass and then end in a
traceback), say what they wrote in Dutch that counts right, and when writing fails say why in Dutch
and leave no half file."""

from __future__ import annotations

import errno
import os

import networkx as nx
import pytest
from click.testing import CliRunner
from lxml import etree

from harvester.cli import main
from harvester.store import Store

from .initiativesdata import store_all, store_post


@pytest.fixture
def config(tmp_path, write_config):
    path = write_config()
    with Store(tmp_path / "harvester.db") as store:
        store_all(store)
    return path


def pending(tmp_path) -> int:
    with Store(tmp_path / "harvester.db") as store:
        return store.initiatives.count_pending()


@pytest.mark.parametrize("name", ["netwerk.gexf", "netwerk.graphml", "netwerk.csv"])
def test_network_into_a_missing_folder_stops_before_matching(tmp_path, config, name):
    before = pending(tmp_path)
    assert before > 0
    out = tmp_path / "bestaat-niet" / name
    result = CliRunner().invoke(main, ["network", "--config", str(config), "--out", str(out)])
    assert result.exit_code == 2, result.output
    assert result.output == f"harvester network: map {out.parent} bestaat niet\n"
    assert pending(tmp_path) == before   # no matching pass was spent on it


def test_network_with_an_unknown_format_stops_before_matching(tmp_path, config):
    before = pending(tmp_path)
    out = tmp_path / "bestaat-niet" / "netwerk.png"   # the format is named first, as `harvester charter` does
    result = CliRunner().invoke(main, ["network", "--config", str(config), "--out", str(out)])
    assert result.exit_code == 2 and "onbekend formaat" in result.output and "Traceback" not in result.output
    assert pending(tmp_path) == before


@pytest.mark.parametrize(("command", "name"), [("charter", "charter.odt"), ("export", "ideeen.csv")])
def test_charter_and_export_into_a_missing_folder(tmp_path, config, command, name):
    out = tmp_path / "bestaat-niet" / name
    result = CliRunner().invoke(main, [command, "--config", str(config), "--out", str(out)])
    assert result.exit_code == 2
    assert result.output == f"harvester {command}: map {out.parent} bestaat niet\n"


def test_network_says_one_link_in_the_singular(tmp_path, write_config):
    config = write_config()
    with Store(tmp_path / "harvester.db") as store:
        store_post(store, 1, "jeroen@mastodon.nl",
                   "<p>Vandaag bij Ynnovate gehoord hoe het Slimmernetwerk samenwerkt. #innoverheid</p>")
    out = tmp_path / "netwerk.gexf"
    result = CliRunner().invoke(main, ["network", "--config", str(config), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert result.stdout == f"Netwerk met 2 initiatieven en 1 verbinding geschreven naar {out}.\n"


@pytest.mark.parametrize(("command", "name"), [("network", "netwerk.gexf"), ("charter", "charter.odt"),
                                               ("export", "ideeen.csv")])
def test_an_out_that_is_a_folder_is_refused_in_dutch(tmp_path, config, command, name):
    before = pending(tmp_path)
    out = tmp_path / name
    out.mkdir()
    result = CliRunner().invoke(main, [command, "--config", str(config), "--out", str(out)])
    assert result.exit_code == 2, result.output
    assert result.output == f"harvester {command}: {out} is een map; geef de naam van het bestand dat gemaakt moet worden\n"
    assert pending(tmp_path) == before


@pytest.mark.parametrize("name", ["netwerk.gexf", "netwerk.graphml", "netwerk.csv"])
def test_names_with_characters_xml_cannot_hold_give_a_readable_file(tmp_path, config, name):
    # an editor confirms a candidate under a name pasted from a PDF: a control character, U+FFFE, U+FFFF
    with Store(tmp_path / "harvester.db") as store:
        editor = store.users.add("eva", "redacteur", "x")
        store.initiatives.decide("hashtag", "grandparade", "#grandparade", "bevestigd",
                                 "Grand\x01 Parade\ufffe\uffff\x1b", editor)
    out = tmp_path / name
    result = CliRunner().invoke(main, ["network", "--config", str(config), "--out", str(out)])
    assert result.exit_code == 0, result.output
    if out.suffix == ".csv":
        nodes = (tmp_path / "netwerk-knopen.csv").read_text(encoding="utf-8").splitlines()
        assert "grand-parade,Grand Parade,3,3" in nodes
        return
    etree.parse(str(out))   # lxml refuses what an XML reader (Gephi) would
    back = (nx.read_gexf if out.suffix == ".gexf" else nx.read_graphml)(out)
    assert back.nodes["grand-parade"]["label"] == "Grand Parade"
    assert back.nodes["ynnovate"]["label"] == "Ynnovate"


def test_a_network_pair_that_cannot_be_written_changes_neither_file(tmp_path, config):
    # a real failure even for root (who may write in a read-only folder): a folder where the second file goes
    out = tmp_path / "netwerk.csv"
    nodes, edges = tmp_path / "netwerk-knopen.csv", tmp_path / "netwerk-verbindingen.csv"
    nodes.write_text("het vorige netwerk\n", encoding="utf-8")
    edges.mkdir()
    before = sorted(p.name for p in tmp_path.iterdir())
    result = CliRunner().invoke(main, ["network", "--config", str(config), "--out", str(out)])
    assert result.exit_code == 1, result.output
    assert result.output.endswith(f"harvester network: {edges} is niet geschreven: is een map, geen bestand; "
                                  "er is geen bestand gemaakt of vervangen\n")
    assert "Traceback" not in result.output
    assert nodes.read_text(encoding="utf-8") == "het vorige netwerk\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == before   # no temporary file left


def failing_on_call(real, n: int, error: OSError):
    """`real` (a system call) that raises `error` on its n-th call: a disk that fills up meanwhile."""
    calls = []

    def call(*args):
        calls.append(args)
        if len(calls) == n:
            raise error
        return real(*args)
    return call


def test_a_disk_full_while_writing_the_second_file_of_a_network_pair_changes_neither(tmp_path, config, monkeypatch):
    out = tmp_path / "netwerk.csv"
    nodes, edges = tmp_path / "netwerk-knopen.csv", tmp_path / "netwerk-verbindingen.csv"
    nodes.write_text("vorige knopen\n", encoding="utf-8")
    edges.write_text("vorige verbindingen\n", encoding="utf-8")
    before = sorted(p.name for p in tmp_path.iterdir())
    monkeypatch.setattr(os, "fsync", failing_on_call(os.fsync, 2, OSError(errno.ENOSPC, "No space left on device")))
    result = CliRunner().invoke(main, ["network", "--config", str(config), "--out", str(out)])
    assert result.exit_code == 1, result.output
    assert "is niet geschreven: de schijf is vol; er is geen bestand gemaakt of vervangen\n" in result.output
    assert nodes.read_text(encoding="utf-8") == "vorige knopen\n"
    assert edges.read_text(encoding="utf-8") == "vorige verbindingen\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == before   # no temporary file left


def test_a_failed_second_rename_of_a_network_pair_says_the_first_file_is_new(tmp_path, config, monkeypatch):
    out = tmp_path / "netwerk.csv"
    nodes, edges = tmp_path / "netwerk-knopen.csv", tmp_path / "netwerk-verbindingen.csv"
    edges.write_text("vorige verbindingen\n", encoding="utf-8")
    monkeypatch.setattr(os, "replace", failing_on_call(os.replace, 2, OSError(errno.EIO, "Input/output error")))
    result = CliRunner().invoke(main, ["network", "--config", str(config), "--out", str(out)])
    assert result.exit_code == 1, result.output
    assert result.output.endswith(f"harvester network: {edges} is niet geschreven: lees- of schrijffout van de schijf; "
                                  f"{nodes} is wel al vervangen: schrijf opnieuw, dan horen de bestanden weer bij "
                                  "elkaar\n")
    assert nodes.read_text(encoding="utf-8").startswith("Id,Label")
    assert edges.read_text(encoding="utf-8") == "vorige verbindingen\n"
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_a_network_into_a_read_only_folder_fails_in_dutch(tmp_path, config):
    folder = tmp_path / "alleen-lezen"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        (folder / "proef").touch()
        pytest.skip("this user writes in a read-only folder too (root, with CAP_DAC_OVERRIDE)")
    except PermissionError:
        pass
    out = folder / "netwerk.gexf"
    try:
        result = CliRunner().invoke(main, ["network", "--config", str(config), "--out", str(out)])
    finally:
        folder.chmod(0o755)
    assert result.exit_code == 1, result.output
    assert result.output.endswith(f"harvester network: {out} is niet geschreven: geen toestemming; "
                                  "er is geen bestand gemaakt of vervangen\n")
    assert list(folder.iterdir()) == []


def test_network_help_names_the_csv_files_as_they_are_written(tmp_path, config):
    """The help speaks of --out BESTAND (not of another placeholder) and gives the two names a .csv
    becomes; writing that example makes exactly those files."""
    shown = " ".join(CliRunner().invoke(main, ["network", "--help"]).output.split())
    assert "--out BESTAND" in shown and "NAAM" not in shown
    assert "naast BESTAND; bij netwerk.csv zijn dat netwerk-knopen.csv en netwerk-verbindingen.csv" in shown
    result = CliRunner().invoke(main, ["network", "--config", str(config), "--out", str(tmp_path / "netwerk.csv")])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in tmp_path.glob("netwerk*")) == ["netwerk-knopen.csv", "netwerk-verbindingen.csv"]
