"""`harvester users ...` and `harvester serve`, and account management in the app."""

from __future__ import annotations

import json
import os
import select
import socket
import subprocess
import sys
import time

import httpx
import pytest
from click.testing import CliRunner

from harvester.cli import main
from harvester.store import Store
from harvester.web import ServerThread
from harvester.web.app import AddressUnusable, app_url, listen
from harvester.web.auth import check_password

from .webdata import PASSWORD, add_user, login, write_web_config


def run(config, *args, input=None):
    return CliRunner().invoke(main, ["--config", str(config.path), *args], input=input)


def test_users_add_list_disable(tmp_path):
    config = write_web_config(tmp_path)
    result = run(config, "users", "add", "eva", "--role", "redacteur", "--password-stdin", input=PASSWORD + "\n")
    assert result.exit_code == 0, result.output
    assert "eva" in result.output
    with Store(config.db_path) as store:
        user = store.users.get("eva")
        stored = store.users.password_hash(user.id)
    assert user.role == "redacteur" and stored.startswith("$argon2") and PASSWORD not in stored
    assert check_password(stored, PASSWORD) and not check_password(stored, "iets-anders-123")

    again = run(config, "users", "add", "eva", "--role", "lezer", "--password-stdin", input=PASSWORD + "\n")
    assert again.exit_code == 2 and "al een account" in again.output
    short = run(config, "users", "add", "piet", "--role", "lezer", "--password-stdin", input="kort\n")
    assert short.exit_code == 2 and "minstens 10" in short.output
    bad_role = run(config, "users", "add", "piet", "--role", "admin", "--password-stdin", input=PASSWORD + "\n")
    assert bad_role.exit_code == 2
    assert run(config, "users", "add", "bea", "--role", "beheerder", "--password-stdin",
               input=PASSWORD + "\n").exit_code == 0

    listed = json.loads(run(config, "users", "list", "--json").output)
    assert [(u["name"], u["role"], u["disabled_at"]) for u in listed] == [("bea", "beheerder", None),
                                                                        ("eva", "redacteur", None)]
    assert run(config, "users", "disable", "eva").exit_code == 0
    with Store(config.db_path) as store:   # disabled on a summer day: Dutch time is UTC + 2, --json keeps UTC
        store.db.execute("UPDATE users SET disabled_at = '2026-07-15T11:30:00.000+00:00' WHERE name = 'eva'")
    assert "eva\tredacteur\tuitgeschakeld sinds 2026-07-15 13:30\n" in run(config, "users", "list").output
    assert json.loads(run(config, "users", "list", "--json").output)[1]["disabled_at"] == "2026-07-15T11:30:00.000+00:00"
    assert run(config, "users", "disable", "nobody").exit_code == 2
    assert run(config, "users", "enable", "eva").exit_code == 0
    new_password = "een-ander-wachtwoord"
    assert run(config, "users", "passwd", "eva", "--password-stdin", input=new_password + "\n").exit_code == 0
    assert run(config, "users", "passwd", "eva", "--password-stdin", input="kort\n").exit_code == 2
    assert run(config, "users", "passwd", "nobody", "--password-stdin", input=new_password + "\n").exit_code == 2
    with Store(config.db_path) as store:
        assert check_password(store.users.password_hash(store.users.get("eva").id), new_password)
    assert "serve" in run(config, "--help").output and "--port" in run(config, "serve", "--help").output


def test_beheerder_manages_accounts_in_the_app(tmp_path):
    config = write_web_config(tmp_path)
    with Store(config.db_path) as store:
        add_user(store, "bea", "beheerder")
    server = ServerThread(config).start()
    try:
        with httpx.Client(base_url=server.url, follow_redirects=False) as c:
            csrf = login(c, "bea")
            page = c.post("/accounts", data={"csrf": csrf, "name": "nieuw", "role": "lezer", "password": "te kort"})
            assert page.status_code == 400 and "minstens 10" in page.text
            page = c.post("/accounts", data={"csrf": csrf, "name": "nieuw", "role": "lezer", "password": PASSWORD})
            assert page.status_code == 200 and "is aangemaakt" in page.text
            assert c.post("/accounts/nieuw", data={"csrf": csrf, "action": "role", "role": "redacteur"}).status_code == 200
            assert c.post("/accounts/nieuw", data={"csrf": csrf, "action": "disable"}).status_code == 200
            assert c.post("/accounts/bea", data={"csrf": csrf, "action": "disable"}).status_code == 400
        with Store(config.db_path) as store:
            user = store.users.get("nieuw")
            assert user.role == "redacteur" and not user.active
        with httpx.Client(base_url=server.url, follow_redirects=False) as c:
            page = c.get("/login")
            token = page.text.split('name="csrf" value="')[1].split('"')[0]
            refused = c.post("/login", data={"csrf": token, "name": "nieuw", "password": PASSWORD})
            assert refused.status_code == 401
    finally:
        server.stop()


def test_the_first_account_hint_names_the_program_as_this_shell_can_run_it(tmp_path, monkeypatch):
    """`make run` installs into .venv without activating it: a bare `harvester` is not found there."""
    config = write_web_config(tmp_path)
    assert run(config, "init").exit_code == 0
    venv_bin = tmp_path / ".venv" / "bin"
    venv_bin.mkdir(parents=True)
    (venv_bin / "harvester").write_text("#!/bin/sh\n")
    (venv_bin / "harvester").chmod(0o755)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("sys.argv", [str(venv_bin / "harvester")])
    monkeypatch.setenv("PATH", str(tmp_path / "elders"))
    hint = f".venv/bin/harvester --config {config.path} users add NAAM --role beheerder"
    assert hint in run(config, "users", "list").output
    assert "2. Maak het eerste account: .venv/bin/harvester --config" in \
        CliRunner().invoke(main, ["init", str(tmp_path / "nieuw")]).output

    monkeypatch.setenv("PATH", str(venv_bin))   # activated, or installed on PATH: the plain name works
    assert f"`harvester --config {config.path} users add" in run(config, "users", "list").output


def test_without_a_terminal_users_add_points_to_password_stdin(tmp_path):
    """No terminal to ask on (cron, a pipe): getpass would warn in English and abort."""
    config = write_web_config(tmp_path)
    for command in (["users", "add", "bea", "--role", "beheerder"], ["users", "passwd", "bea"]):
        refused = run(config, *command, input="")
        assert refused.exit_code == 2, refused.output
        assert "Geen terminal" in refused.output and "--password-stdin" in refused.output
        assert "Warning" not in refused.output and "Aborted" not in refused.output
    assert not config.db_path.exists()   # refused before anything was written


def test_on_a_terminal_users_add_asks_the_password_twice(tmp_path):
    config = write_web_config(tmp_path)
    keyboard, terminal = os.openpty()
    process = subprocess.Popen(
        [sys.executable, "-c", "from harvester.cli import main; main()", "--config", str(config.path),
         "users", "add", "bea", "--role", "beheerder"],
        stdin=terminal, stdout=terminal, stderr=terminal, start_new_session=True)
    os.close(terminal)
    shown = ""

    def answer_when_shown(prompt: str) -> None:
        """Type only once the prompt is there: getpass flushes what was typed before it."""
        nonlocal shown
        deadline = time.monotonic() + 30
        while prompt not in shown:
            assert time.monotonic() < deadline, f"no {prompt!r} in {shown!r}"
            if select.select([keyboard], [], [], 0.5)[0]:
                shown += os.read(keyboard, 1024).decode()
        os.write(keyboard, f"{PASSWORD}\n".encode())

    try:
        answer_when_shown("Wachtwoord:")
        answer_when_shown("Nogmaals:")
        assert process.wait(timeout=30) == 0, shown
    finally:
        process.kill()
        os.close(keyboard)
    assert PASSWORD not in shown
    with Store(config.db_path) as store:
        assert check_password(store.users.password_hash(store.users.get("bea").id), PASSWORD)


def test_serve_and_up_on_a_port_in_use_say_so_in_dutch(tmp_path):
    """Another program (or a running app) holds the port: uvicorn would log only its English bind error
    and exit 3, `up` only that the app did not start. Both say why, before any work starts."""
    config = write_web_config(tmp_path)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        served = run(config, "serve", "--host", "127.0.0.1", "--port", str(port))
        config.path.write_text(config.path.read_text(encoding="utf-8") + f'host = "127.0.0.1"\nport = {port}\n',
                               encoding="utf-8")
        started = run(config, "up")
    reason = f"poort {port} op 127.0.0.1 is al in gebruik (draait de app al?)"
    assert served.exit_code == 1 and f"harvester serve: {reason}\n" in served.output, served.output
    assert started.exit_code == 1 and f"harvester up: {reason}\n" in started.output, started.output
    assert "Errno" not in served.output + started.output


def test_the_apps_address_puts_an_ipv6_host_between_brackets():
    assert (app_url("127.0.0.1", 8000), app_url("::1", 8000)) == ("http://127.0.0.1:8000", "http://[::1]:8000")


def test_the_apps_socket_holds_its_port_from_the_start():
    """`up` binds the app's port before it starts the scheduler and the model, and uvicorn serves
    much later: a second app started meanwhile must be refused then, not bind the same port and
    fail inside uvicorn."""
    first = listen("127.0.0.1", 0)
    try:
        port = first.getsockname()[1]
        with pytest.raises(AddressUnusable, match=f"poort {port} op 127.0.0.1 is al in gebruik"):
            listen("127.0.0.1", port).close()
    finally:
        first.close()
