"""Outside the repository: a wheel built from this tree, installed into a fresh venv, run in empty folders.

Nothing is downloaded: the wheel is built without build isolation (the test extras bring
setuptools), installed with --no-deps, and the fresh venv finds the dependencies through a .pth
file naming this venv's site-packages. Every command runs with an empty temporary folder as its
working folder, so nothing can come from the checkout.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

import httpx
import pytest

from .conftest import DATA, ROOT
from .localserver import Reply

PASSWORD = "lang-genoeg-wachtwoord"
FEED = (DATA / "feeds" / "blog-rss2.xml").read_bytes()
LABELLED = [
    {"text": "Laat ambtenaren experimenteren en fouten maken: een cultuur van leren in plaats van afrekenen.",
     "themes": ["cultuur"]},
    {"text": "Maak alle open data van de gemeente vrij beschikbaar, zodat burgers kunnen meekijken.",
     "themes": ["open_overheid"]},
    {"text": "Het weer is vandaag mooi, ik ga fietsen.", "themes": []},
]


@pytest.fixture(scope="module")
def venv(tmp_path_factory) -> Path:
    """A fresh venv with the wheel of this tree in it, and this venv's packages as its dependencies."""
    work = tmp_path_factory.mktemp("build")
    source = work / "source"   # a clean copy: the build leaves build/ and *.egg-info behind
    source.mkdir()
    for name in ("pyproject.toml", "setup.py", "README.md"):
        shutil.copy2(ROOT / name, source / name)
    for folder in ("harvester", "config"):
        shutil.copytree(ROOT / folder, source / folder, ignore=shutil.ignore_patterns("__pycache__"))
    (source / "docs").mkdir()
    shutil.copy2(ROOT / "docs" / "redactie.md", source / "docs" / "redactie.md")   # the app's guide
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
                    "-q", "-w", str(work / "dist"), str(source)], check=True)
    (wheel,) = (work / "dist").glob("*.whl")
    fresh = work / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(fresh)], check=True)
    python = fresh / "bin" / "python"
    site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          check=True, capture_output=True, text=True).stdout.strip()
    Path(site, "harvester-test-deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run([str(python), "-m", "pip", "install", "-q", "--no-deps", "--no-index", str(wheel)], check=True)
    return fresh


def run(venv: Path, cwd: Path, *args: str, input: str | None = None, ok: bool = True) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HARVESTER_") and k != "PYTHONPATH"}
    result = subprocess.run([str(venv / "bin" / "harvester"), *args], cwd=cwd, env=env, input=input,
                            capture_output=True, text=True, timeout=300)
    if ok:
        assert result.returncode == 0, f"harvester {' '.join(args)}: {result.returncode}\n{result.stdout}{result.stderr}"
    return result


def feed_source(url: str) -> str:
    return f'\n[[sources]]\nname = "lokaal"\ntype = "feed"\nurl = "{url}"\nmatch = "tags"\n'


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_the_wheel_carries_its_defaults_and_runs_from_its_own_files(venv, tmp_path):
    found = subprocess.run([str(venv / "bin" / "python"), "-c",
                            "import harvester.config as c, harvester.web.guide as g;"
                            " print(c.__file__); print(c.DEFAULTS); print(g.GUIDE)"],
                           cwd=tmp_path, check=True, capture_output=True, text=True).stdout.split()
    assert all(Path(p).is_relative_to(venv) for p in found), found
    defaults = Path(found[1])
    assert (defaults / "themes.toml").read_bytes() == (ROOT / "config" / "themes.toml").read_bytes()
    assert (defaults / "training.jsonl").read_bytes() == (ROOT / "config" / "training.jsonl").read_bytes()
    assert (defaults / "initiatives.toml").read_bytes() == (ROOT / "config" / "initiatives.toml").read_bytes()
    assert not (defaults / "harvester.toml").exists()
    assert Path(found[2]).read_bytes() == (ROOT / "docs" / "redactie.md").read_bytes()


def test_init_collect_classify_export_evaluate_serve_in_an_empty_folder(venv, tmp_path, server):
    server.route("/feed", Reply(body=FEED, headers={"Content-Type": "application/rss+xml"}))
    folder = tmp_path / "leeg"
    folder.mkdir()

    # before anything: commands that need sources say what to do
    missing = run(venv, folder, "collect", ok=False)
    assert missing.returncode == 2 and "harvester init" in missing.stderr

    first = run(venv, folder, "init")
    assert "harvester.toml" in first.stdout and (folder / "data" / "harvester.db").is_file()
    starter = (folder / "harvester.toml").read_text(encoding="utf-8")
    assert starter.count("[[sources]]") == starter.count("enabled = false") >= 2
    run(venv, folder, "init")   # safe to repeat; keeps the file
    assert (folder / "harvester.toml").read_text(encoding="utf-8") == starter

    with (folder / "harvester.toml").open("a", encoding="utf-8") as f:
        f.write(feed_source(server.url("/feed")))
    collected = run(venv, folder, "collect")
    assert re.search(r"lokaal: .*\((\d+) nieuw", collected.stdout).group(1) != "0"
    run(venv, folder, "classify")
    run(venv, folder, "export", "--out", "ideeen.csv")
    assert len((folder / "ideeen.csv").read_text(encoding="utf-8-sig").splitlines()) > 1
    # the packaged initiatives, matched against what was collected, and their network for Gephi
    listed = json.loads(run(venv, folder, "initiatives", "--json").stdout)
    assert {"Ynnovate", "Slimmernetwerk", "Kennisland"} <= {i["name"] for i in listed}
    run(venv, folder, "network", "--out", "netwerk.gexf")
    assert "<gexf" in (folder / "netwerk.gexf").read_text(encoding="utf-8")

    (folder / "gelabeld.jsonl").write_text("".join(json.dumps(x) + "\n" for x in LABELLED), encoding="utf-8")
    measured = json.loads(run(venv, folder, "evaluate", "gelabeld.jsonl", "--json").stdout)
    assert {"per_theme", "micro_f1", "macro_f1"} <= measured.keys()

    run(venv, folder, "users", "add", "eva", "--role", "beheerder", "--password-stdin", input=PASSWORD + "\n")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("HARVESTER_")}
    process = subprocess.Popen([str(venv / "bin" / "harvester"), "serve", "--port", str(port)], cwd=folder, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}") as client:
            deadline = time.monotonic() + 60
            while True:
                try:
                    login = client.get("/login")
                    break
                except httpx.TransportError:
                    assert process.poll() is None and time.monotonic() < deadline, "serve did not start"
                    time.sleep(0.2)
            token = re.search(r'name="csrf" value="([^"]+)"', login.text).group(1)
            client.post("/login", data={"csrf": token, "name": "eva", "password": PASSWORD, "next": "/"})
            queue = client.get("/")
            assert queue.status_code == 200
            assert '<option value="open_overheid"' in queue.text   # the packaged themes are loaded
            assert "Serious Ambtenaar" in client.get("/initiatieven").text   # and the packaged initiatives
    finally:
        process.terminate()
        output = process.communicate(timeout=30)[0]
    assert "niet geladen" not in output, output


def test_a_config_in_another_folder_reads_its_relative_paths_from_there(venv, tmp_path, server):
    server.route("/feed", Reply(body=FEED, headers={"Content-Type": "application/rss+xml"}))
    elsewhere = tmp_path / "elders"
    (elsewhere / "thema").mkdir(parents=True)
    shutil.copy2(ROOT / "config" / "themes.toml", elsewhere / "thema" / "mijn-themas.toml")
    (elsewhere / "conf.toml").write_text(
        '[database]\npath = "gegevens/oogst.db"\n[nlp]\nthemes = "thema/mijn-themas.toml"\n' + feed_source(server.url("/feed")),
        encoding="utf-8",
    )
    cwd = tmp_path / "werkmap"
    cwd.mkdir()
    config = ["--config", str(Path("..") / "elders" / "conf.toml")]
    run(venv, cwd, *config, "collect")
    assert (elsewhere / "gegevens" / "oogst.db").is_file()
    run(venv, cwd, *config, "classify")
    run(venv, cwd, *config, "export", "--out", "uit.csv", "--theme", "open_overheid")
    (elsewhere / "thema" / "mijn-themas.toml").unlink()   # now the configured file is really gone
    gone = run(venv, cwd, *config, "classify", ok=False)
    assert gone.returncode == 2 and "mijn-themas.toml" in gone.stderr
    assert list(cwd.iterdir()) == [cwd / "uit.csv"]   # nothing else landed in the working folder
