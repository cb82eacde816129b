"""The login throttle under attack (issue 16 points 1, 2 and 9), over real HTTP against uvicorn.

Every address in 127.0.0.0/8 is this machine on Linux, so a client bound to 127.0.0.7 is
another client address to the server: attacker and owner come from different places without
trusting any header. Time moves through the throttle's injectable clock, never by sleeping.
"""

from __future__ import annotations

import contextlib
import re
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import httpx
import psutil
import pytest
from click.testing import CliRunner

from harvester.cli import main
from harvester.store import Store
from harvester.web.auth import LoginRules, LoginThrottle

from .conftest import ROOT
from .webdata import PASSWORD, csrf_of, login, start_site

WRONG = "fout-wachtwoord-123"


@pytest.fixture
def site(tmp_path):
    server, config = start_site(tmp_path, {"eva": "redacteur", "bea": "beheerder"})
    yield server, config
    server.stop()


def client(site, address: str = "127.0.0.1") -> httpx.Client:
    return httpx.Client(base_url=site[0].url, follow_redirects=False, timeout=60,
                        transport=httpx.HTTPTransport(local_address=address))


def freeze(site) -> None:
    """Stop the throttle's clock, so a slow machine's hashing does not let waits run out mid-test."""
    now = datetime.now(UTC)
    site[0].app.state.login_throttle.clock = lambda: now


def form_token(c: httpx.Client) -> str:
    return csrf_of(c.get("/login").text)


def attempt(c: httpx.Client, token: str, name: str, password: str = WRONG) -> httpx.Response:
    return c.post("/login", data={"csrf": token, "name": name, "password": password})


@contextlib.contextmanager
def peak_memory() -> Iterator[list[int]]:
    """Samples this process's RSS (the server runs in it) every few milliseconds: [baseline, peak]."""
    process = psutil.Process()
    found = [process.memory_info().rss, 0]
    done = threading.Event()

    def sample():
        while not done.is_set():
            found[1] = max(found[1], process.memory_info().rss)
            done.wait(0.002)

    sampler = threading.Thread(target=sample)
    sampler.start()
    try:
        yield found
    finally:
        done.set()
        sampler.join()


def burst(site, name: str, password: str, n: int, address: str) -> list[int]:
    """n logins at the same moment, each on its own connection; their status codes."""
    with client(site, address) as c:
        token = form_token(c)
        cookies = dict(c.cookies)
    start = threading.Barrier(n)

    def one(_):
        with httpx.Client(base_url=site[0].url, follow_redirects=False, timeout=120, cookies=cookies,
                          transport=httpx.HTTPTransport(local_address=address)) as own:
            start.wait()
            return attempt(own, token, name, password).status_code

    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(one, range(n)))


def test_forty_concurrent_wrong_logins_are_mostly_refused_before_hashing(site):
    freeze(site)
    with peak_memory() as memory:
        codes = burst(site, "eva", WRONG, 40, "127.0.0.2")
    assert codes.count(401) <= 5 and codes.count(401) + codes.count(429) == 40, codes
    # argon2 takes 64 MiB per hash: two at a time, not forty (2.4 GB before)
    assert memory[1] - memory[0] < 400 * 2**20, f"{(memory[1] - memory[0]) / 2**20:.0f} MiB more"


def test_thirty_concurrent_tries_ending_with_the_right_password_do_not_get_in(site):
    freeze(site)   # with the real clock a slow machine's hashing outlasts the first wait (2 s)
    codes = burst(site, "eva", WRONG, 29, "127.0.0.3")
    assert codes.count(401) <= 5
    with client(site, "127.0.0.3") as c:
        assert attempt(c, form_token(c), "eva", PASSWORD).status_code == 429


def test_spraying_names_from_one_address_is_slowed_but_not_others(site):
    freeze(site)
    codes = []
    with client(site, "127.0.0.4") as c:
        token = form_token(c)
        for n in range(30):
            codes.append(attempt(c, token, f"naam{n}").status_code)
    assert codes[:20] == [401] * 20 and set(codes[20:]) == {429}, codes
    with client(site, "127.0.0.5") as other:
        assert attempt(other, form_token(other), "bea", PASSWORD).status_code == 303


def test_the_owner_gets_in_within_a_minute_after_an_attack(site):
    throttle: LoginThrottle = site[0].app.state.login_throttle
    now = datetime.now(UTC)
    throttle.clock = lambda: now
    failures = 0
    with client(site, "127.0.0.6") as attacker:
        token = form_token(attacker)
        while failures < 15:              # guessing as fast as the throttle allows, the clock moving on
            response = attempt(attacker, token, "eva")
            if response.status_code == 429:
                wait = int(re.search(r"over (\d+) seconden", response.text).group(1))
                assert wait <= 60
                now += timedelta(seconds=wait)
                throttle.clock = lambda: now
            else:
                assert response.status_code == 401
                failures += 1
    # from elsewhere, at once
    with client(site, "127.0.0.7") as owner:
        assert attempt(owner, form_token(owner), "eva", PASSWORD).status_code == 303
    # from the attacker's own address (a shared NAT) as soon as the attack pauses: within a minute
    with client(site, "127.0.0.6") as owner:
        token = form_token(owner)
        response = attempt(owner, token, "eva", PASSWORD)
        assert response.status_code == 429
        now += timedelta(seconds=60)
        throttle.clock = lambda: now
        assert attempt(owner, token, "eva", PASSWORD).status_code == 303


def test_the_docs_state_the_longest_wait_the_throttle_imposes():
    """README and docs/security.md tell admins and editors how long a throttled login waits."""
    seconds = int(LoginRules().max_wait.total_seconds())
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    security = (ROOT / "docs" / "security.md").read_text(encoding="utf-8")
    assert f"waits 2, 4, 8 … seconds\n  (at most {seconds} seconds)" in readme
    assert f"| longest wait | {seconds} s |" in security


def test_login_failures_stay_small_after_a_thousand_unique_long_names(site):
    size = lambda: sum(p.stat().st_size for p in site[1].db_path.parent.glob("harvester.db*"))  # noqa: E731
    before = size()
    freeze(site)
    with client(site, "127.0.0.8") as c:
        token = form_token(c)
        codes = [attempt(c, token, f"{n:04d}" + "x" * 100_000).status_code for n in range(1000)]
    assert codes.count(401) == 20 and codes.count(429) == 980
    with Store(site[1].db_path) as store:
        rows = store.db.execute("SELECT name_hash, client_hash FROM login_failures").fetchall()
    assert len(rows) == 20
    assert all(len(a) == len(b) == 32 for a, b in rows)
    assert size() - before < 1024 * 1024


def test_failures_are_capped_in_number_and_age(tmp_path):
    with Store(tmp_path / "h.db") as store:
        now = datetime(2026, 1, 1, tzinfo=UTC)
        throttle = LoginThrottle(LoginRules(max_rows=100), clock=lambda: now)
        for n in range(1000):
            assert throttle.admit(store, f"naam{n}", f"10.0.{n // 250}.{n % 250}")[0] is not None
        assert store.db.execute("SELECT count(*) FROM login_failures").fetchone()[0] == 100
        now += timedelta(minutes=16)
        throttle.admit(store, "iemand", "10.9.9.9")
        assert store.db.execute("SELECT count(*) FROM login_failures").fetchone()[0] == 1


def test_a_fresh_login_ends_the_accounts_other_session(site):
    with client(site) as first, client(site, "127.0.0.9") as second:
        login(first, "eva")
        assert first.get("/").status_code == 200
        login(second, "eva")
        assert second.get("/").status_code == 200
        assert first.get("/").status_code == 303      # the first session is gone on the server


def test_look_alike_account_names_are_refused_and_old_names_keep_working(site, tmp_path):
    with client(site) as c:
        csrf = login(c, "bea")
        # '.' and '..' would be path steps in the Accounts page's address for the account
        for name in ["b\u043ess", "eva\u200b", "ëva", "a b", "x" * 65, "", ".", "..", "-_."]:
            response = c.post("/accounts", data={"csrf": csrf, "name": name, "role": "lezer", "password": PASSWORD})
            assert response.status_code == 400, name
            assert "letters a-z" in response.text
        assert c.post("/accounts", data={"csrf": csrf, "name": "jan.de-vries_2", "role": "lezer",
                                         "password": PASSWORD}).status_code == 200
    result = CliRunner().invoke(main, ["--config", str(site[1].path), "users", "add", "b\u043ess", "--role", "lezer",
                                       "--password-stdin"], input=PASSWORD + "\n")
    assert result.exit_code == 2 and "letters a-z" in result.output
    with Store(site[1].db_path) as store:
        assert store.users.get("b\u043ess") is None
        # an account made before the rule, with a name outside it, still logs in
        store.db.execute("INSERT INTO users (name, role, password_hash, created_at) SELECT 'jösé', 'lezer',"
                         " password_hash, created_at FROM users WHERE name = 'eva'")
        store.db.conn.commit()
    with client(site, "127.0.0.10") as c:
        login(c, "jösé")


def test_a_name_differing_only_in_case_is_taken(site):
    """'Eva' beside 'eva' would be two accounts that read as one in the history and the menu."""
    with client(site) as c:
        csrf = login(c, "bea")
        for name in ("Eva", "EVA"):
            response = c.post("/accounts", data={"csrf": csrf, "name": name, "role": "beheerder", "password": PASSWORD})
            assert response.status_code == 400, name
            assert "Er is al een account eva." in response.text
    result = CliRunner().invoke(main, ["--config", str(site[1].path), "users", "add", "EVA", "--role", "lezer",
                                       "--password-stdin"], input=PASSWORD + "\n")
    assert result.exit_code == 2 and "al een account eva" in result.output
    with Store(site[1].db_path) as store:
        assert [u.name for u in store.users.all()] == ["bea", "eva"]
