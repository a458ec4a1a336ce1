"""Events of the fake portal: bind/unbind/get, outbound delivery, loop guard, offline queue (bitrix24.md §6, §8.8)."""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import parse_qsl

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from b24_bridge import AccessDenied, ApiError, B24Client, NotFound, OAuthSession, TokenSet
from b24_bridge.fake import DeliveryConfig, FakePortal, InProcessTokenEndpoint, InProcessTransport
from b24_bridge.fake.app import make_portal_app

from .conftest import Harness


async def test_bind_get_unbind(harness: Harness) -> None:
    """§6.1: event.bind (app auth) -> true; event.get lists handlers; unbind answers a count; errors."""
    client, _ = harness.oauth_client()
    assert (
        await client.call("event.bind", {"event": "onCrmCompanyAdd", "handler": "https://bridge/b24"}) is True
    )
    assert await client.call("event.bind", {"event": "ONCRMCOMPANYUPDATE", "event_type": "offline"}) is True
    assert await client.call("event.get") == [
        {"event": "ONCRMCOMPANYADD", "handler": "https://bridge/b24", "auth_type": "0", "offline": 0},
        {"event": "ONCRMCOMPANYUPDATE", "connector_id": "", "offline": 1},
    ]
    with pytest.raises(ApiError) as info:
        await client.call("event.bind", {"event": "ONCRMCOMPANYADD", "handler": "https://bridge/b24"})
    assert info.value.code == "ERROR_HANDLER_ALREADY_EXIST"
    with pytest.raises(NotFound) as missing:
        await client.call("event.bind", {"event": "ONNOTHING", "handler": "https://bridge/b24"})
    assert missing.value.code == "ERROR_EVENT_NOT_FOUND"
    assert await client.call(
        "event.unbind", {"event": "ONCRMCOMPANYADD", "handler": "https://bridge/b24"}
    ) == {"count": 1}
    assert "ONCRMDYNAMICITEMUPDATE" in await client.call("events")


async def _app_client(portal: FakePortal) -> tuple[B24Client, str]:
    app = portal.register_app("local.events", "secret")
    tokens = TokenSet.from_json(portal.install_app(app.client_id))
    oauth = OAuthSession(tokens, InProcessTokenEndpoint(portal, app.client_id, "secret"))
    transport = InProcessTransport(portal, f"https://{portal.config.domain}/rest/")
    return B24Client(transport, oauth=oauth, bucket=None), app.application_token


async def test_delivery_is_form_encoded_with_application_token() -> None:
    """§6.2 / §6.3 / §8.8: POST form-encoded, ids only, ``auth[application_token]``; at-most-once."""
    received: list[dict[str, str]] = []
    status = {"code": 200}

    async def handler(request: web.Request) -> web.Response:
        assert request.content_type == "application/x-www-form-urlencoded"
        received.append(dict(parse_qsl((await request.read()).decode())))
        return web.Response(status=status["code"])

    receiver_app = web.Application()
    receiver_app.router.add_post("/b24/events", handler)
    portal = FakePortal()
    receiver, server = TestServer(receiver_app), TestServer(make_portal_app(portal))
    await receiver.start_server()
    await server.start_server()
    try:
        client, app_token = await _app_client(portal)
        url = str(receiver.make_url("/b24/events"))
        await client.call("event.bind", {"event": "ONCRMDYNAMICITEMADD", "handler": url})
        await client.call("crm.item.add", {"entityTypeId": 31, "fields": {"title": "x"}})
        for _ in range(100):
            if received:
                break
            await asyncio.sleep(0.02)
        body = received[0]
        assert body["event"] == "ONCRMDYNAMICITEMADD" and body["data[FIELDS][ID]"] == "1"
        assert body["data[FIELDS][ENTITY_TYPE_ID]"] == "31" and "data[FIELDS][TITLE]" not in body
        assert (
            body["auth[application_token]"] == app_token
            and body["auth[member_id]"] == portal.config.member_id
        )
        assert body["auth[access_token]"] and body["ts"].isdigit()
        status["code"] = 500
        await client.call("crm.item.add", {"entityTypeId": 31, "fields": {"title": "y"}})
        for _ in range(100):
            if len(portal.events.sent) == 2:
                break
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.2)
        assert [d.outcome for d in portal.events.sent] == ["delivered", "failed"]
        assert len(received) == 2  # the failed one was not sent again
    finally:
        await server.close()
        await receiver.close()


async def _bound(portal: FakePortal, event: str = "ONCRMCOMPANYADD") -> B24Client:
    client, _ = await _app_client(portal)
    await client.call("event.bind", {"event": event, "handler": "https://bridge/h"})
    return client


async def test_delivery_knobs_delay_drop_duplicate_reorder(harness: Harness) -> None:
    """§6.4 / §8.8 item 3: configurable delay, drop, duplicate and reordering of deliveries."""
    portal = harness.portal
    client = await _bound(portal)
    portal.events.config = DeliveryConfig(delay=5.0)
    await client.call("crm.company.add", {"fields": {"TITLE": "a"}})
    assert portal.events.take_due() == []
    harness.clock.advance(5.0)
    assert len(portal.events.take_due()) == 1
    portal.events.config = DeliveryConfig(drop=1.0)
    await client.call("crm.company.add", {"fields": {"TITLE": "b"}})
    assert portal.events.take_due() == [] and portal.events.sent[-1].outcome == "dropped"
    portal.events.config = DeliveryConfig(duplicate=1.0)
    await client.call("crm.company.add", {"fields": {"TITLE": "c"}})
    assert len(portal.events.take_due()) == 2
    portal.events.config = DeliveryConfig(reorder=True)
    for i in range(20):
        await client.call("crm.company.add", {"fields": {"TITLE": f"r{i}"}})
    due = portal.events.take_due()
    ids = [int(dict(parse_qsl(d.body))["data[FIELDS][ID]"]) for d in due]
    assert sorted(ids) == list(range(4, 24)) and ids != sorted(ids)


async def test_event_tokens_carry_the_loop_guard(harness: Harness) -> None:
    """§6.4 / §8.8 item 4: calls made with an event's token raise events with a smaller TTL; at 0 none."""
    portal = harness.portal
    await _bound(portal)
    app_key = next(iter(portal.apps))
    transport = InProcessTransport(portal, f"https://{portal.config.domain}/rest/")

    async def add_with_event_token() -> list[Any]:
        delivery = portal.events.take_due()[0]
        token = dict(parse_qsl(delivery.body))["auth[access_token]"]
        tokens = TokenSet(token, "r", 0, "")
        oauth = OAuthSession(tokens, InProcessTokenEndpoint(portal, app_key, "secret"))
        await B24Client(transport, oauth=oauth, bucket=None).call(
            "crm.company.add", {"fields": {"TITLE": "echo"}}
        )
        return portal.events.outbox

    client, _ = await _app_client(portal)
    await client.call("crm.company.add", {"fields": {"TITLE": "user"}})
    ttls = []
    for _ in range(4):
        outbox = await add_with_event_token()
        ttls.append(len(outbox))
        if not outbox:
            break
    assert ttls == [1, 1, 1, 0]


async def test_offline_queue_upserts_reserves_and_clears(harness: Harness) -> None:
    """§6.5: offline rows upsert by message id; clear=0 reserves under a process_id; clear/error."""
    portal = harness.portal
    client, _ = await _app_client(portal)
    await client.call("event.bind", {"event": "ONCRMCOMPANYUPDATE", "event_type": "offline"})
    company = await client.call("crm.company.add", {"fields": {"TITLE": "a"}})
    for title in ("b", "c"):
        await client.call("crm.company.update", {"id": company, "fields": {"TITLE": title}})
    listed = await client.call("event.offline.list", {"filter": {"ERROR": 0}})
    assert len(listed) == 1 and listed[0]["EVENT_DATA"] == {"FIELDS": {"ID": company}}
    got = await client.call("event.offline.get", {"clear": 0, "limit": 50})
    assert got["process_id"] and [e["EVENT_NAME"] for e in got["events"]] == ["ONCRMCOMPANYUPDATE"]
    await client.call("crm.company.update", {"id": company, "fields": {"TITLE": "d"}})
    assert len(await client.call("event.offline.list")) == 2  # the reserved row is not touched
    again = await client.call("event.offline.get", {"process_id": got["process_id"]})
    assert [e["ID"] for e in again["events"]] == [e["ID"] for e in got["events"]]
    assert await client.call("event.offline.clear", {"process_id": got["process_id"]}) is True
    second = await client.call("event.offline.get", {"clear": 0})
    await client.call(
        "event.offline.error",
        {"process_id": second["process_id"], "message_id": [second["events"][0]["MESSAGE_ID"]]},
    )
    assert await client.call("event.offline.get", {"clear": 0}) == {"process_id": None, "events": []}
    errored = await client.call("event.offline.get", {"clear": 1, "error": 1})
    assert len(errored["events"]) == 1 and await client.call("event.offline.list") == []


async def test_offline_queue_rules(harness: Harness) -> None:
    """§6.5: admin only (403 ACCESS_DENIED); clear=0 needs rest_offline_extended; auth_connector mutes echoes."""
    portal = harness.portal
    client, _ = await _app_client(portal)
    await client.call(
        "event.bind", {"event": "ONCRMCOMPANYADD", "event_type": "offline", "auth_connector": "bridge1c"}
    )
    await client.call("crm.company.add", {"fields": {"TITLE": "own"}, "auth_connector": "bridge1c"})
    await client.call("crm.company.add", {"fields": {"TITLE": "user"}})
    rows = await client.call("event.offline.list", {"auth_connector": "bridge1c"})
    assert [r["EVENT_DATA"]["FIELDS"]["ID"] for r in rows] == [2]
    portal.state.features["rest_offline_extended"] = "N"
    with pytest.raises(AccessDenied):
        await client.call("event.offline.get", {"clear": 0, "auth_connector": "bridge1c"})
    token = portal.install_app(next(iter(portal.apps)), admin=False)["access_token"]
    portal.tokens[token].admin = False
    user = B24Client(
        InProcessTransport(portal, f"https://{portal.config.domain}/rest/"),
        bucket=None,
        oauth=OAuthSession(TokenSet(token, "r", 0, ""), InProcessTokenEndpoint(portal, "x", "y")),
    )
    with pytest.raises(AccessDenied) as info:
        await user.call("event.offline.get", {})
    assert (info.value.code, info.value.description) == ("ACCESS_DENIED", "Access denied!")


async def test_offline_signal_respects_min_timeout(harness: Harness) -> None:
    """§6.5: ONOFFLINEEVENT is pushed to an online handler at most once per ``minTimeout`` seconds."""
    portal = harness.portal
    client, _ = await _app_client(portal)
    await client.call("event.bind", {"event": "ONCRMCOMPANYADD", "event_type": "offline"})
    await client.call(
        "event.bind",
        {"event": "ONOFFLINEEVENT", "handler": "https://bridge/poke", "options": {"minTimeout": 10}},
    )
    for _ in range(3):
        await client.call("crm.company.add", {"fields": {"TITLE": "x"}})
    harness.clock.advance(11)
    await client.call("crm.company.add", {"fields": {"TITLE": "y"}})
    pokes = [d for d in portal.events.take_due() if d.event == "ONOFFLINEEVENT"]
    assert len(pokes) == 2


async def test_outgoing_webhook_has_only_the_application_token(harness: Harness) -> None:
    """§6.1 / §6.2: outgoing webhooks carry domain, endpoints, member_id and the fixed token; no user token."""
    portal = harness.portal
    portal.events.add_outgoing_webhook("https://bridge/hook", {"ONCRMDEALADD"}, "fixedtoken")
    await harness.client().call("crm.deal.add", {"fields": {"TITLE": "d"}})
    body = dict(parse_qsl(portal.events.take_due()[0].body))
    assert body["auth[application_token]"] == "fixedtoken" and "auth[access_token]" not in body
    assert body["data[FIELDS][ID]"] == "1"
