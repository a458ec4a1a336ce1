"""Lockout after repeated failed logins (1C, /api, the admin login form and admin Basic) and the client
address behind trusted reverse proxies."""

from __future__ import annotations

import asyncio
import ipaddress
import json
import logging
import re
from typing import Any

import aiohttp
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from exchange_server.errors import AUTH_FAILED
from exchange_server.logins import LoginThrottle, client_address, parse_networks
from tests.exchange_server.exchange_client import Node
from tests.security.conftest import ADMIN_PASSWORD, ADMIN_USER, NODE_PASSWORD, AppClient

TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')

# --- the counter (pure) ----------------------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_lockout_after_max_failures_for_the_window_then_free() -> None:
    clock = Clock()
    throttle = LoginThrottle(3, 60, clock=clock)
    assert [throttle.failed("10.0.0.1", "1c") for _ in range(3)] == [False, False, True]
    assert throttle.locked_for("10.0.0.1", "1c") == 60
    assert throttle.locked_for("10.0.0.2", "1c") == 0  # another address
    assert throttle.locked_for("10.0.0.1", "admin") == 0  # another login
    assert not throttle.failed("10.0.0.1", "1c")  # failures while locked do not extend it
    clock.now += 59
    assert throttle.locked_for("10.0.0.1", "1c") == pytest.approx(1)
    clock.now += 1
    assert throttle.locked_for("10.0.0.1", "1c") == 0
    assert not throttle.failed("10.0.0.1", "1c")  # counting starts afresh


def test_success_clears_and_old_failures_are_forgotten() -> None:
    clock = Clock()
    throttle = LoginThrottle(3, 60, clock=clock)
    throttle.failed("a", "1c")
    throttle.failed("a", "1c")
    throttle.succeeded("a", "1c")
    assert not throttle.failed("a", "1c") and not throttle.failed("a", "1c")
    clock.now += 61  # outside the window: the two failures above no longer count
    assert not throttle.failed("a", "1c") and not throttle.failed("a", "1c")
    assert throttle.failed("a", "1c")


def test_zero_turns_the_lockout_off_and_memory_is_bounded() -> None:
    off = LoginThrottle(0, 60)
    assert not any(off.failed("a", "1c") for _ in range(100)) and len(off) == 0
    clock = Clock()
    small = LoginThrottle(2, 60, clock=clock, capacity=10)
    small.failed("attacker", "1c")
    small.failed("attacker", "1c")
    for i in range(9):
        small.failed(f"10.0.0.{i}", "x")
    clock.now += 61
    for i in range(20):
        small.failed(f"10.1.0.{i}", "y" * 10_000)
    assert len(small) <= 10


@example([("a", False, 0.0), ("a", False, 0.0), ("a", False, 13.436424411240122)])  # (now + 30) - now > 30
@given(st.lists(st.tuples(st.sampled_from(["a", "b"]), st.booleans(), st.floats(0, 50)), max_size=60))
def test_never_locked_longer_than_the_lockout(events: list[tuple[str, bool, float]]) -> None:
    clock = Clock()
    throttle = LoginThrottle(3, 30, clock=clock)
    for address, ok, pause in events:
        clock.now += pause
        if ok:
            throttle.succeeded(address, "1c")
        else:
            throttle.failed(address, "1c")
        assert 0 <= throttle.locked_for(address, "1c") <= 30


# --- the client address ----------------------------------------------------------------------------

PROXIES = parse_networks(["127.0.0.1", "10.0.0.0/8", "::1"])


@pytest.mark.parametrize(
    ("peer", "forwarded", "expected"),
    [
        ("203.0.113.9", ["198.51.100.1"], "203.0.113.9"),  # not a proxy: the header is ignored
        ("127.0.0.1", [], "127.0.0.1"),
        ("127.0.0.1", ["198.51.100.1"], "198.51.100.1"),
        ("127.0.0.1", ["6.6.6.6, 198.51.100.1"], "198.51.100.1"),  # the forged left part is ignored
        ("127.0.0.1", ["198.51.100.1, 10.1.2.3"], "198.51.100.1"),  # two proxies
        ("127.0.0.1", ["6.6.6.6", "198.51.100.1"], "198.51.100.1"),  # several header lines
        ("127.0.0.1", ["garbage, 10.1.2.3"], "10.1.2.3"),  # stops at the proxy that wrote it
        ("127.0.0.1", ["10.0.0.5"], "10.0.0.5"),  # only proxies: the farthest one
        ("::1", ["[2001:db8::7]:443"], "2001:db8::7"),
        ("127.0.0.1", ["198.51.100.1:5555"], "198.51.100.1"),
        (None, ["198.51.100.1"], "unknown"),
    ],
)
def test_client_address(peer: str | None, forwarded: list[str], expected: str) -> None:
    assert client_address(peer, forwarded, PROXIES) == expected


def test_without_trusted_proxies_the_header_never_counts() -> None:
    assert client_address("127.0.0.1", ["198.51.100.1"], ()) == "127.0.0.1"


@given(st.lists(st.ip_addresses(v=4).map(str), max_size=5))
def test_a_client_cannot_choose_its_address_through_the_header(forged: list[str]) -> None:
    # Whatever the client puts in front, the proxy-appended address wins.
    header = ", ".join([*forged, "198.51.100.77"])
    assert client_address("127.0.0.1", [header], PROXIES) == "198.51.100.77"
    assert ipaddress.ip_address(client_address("203.0.113.1", [header], PROXIES)) == ipaddress.ip_address(
        "203.0.113.1"
    )


# --- over HTTP -------------------------------------------------------------------------------------


def _lockout_logs(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [
        r for r in caplog.records if r.name == "exchange_server.logins" and "locked out" in r.getMessage()
    ]


async def test_1c_lockout_answers_the_bad_password_failure_and_is_journaled(
    app_client: AppClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    client = await app_client(login_max_failures=3, login_lockout_seconds=1.5)
    wrong = Node(client, password="guess")
    for _ in range(3):
        assert await wrong.call("catalog", "checkauth", auth=True) == f"failure\n{AUTH_FAILED}"
    right = Node(client, password=NODE_PASSWORD)
    body, headers = await right.raw("catalog", "checkauth", auth=True, cookie=False)
    assert body == f"failure\n{AUTH_FAILED}".encode("cp1251")  # exactly a wrong password's answer
    assert headers["Content-Type"] == "text/html; charset=windows-1251"
    # Basic on a later request (cookie dropped by a proxy) is locked out too.
    assert await right.call("catalog", "init", auth=True) == f"failure\n{AUTH_FAILED}"
    logs = _lockout_logs(caplog)
    assert logs and all(NODE_PASSWORD not in r.getMessage() and "guess" not in r.getMessage() for r in logs)
    admin = {"Authorization": aiohttp.encode_basic_auth(ADMIN_USER, ADMIN_PASSWORD)}
    journal = await (await client.get("/api/exchanges", headers=admin)).json()
    assert journal["total"] == 0  # refused logins open no session
    await asyncio.sleep(1.6)  # the lockout ends
    assert (await right.checkauth())[0] == "success"


async def test_lockout_steps_are_journaled_as_locked(app_client: AppClient) -> None:
    client = await app_client(login_max_failures=2)
    node = Node(client, password=NODE_PASSWORD)
    await node.checkauth()  # a live session: later steps are journaled under it
    node.password = "wrong"
    for _ in range(3):
        assert await node.call("catalog", "init", auth=True) == f"failure\n{AUTH_FAILED}"
    from exchange_server.keys import SESSIONMAKER

    async with client.app[SESSIONMAKER]() as db:
        from sqlalchemy import select

        from exchange_server.db.journal_tables import ExchangeStep

        statuses = list((await db.scalars(select(ExchangeStep.status).order_by(ExchangeStep.id))).all())
    assert statuses == ["success", "failure", "failure", "locked"]


async def test_api_lockout_is_429_even_with_the_right_password(app_client: AppClient) -> None:
    client = await app_client(login_max_failures=3)
    wrong = {"Authorization": aiohttp.encode_basic_auth(ADMIN_USER, "nope")}
    right = {"Authorization": aiohttp.encode_basic_auth(ADMIN_USER, ADMIN_PASSWORD)}
    assert (await client.get("/api/exchanges", headers=right)).status == 200
    for _ in range(3):
        assert (await client.get("/api/exchanges", headers=wrong)).status == 401
    locked = await client.get("/api/exchanges", headers=right)
    assert locked.status == 429 and locked.headers["Retry-After"] == "300"
    assert "nope" not in await locked.text()
    # Admin pages with Basic share the lockout of the same login and address.
    assert (await client.get("/admin/", headers=right)).status == 429
    # The 1C login from the same address is another pair: not locked.
    assert (await Node(client, password=NODE_PASSWORD).checkauth())[0] == "success"


async def test_admin_login_form_lockout_shows_a_message(app_client: AppClient) -> None:
    client = await app_client(login_max_failures=2)

    async def attempt(password: str) -> aiohttp.ClientResponse:
        form = await client.get("/admin/login")
        token = TOKEN.search(await form.text())
        assert token is not None
        return await client.post(
            "/admin/login",
            data={"csrf_token": token.group(1), "user": ADMIN_USER, "password": password, "next": "/admin/"},
            allow_redirects=False,
        )

    assert (await attempt("bad-1")).status == 401
    assert (await attempt("bad-2")).status == 401
    locked = await attempt(ADMIN_PASSWORD)
    assert locked.status == 429
    text = await locked.text()
    assert "Too many failed logins" in text and ADMIN_PASSWORD not in text
    assert "cml_admin" not in locked.cookies


async def test_forged_forwarded_for_does_not_escape_the_lockout(app_client: AppClient) -> None:
    client = await app_client(login_max_failures=2)  # no trusted proxies: the header is ignored
    for i in range(3):
        headers = {
            "Authorization": aiohttp.encode_basic_auth(ADMIN_USER, "nope"),
            "X-Forwarded-For": f"198.51.100.{i}",
        }
        await client.get("/api/exchanges", headers=headers)
    right = {
        "Authorization": aiohttp.encode_basic_auth(ADMIN_USER, ADMIN_PASSWORD),
        "X-Forwarded-For": "1.2.3.4",
    }
    assert (await client.get("/api/exchanges", headers=right)).status == 429


async def test_behind_a_trusted_proxy_clients_are_counted_apart(
    app_client: AppClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    client = await app_client(login_max_failures=2, trusted_proxies="127.0.0.1, ::1")

    def headers(password: str, address: str) -> dict[str, str]:
        return {"Authorization": aiohttp.encode_basic_auth(ADMIN_USER, password), "X-Forwarded-For": address}

    for _ in range(2):
        await client.get("/api/exchanges", headers=headers("nope", "6.6.6.6, 198.51.100.1"))
    assert (await client.get("/api/exchanges", headers=headers(ADMIN_PASSWORD, "198.51.100.1"))).status == 429
    assert (await client.get("/api/exchanges", headers=headers(ADMIN_PASSWORD, "198.51.100.2"))).status == 200
    assert any("198.51.100.1" in r.getMessage() for r in _lockout_logs(caplog))
    # The session's remote in the journal is the client, not the proxy.
    node = Node(client, password=NODE_PASSWORD)
    node.client.session.headers["X-Forwarded-For"] = "203.0.113.50"
    await node.checkauth()
    admin = headers(ADMIN_PASSWORD, "198.51.100.2")
    items: list[dict[str, Any]] = (await (await client.get("/api/exchanges", headers=admin)).json())["items"]
    assert items and items[0]["remote"] == "203.0.113.50", json.dumps(items[0])[:300]
