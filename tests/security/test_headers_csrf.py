"""Security headers on every kind of response, CSRF on every state-changing admin form (found from the
router, so a new form is covered the day it is added) and on unsafe /api requests from other sites."""

from __future__ import annotations

import re
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient

from tests.exchange_server.exchange_client import Node
from tests.security.conftest import ADMIN_PASSWORD, ADMIN_USER, NODE_PASSWORD, AppClient

BASIC = {"Authorization": aiohttp.encode_basic_auth(ADMIN_USER, ADMIN_PASSWORD)}
TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
UNSAFE = ("POST", "PUT", "PATCH", "DELETE")


def _assert_security_headers(response: aiohttp.ClientResponse, what: str) -> None:
    headers = response.headers
    assert headers.get("X-Content-Type-Options") == "nosniff", what
    assert headers.get("X-Frame-Options") == "DENY", what
    assert "frame-ancestors 'none'" in headers.get("Content-Security-Policy", ""), what
    assert headers.get("Referrer-Policy") in ("no-referrer", "same-origin"), what
    assert headers.get("Cache-Control") == "no-store", what
    assert "Strict-Transport-Security" not in headers, what  # plain HTTP, CML_HTTPS unset


@pytest.mark.parametrize(
    ("method", "path", "auth", "status"),
    [
        ("GET", "/1c_exchange?type=catalog&mode=checkauth", False, 200),
        ("GET", "/api/exchanges", True, 200),
        ("GET", "/api/exchanges", False, 401),
        ("GET", "/api/exchanges/none", True, 404),
        ("GET", "/api/exchanges?limit=0", True, 400),
        ("GET", "/api/products", True, 200),
        ("GET", "/admin/", True, 200),
        ("GET", "/admin/login", False, 200),
        ("GET", "/admin/", False, 401),
        ("GET", "/admin/static/admin.css", False, 200),
        ("GET", "/metrics", False, 401),
        ("GET", "/metrics", True, 200),
        ("POST", "/b24/events", False, 503),
        ("GET", "/no/such/path", False, 404),
    ],
)
async def test_every_kind_of_response_has_the_security_headers(
    app_client: AppClient, method: str, path: str, auth: bool, status: int
) -> None:
    client = await app_client()
    response = await client.request(method, path, headers=BASIC if auth else {})
    assert response.status == status, await response.text()
    _assert_security_headers(response, f"{method} {path}")


async def _logged_in(client: TestClient[Any, Any]) -> str:
    """Log in through the form; returns a CSRF token of the session's pages."""
    form = await client.get("/admin/login")
    token = TOKEN.search(await form.text())
    assert token is not None
    login = await client.post(
        "/admin/login",
        data={
            "csrf_token": token.group(1),
            "user": ADMIN_USER,
            "password": ADMIN_PASSWORD,
            "next": "/admin/",
        },
        allow_redirects=False,
    )
    assert login.status == 303
    page = await client.get("/admin/")
    page_token = TOKEN.search(await page.text())
    assert page.status == 200 and page_token is not None
    return page_token.group(1)


def _unsafe_admin_routes(client: TestClient[Any, Any]) -> list[tuple[str, str]]:
    found = []
    for route in client.app.router.routes():
        info = route.resource.get_info() if route.resource is not None else {}
        path = info.get("path") or info.get("formatter") or ""
        if route.method in UNSAFE and path.startswith("/admin") and path != "/admin/login":
            actions = ("retry", "skip") if "{action" in path else ("",)
            for action in actions:
                example = re.sub(
                    r"\{(\w+)(:[^}]+)?\}", lambda m, a=action: a if m.group(1) == "action" else "1", path
                )
                found.append((route.method, example))
    return found


async def test_every_state_changing_admin_form_needs_the_csrf_token(app_client: AppClient) -> None:
    client = await app_client()
    token = await _logged_in(client)
    routes = _unsafe_admin_routes(client)
    assert {path for _, path in routes} >= {"/admin/logout", "/admin/outbox/1/retry", "/admin/status-map"}
    for method, path in routes:
        for data, headers in (
            ({}, {}),  # no token
            ({"csrf_token": "forged"}, {}),
            ({"csrf_token": token + "x"}, {}),
            ({"csrf_token": token}, {"Origin": "https://evil.example"}),
            ({"csrf_token": token}, {"Origin": "null"}),
        ):
            refused = await client.request(method, path, data=data, headers=headers, allow_redirects=False)
            assert refused.status == 403, (method, path, data, headers)
            _assert_security_headers(refused, path)
    # Positive control: the same requests with the token get past the guard (the handler answers).
    for method, path in routes:
        passed = await client.request(method, path, data={"csrf_token": token}, allow_redirects=False)
        assert passed.status != 403, (method, path)
        if path == "/admin/logout":
            token = await _logged_in(client)


async def test_a_basic_client_token_is_bound_to_its_user(app_client: AppClient) -> None:
    client = await app_client()
    session_token = await _logged_in(client)
    client.session.cookie_jar.clear()
    refused = await client.post("/admin/logout", data={"csrf_token": session_token}, headers=BASIC)
    assert refused.status == 403  # a token of a browser session does not work for a Basic client


async def test_login_form_needs_its_token(app_client: AppClient) -> None:
    client = await app_client()
    for data in ({"user": ADMIN_USER, "password": ADMIN_PASSWORD}, {"csrf_token": "x", "user": ADMIN_USER,
                                                                    "password": ADMIN_PASSWORD}):  # fmt: skip
        response = await client.post("/admin/login", data=data, allow_redirects=False)
        assert response.status == 403 and "cml_admin" not in response.cookies


@pytest.mark.parametrize(
    "headers",
    [{"Origin": "https://evil.example"}, {"Origin": "null"}, {"Sec-Fetch-Site": "cross-site"}],
)
async def test_unsafe_api_requests_from_another_site_are_refused(
    app_client: AppClient, headers: dict[str, str]
) -> None:
    client = await app_client()
    for method, path in (("POST", "/api/b24/retry"), ("PUT", "/api/status-map")):
        response = await client.request(method, path, headers={**BASIC, **headers}, json={})
        assert response.status == 403, (method, path)
        assert await response.json() == {"error": "cross-site request refused"}
    # Scripts (no Origin) and same-origin pages pass the check and reach the handler.
    same = {"Origin": str(client.make_url("/")).rstrip("/")}
    for extra in ({}, same):
        response = await client.post("/api/b24/retry", headers={**BASIC, **extra}, json={})
        assert response.status != 403


async def test_the_1c_exchange_is_not_blocked_by_the_cross_site_check(app_client: AppClient) -> None:
    client = await app_client()
    node = Node(client, password=NODE_PASSWORD)
    await node.checkauth()
    response = await client.post(
        "/1c_exchange",
        params={"type": "catalog", "mode": "init"},
        headers={"Cookie": node.cookie or "", "Origin": "https://elsewhere.example"},
    )
    assert (await response.text()).startswith("zip=")
