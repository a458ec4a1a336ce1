"""Transport edges (redirects, HTTPS, form bodies, invalid JSON), addresses, and the fake-portal command."""

from __future__ import annotations

import asyncio
import json
import sys

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from b24_bridge import ApiError, B24Client, InvalidArgument
from b24_bridge.fake import FakePortal, PortalConfig
from b24_bridge.fake.app import make_portal_app
from b24_bridge.http import AiohttpTransport

from .conftest import Harness


async def test_moved_portal_is_re_posted_to_the_new_host() -> None:
    """§1.1: a renamed portal answers 302; the client re-POSTs to the new host instead of a GET."""
    portal = FakePortal()
    new = TestServer(make_portal_app(portal, deliver_events=False))
    await new.start_server()

    async def moved(request: web.Request) -> web.Response:
        target = new.make_url(request.path)
        return web.Response(status=302, headers={"Location": str(target)})

    old_app = web.Application()
    old_app.router.add_route("*", "/{tail:.*}", moved)
    old = TestServer(old_app)
    await old.start_server()
    try:
        async with aiohttp.ClientSession() as session:
            transport = AiohttpTransport(session, str(old.make_url(portal.webhook_path())))
            client = B24Client(transport, bucket=None)
            assert await client.call("crm.company.add", {"fields": {"TITLE": "moved"}}) == 1
            assert transport.base_url.startswith(str(new.make_url("/")))
    finally:
        await old.close()
        await new.close()


async def test_fake_portal_moved_mode_answers_302() -> None:
    """§1.1 / §8.1 item 5: the fake's "portal moved" mode answers 302 with the new host in Location."""
    target = FakePortal()
    new = TestServer(make_portal_app(target, deliver_events=False))
    await new.start_server()
    old_portal = FakePortal(PortalConfig(moved_to=str(new.make_url("/")).rstrip("/")))
    old_portal.add_webhook(1, target.default_webhook.code)
    old = TestServer(make_portal_app(old_portal, deliver_events=False))
    await old.start_server()
    try:
        async with aiohttp.ClientSession() as session:
            transport = AiohttpTransport(session, str(old.make_url(target.webhook_path())))
            assert await B24Client(transport, bucket=None).call("crm.company.list") == []
            assert target.stats.calls["crm.company.list"] == 1 and old_portal.stats.requests == 0
    finally:
        await old.close()
        await new.close()


async def test_https_required_when_configured() -> None:
    """§1.1 / §8.1 item 5: a plain-HTTP call answers 400 INVALID_REQUEST "Https required"."""
    portal = FakePortal(PortalConfig(require_https=True))
    server = TestServer(make_portal_app(portal, deliver_events=False))
    await server.start_server()
    try:
        async with aiohttp.ClientSession() as session:
            client = B24Client(
                AiohttpTransport(session, str(server.make_url(portal.webhook_path()))), bucket=None
            )
            with pytest.raises(InvalidArgument) as info:
                await client.call("crm.company.list")
            assert (info.value.status, info.value.description) == (400, "Https required")
    finally:
        await server.close()


async def test_form_bodies_and_invalid_json_are_parsed_like_php() -> None:
    """§1.2 / §8.1 item 2: form bodies nest PHP-style (all strings); invalid JSON means empty params."""
    portal = FakePortal()
    server = TestServer(make_portal_app(portal, deliver_events=False))
    await server.start_server()
    base = server.make_url(portal.webhook_path())
    try:
        async with aiohttp.ClientSession() as session:
            form = "fields[TITLE]=Ромашка&fields[PHONE][0][VALUE]=%2B7495&fields[PHONE][0][VALUE_TYPE]=WORK"
            async with session.post(
                f"{base}crm.company.add",
                data=form.encode(),
                headers={"Content-Type": "application/x-www-form-urlencoded"},
            ) as resp:
                assert (await resp.json())["result"] == 1
            async with session.get(f"{base}crm.company.get.json?id=1") as resp:
                body = await resp.json()
                assert body["result"]["PHONE"][0]["VALUE"] == "+7495" and body["result"]["TITLE"] == "Ромашка"
            async with session.post(
                f"{base}crm.company.add", data=b"{not json", headers={"Content-Type": "application/json"}
            ) as resp:
                assert resp.status == 400 and (await resp.json())["error"] == ""
    finally:
        await server.close()


async def test_addresses_are_keyed_by_type_and_owner(harness: Harness) -> None:
    """§5.3: an address has no id; a second address of one type is refused; list total is unreliable."""
    c = harness.client()
    fields = {
        "TYPE_ID": 6,
        "ENTITY_TYPE_ID": 8,
        "ENTITY_ID": 27,
        "ADDRESS_1": "ул. Ленина, 1",
        "CITY": "Москва",
    }
    assert await c.call("crm.address.add", {"fields": fields}) is True
    with pytest.raises(ApiError) as info:
        await c.call("crm.address.add", {"fields": fields})
    assert info.value.description == "TypeAddress exists"
    await c.call("crm.address.update", {"fields": {**fields, "ADDRESS_1": "ул. Ленина, 2"}})
    env = await c.call_envelope("crm.address.list", {"filter": {"ENTITY_TYPE_ID": 8, "ENTITY_ID": 27}})
    assert env.result[0]["ADDRESS_1"] == "ул. Ленина, 2" and env.total == 50


def test_fake_portal_command_prints_the_webhook_url_first() -> None:
    """Issue 4 contract: ``cml-exchange fake-portal`` prints ``http://H:P/rest/1/<code>/`` first; stats work."""

    async def main() -> None:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            "from exchange_server.cli import main; main()",
            "fake-portal",
            "--port",
            "0",
            "--plan",
            "enterprise",
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            assert proc.stdout is not None
            line = (await asyncio.wait_for(proc.stdout.readline(), 20)).decode().strip()
            assert line.startswith("http://127.0.0.1:") and line.endswith("/") and "/rest/1/" in line
            root = line.split("/rest/")[0]
            async with aiohttp.ClientSession() as session:
                async with session.post(
                    f"{line}batch", json={"cmd": {"a": "crm.company.list", "b": "crm.vat.list"}}
                ):
                    pass
                async with session.get(f"{root}/_fake/stats") as resp:
                    stats = json.loads(await resp.text())
            assert stats == {
                "requests": 1,
                "rejected": 0,
                "calls": {"batch": 1, "crm.company.list": 1, "crm.vat.list": 1},
            }
        finally:
            proc.terminate()
            await proc.wait()

    asyncio.run(main())
