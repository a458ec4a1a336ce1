"""Invoice event handlers bound at start (OAuth application), the application token verified with
``event.test``; with an incoming webhook nothing can be bound and the status says what to configure.

Through the real server application and the fake portal (its ``event.*`` methods and its delivery
outbox: each delivery is POSTed to the server as the portal's queue would).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from lxml import etree
from pydantic import SecretStr

from b24_bridge import B24Client, OAuthSession, TokenSet
from b24_bridge.errors import ApiError
from b24_bridge.fake import FakePortal, InProcessTokenEndpoint, InProcessTransport, PortalConfig
from b24_bridge.invoices.binding import handler_url, plan
from b24_bridge.invoices.settings import InvoiceSettings
from b24_bridge.invoices.sync import InvoiceSync
from b24_bridge.invoices.web import INVOICE_SYNC
from b24_bridge.ratelimit import Limits
from tests.b24_invoices.conftest import ADMIN, World, invoice_app, portal_client
from tests.b24_invoices.test_scenarios import seed_invoice
from tests.exchange_server.exchange_client import Node

PUBLIC = "https://bridge.example.com"
HANDLER = f"{PUBLIC}/b24/events"
WANTED = ("ONCRMDYNAMICITEMADD", "ONCRMDYNAMICITEMUPDATE", "ONAPPTEST")


def oauth_client(portal: FakePortal) -> B24Client:
    app = portal.apps.get("local.bridge") or portal.register_app("local.bridge", "secret")
    tokens = TokenSet.from_json(portal.install_app(app.client_id))
    oauth = OAuthSession(tokens, InProcessTokenEndpoint(portal, app.client_id, "secret"))
    transport = InProcessTransport(portal, f"https://{portal.config.domain}/rest/")
    return B24Client(transport, oauth=oauth, bucket=None)


async def start(
    aiohttp_client: Any, tmp_path: Path, database_url: str, portal: FakePortal, settings: InvoiceSettings
) -> TestClient[Any, Any]:
    app = invoice_app(tmp_path, database_url, settings, oauth_client(portal))
    test_client: TestClient[Any, Any] = await aiohttp_client(app)
    return test_client


async def deliver(portal: FakePortal, client: TestClient[Any, Any]) -> list[int]:
    """POST every due delivery of the portal's queue to the server; the answers' statuses."""
    statuses = []
    for delivery in portal.events.take_due(float("inf")):
        assert delivery.url.startswith(PUBLIC), delivery.url
        response = await client.post(
            delivery.url.removeprefix(PUBLIC),
            data=delivery.body,
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        statuses.append(response.status)
        portal.events.record(delivery, "delivered" if response.status == 200 else "failed")
    return statuses


def handlers(portal: FakePortal) -> list[tuple[str, str]]:
    return sorted((r["event"], r["handler"]) for r in portal.state.t("handler"))


def test_plan_binds_the_missing_and_unbinds_our_old_url() -> None:
    existing = [
        {"event": "ONCRMDYNAMICITEMADD", "handler": HANDLER, "auth_type": "0", "offline": 0},
        {"event": "ONCRMDYNAMICITEMUPDATE", "handler": "https://old.example/b24/events", "offline": 0},
        {"event": "ONCRMDYNAMICITEMUPDATE", "handler": "https://other.example/hook", "offline": 0},
        {"event": "ONCRMDYNAMICITEMUPDATE", "connector_id": "", "offline": 1},
    ]
    todo = plan(existing, HANDLER, WANTED)
    assert todo.present == ("ONCRMDYNAMICITEMADD",)
    assert todo.bind == ("ONCRMDYNAMICITEMUPDATE", "ONAPPTEST")
    assert todo.unbind == (("ONCRMDYNAMICITEMUPDATE", "https://old.example/b24/events"),)
    with pytest.raises(ValueError, match="absolute http"):
        handler_url("bridge.example.com")
    with pytest.raises(ValueError, match="CML_B24_PUBLIC_URL"):
        InvoiceSettings(public_url="ftp://x")


async def test_oauth_start_binds_once_learns_the_token_and_events_reach_1c(
    aiohttp_client: Any, tmp_path: Path, database_url: str
) -> None:
    portal = FakePortal(PortalConfig(plan="box"))
    settings = InvoiceSettings(public_url=PUBLIC)  # no token configured: learned through event.test
    client = await start(aiohttp_client, tmp_path, database_url, portal, settings)
    assert handlers(portal) == sorted((e, HANDLER) for e in WANTED)
    sync: InvoiceSync = client.app[INVOICE_SYNC]
    assert sync.expected_token() is None
    # a forged ONAPPTEST (wrong nonce) teaches nothing
    forged = {"event": "ONAPPTEST", "data[QUERY][nonce]": "guess", "auth[application_token]": "evil"}
    assert (await client.post("/b24/events", data=forged)).status == 403
    assert sync.expected_token() is None
    assert await deliver(portal, client) == [200]  # the portal's ONAPPTEST with our nonce
    app_token = portal.apps["local.bridge"].application_token
    assert sync.expected_token() == app_token
    status = await (await client.get("/api/invoices/status", headers=ADMIN)).json()
    assert status["events"]["token"] == "verified"
    assert status["events"]["binding"]["bound"] == list(WANTED)
    # a manager creates an invoice: the portal posts ONCRMDYNAMICITEMADD/UPDATE, accepted with the token
    invoice_id = await seed_invoice(portal_client(portal, Limits.for_plan("box")))
    statuses = await deliver(portal, client)
    assert statuses and set(statuses) == {200}
    node = Node(client)
    await node.checkauth("sale")
    await node.init("sale")
    for _ in range(200):
        body, _ = await node.raw("sale", "query")
        ids = [d.findtext("Ид") for d in etree.fromstring(body).iter("Документ")]
        if ids:
            break
        await asyncio.sleep(0.02)  # the event worker refreshes the invoice in the background
    assert ids == [str(invoice_id)]


async def test_restart_binds_nothing_new_and_a_moved_url_replaces_ours(
    aiohttp_client: Any, tmp_path: Path, database_url: str
) -> None:
    portal = FakePortal(PortalConfig(plan="box"))
    first = await start(aiohttp_client, tmp_path, database_url, portal, InvoiceSettings(public_url=PUBLIC))
    await first.close()
    second = await start(aiohttp_client, tmp_path, database_url, portal, InvoiceSettings(public_url=PUBLIC))
    sync: InvoiceSync = second.app[INVOICE_SYNC]
    assert (
        sync.binding is not None
        and sync.binding.bound == []
        and sorted(sync.binding.present) == sorted(WANTED)
    )
    assert len(handlers(portal)) == 3
    await second.close()
    moved = "https://new.example.com"
    third = await start(aiohttp_client, tmp_path, database_url, portal, InvoiceSettings(public_url=moved))
    assert handlers(portal) == sorted((e, f"{moved}/b24/events") for e in WANTED)
    await third.close()


async def test_a_configured_token_that_differs_from_the_portal_is_reported(
    aiohttp_client: Any, tmp_path: Path, database_url: str
) -> None:
    portal = FakePortal(PortalConfig(plan="box"))
    settings = InvoiceSettings(public_url=PUBLIC, application_token=SecretStr("typo-in-the-setting"))
    client = await start(aiohttp_client, tmp_path, database_url, portal, settings)
    assert await deliver(portal, client) == [200]
    status = await (await client.get("/api/invoices/status", headers=ADMIN)).json()
    assert any("differs from the portal's application token" in w for w in status["warnings"])
    assert status["events"]["token"] == "configured"


async def test_webhook_cannot_bind_and_the_status_says_what_to_configure(world: World) -> None:
    with pytest.raises(ApiError) as refused:
        await world.b24.call("event.bind", {"event": "ONCRMDYNAMICITEMADD", "handler": HANDLER})
    assert refused.value.code == "WRONG_AUTH_TYPE"
    status = await (await world.client.get("/api/invoices/status", headers=ADMIN)).json()
    assert "outgoing webhook" in status["events"]["note"]
    assert status["events"]["binding"] is None
    assert len(world.portal.state.t("handler")) == 0


async def test_two_clients_of_one_installation_share_the_rotated_refresh_token(tmp_path: Path) -> None:
    """The goods push and the invoice sync refresh the same OAuth installation: the second must not
    spend the refresh token the first one already rotated (the portal would answer invalid_grant)."""
    import json

    from b24_bridge.errors import OAuthError
    from b24_bridge.sync.access import SharedTokenFile

    portal = FakePortal(PortalConfig(plan="box"))
    app = portal.register_app("local.bridge", "secret")
    first = TokenSet.from_json(portal.install_app(app.client_id))
    path = tmp_path / "tokens.json"

    async def save(new: TokenSet) -> None:
        path.write_text(json.dumps({"access_token": new.access_token, "refresh_token": new.refresh_token,
                                    "expires": new.expires, "client_endpoint": new.client_endpoint}))  # fmt: skip

    endpoint = InProcessTokenEndpoint(portal, app.client_id, "secret")
    one = OAuthSession(first, SharedTokenFile(endpoint, path, save), on_refresh=save)
    two = OAuthSession(first, SharedTokenFile(endpoint, path, save), on_refresh=save)
    refreshed = await one.refresh(first.access_token)
    assert (await two.refresh(first.access_token)).refresh_token == refreshed.refresh_token
    with pytest.raises(OAuthError):  # what the second client did before: the rotated token is spent
        await endpoint.refresh(first.refresh_token)
