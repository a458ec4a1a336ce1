"""1C sessions: they expire after CML_SESSION_TTL_SECONDS of inactivity, the journal keys them by a digest
of the cookie (never the cookie), and cookies carry HttpOnly / SameSite (Secure with CML_HTTPS)."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import aiohttp
from aiohttp.test_utils import TestClient
from sqlalchemy import select, update

from exchange_server.db.journal_tables import ExchangeSessionRow, ExchangeStep
from exchange_server.errors import NO_SESSION
from exchange_server.keys import SESSIONMAKER
from exchange_server.protocol import session_id_for
from tests.exchange_server.exchange_client import Node
from tests.security.conftest import ADMIN_PASSWORD, ADMIN_USER, NODE_PASSWORD, AppClient

ADMIN = {"Authorization": aiohttp.encode_basic_auth(ADMIN_USER, ADMIN_PASSWORD)}
TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


async def _age(client: TestClient[Any, Any], sid: str, seconds: float) -> None:
    """Make the session look unused for ``seconds`` (its last-use time in the journal, as stored)."""
    async with client.app[SESSIONMAKER].begin() as db:
        stamp = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=seconds)
        await db.execute(
            update(ExchangeSessionRow).where(ExchangeSessionRow.id == sid).values(updated_at=stamp)
        )


async def test_an_idle_session_expires_and_answers_like_no_session(app_client: AppClient) -> None:
    client = await app_client(session_ttl_seconds=3600)
    node = Node(client, password=NODE_PASSWORD)
    await node.checkauth()
    cookie = (node.cookie or "=").split("=", 1)[1]
    sid = session_id_for(cookie)
    await _age(client, sid, 3590)  # still inside the window: works, and the use refreshes it
    assert (await node.call("catalog", "init")).startswith("zip=")
    async with client.app[SESSIONMAKER]() as db:
        row = await db.get(ExchangeSessionRow, sid)
        assert row is not None
        seen = row.updated_at.replace(tzinfo=row.updated_at.tzinfo or dt.UTC)
        assert dt.datetime.now(dt.UTC) - seen < dt.timedelta(minutes=1)
    await _age(client, sid, 3601)
    assert await node.call("catalog", "init") == f"failure\n{NO_SESSION}"  # a stolen cookie is useless now
    # Basic without the cookie (a proxy dropped it) does not revive it either.
    saved, node.cookie = node.cookie, None
    assert await node.call("catalog", "init", auth=True) == f"failure\n{NO_SESSION}"
    node.cookie = saved
    await node.checkauth()  # 1C simply starts again
    assert (await node.call("catalog", "init")).startswith("zip=")


async def test_the_journal_and_the_api_never_hold_the_cookie(app_client: AppClient) -> None:
    client = await app_client()
    node = Node(client, password=NODE_PASSWORD)
    lines = await node.checkauth("sale")
    cookie = lines[2]
    await node.init("sale")
    await node.call("sale", "query")
    async with client.app[SESSIONMAKER]() as db:
        ids = list((await db.scalars(select(ExchangeSessionRow.id))).all())
        replies = list((await db.scalars(select(ExchangeStep.reply))).all())
    assert ids == [session_id_for(cookie)] and cookie not in ids[0]
    assert replies[0].startswith("success\nPHPSESSID\n***\nsessid=")
    assert all(cookie not in reply for reply in replies)
    listing = await (await client.get("/api/exchanges", headers=ADMIN)).text()
    detail = await (await client.get(f"/api/exchanges/{ids[0]}", headers=ADMIN)).text()
    journal_page = await (await client.get("/admin/journal", headers=ADMIN)).text()
    session_page = await (await client.get(f"/admin/journal/{ids[0]}", headers=ADMIN)).text()
    for text in (listing, detail, journal_page, session_page):
        assert cookie not in text
    assert ids[0] in detail and ids[0] in journal_page
    # The digest is not a cookie: presenting it opens nothing.
    node.cookie = f"PHPSESSID={ids[0]}"
    assert await node.call("sale", "init") == f"failure\n{NO_SESSION}"


async def test_cookie_flags(app_client: AppClient) -> None:
    client = await app_client()
    checkauth = await client.get(
        "/1c_exchange",
        params={"type": "catalog", "mode": "checkauth"},
        headers={"Authorization": aiohttp.encode_basic_auth("1c", NODE_PASSWORD)},
    )
    morsel = checkauth.cookies["PHPSESSID"]
    assert morsel["httponly"] and morsel["samesite"] == "Strict" and not morsel["secure"]
    assert "Strict-Transport-Security" not in checkauth.headers


async def test_with_https_cookies_are_secure_and_hsts_is_sent(app_client: AppClient) -> None:
    client = await app_client(https=True)
    checkauth = await client.get(
        "/1c_exchange",
        params={"type": "catalog", "mode": "checkauth"},
        headers={"Authorization": aiohttp.encode_basic_auth("1c", NODE_PASSWORD)},
    )
    assert checkauth.cookies["PHPSESSID"]["secure"]
    assert checkauth.headers["Strict-Transport-Security"].startswith("max-age=")
    form = await client.get("/admin/login")
    assert form.cookies["cml_admin_login"]["secure"]
    token = TOKEN.search(await form.text())
    assert token is not None
    nonce = form.cookies["cml_admin_login"].value  # a Secure cookie: the client keeps it off plain HTTP
    login = await client.post(
        "/admin/login",
        data={
            "csrf_token": token.group(1),
            "user": ADMIN_USER,
            "password": ADMIN_PASSWORD,
            "next": "/admin/",
        },
        headers={"Cookie": f"cml_admin_login={nonce}"},
        allow_redirects=False,
    )
    assert login.status == 303
    session = login.cookies["cml_admin"]
    assert session["secure"] and session["httponly"] and session["samesite"] == "Strict"
    assert login.headers["Strict-Transport-Security"].startswith("max-age=")
