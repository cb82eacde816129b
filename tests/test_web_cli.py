"""`harvester users ...` and `harvester serve`, and account management in the app."""

from __future__ import annotations

import json

import httpx
from click.testing import CliRunner

from harvester.cli import main
from harvester.store import Store
from harvester.web import ServerThread
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
    prompted = run(config, "users", "add", "bea", "--role", "beheerder", input=f"{PASSWORD}\n{PASSWORD}\n")
    assert prompted.exit_code == 0, prompted.output

    listed = json.loads(run(config, "users", "list", "--json").output)
    assert [(u["name"], u["role"], u["disabled_at"]) for u in listed] == [("bea", "beheerder", None),
                                                                        ("eva", "redacteur", None)]
    assert run(config, "users", "disable", "eva").exit_code == 0
    assert "uitgeschakeld" in run(config, "users", "list").output
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
