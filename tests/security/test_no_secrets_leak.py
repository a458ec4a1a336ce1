"""No secret ever reaches the logs, the database or an answer.

A real run, everything over HTTP: the fake Bitrix24 portal on loopback reached through a webhook URL
with its secret code, the server with the goods bridge and the invoice sync, a 1C catalog exchange and
an orders exchange (upload and query), a failed 1C login, the admin login form (right and wrong), admin
pages and the operator API with right and wrong credentials, portal events with the wrong and the right
application_token, and finally the portal gone while the invoice sync polls (its error names the
webhook URL). Logs are captured as the server writes them (JSON lines, DEBUG, every logger). Then
the captured logs, every row of every table and every answer the test received are searched for the
passwords (plain and hashed), the webhook code, the application_token and the 1C session cookies.
"""

from __future__ import annotations

import io
import logging
import re
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from pydantic import SecretStr
from sqlalchemy import MetaData, select
from sqlalchemy.ext.asyncio import AsyncEngine

from b24_bridge.envelope import RetryPolicy
from b24_bridge.fake import FakePortal, PortalConfig
from b24_bridge.fake.app import make_portal_app
from b24_bridge.invoices.settings import InvoiceSettings
from b24_bridge.invoices.web import INVOICE_SYNC, add_invoice_service
from exchange_server.admin import SETTINGS
from exchange_server.app import make_app
from exchange_server.keys import ENGINE
from exchange_server.replay import ExchangeFailed, ReplayNode, replay_catalog, sale_query, sale_upload
from exchange_server.telemetry import JsonFormatter
from tests.security.conftest import ADMIN_PASSWORD, ADMIN_USER, NODE_PASSWORD, NODE_USER, security_settings

REPO = Path(__file__).resolve().parents[2]
CLASSIC = REPO / "fixtures" / "commerceml" / "classic-2.08"
ORDERS = REPO / "fixtures" / "commerceml" / "orders" / "from-1c-2.08.xml"
TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


@contextmanager
def json_logs() -> Iterator[io.StringIO]:
    """Every record of every logger at DEBUG, formatted as the server's JSON lines."""
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(JsonFormatter())
    handler.setLevel(logging.DEBUG)
    # Not the server's: aiohttp's access log of the test servers (`cml-exchange serve` turns it off and
    # logs requests through cml.access, path only) and the simulated portal's own loggers.
    handler.addFilter(lambda r: r.name != "aiohttp.access" and not r.name.startswith("b24_bridge.fake"))
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield out
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


async def _all_rows(engine: AsyncEngine) -> str:
    metadata = MetaData()
    async with engine.connect() as connection:
        await connection.run_sync(metadata.reflect)
        parts = []
        for table in metadata.sorted_tables:
            rows = (await connection.execute(select(table))).all()
            parts.append(f"{table.name}: {rows!r}")
    assert any(p.startswith("exchange_steps: [(") for p in parts), "the journal was written"
    return "\n".join(parts)


class Answers:
    """Every body the test received, to be searched at the end."""

    def __init__(self, http: aiohttp.ClientSession, base: str) -> None:
        self.http, self.base, self.texts = http, base, []  # type: tuple[aiohttp.ClientSession, str, list[str]]

    async def request(self, method: str, path: str, **kwargs: Any) -> aiohttp.ClientResponse:
        response = await self.http.request(method, self.base + path, **kwargs)
        self.texts.append(
            f"{method} {path} {response.status} {dict(response.headers)!r}\n{await response.text()}"
        )
        return response


async def test_no_secret_in_logs_journal_or_answers(tmp_path: Path, sqlite_url: str) -> None:
    webhook_code = "whk" + secrets.token_hex(12)
    app_token = "apptok" + secrets.token_hex(12)
    portal = FakePortal(PortalConfig(plan="box"))
    hook = portal.add_webhook(1, webhook_code)
    portal_server = TestServer(make_portal_app(portal), host="127.0.0.1")
    await portal_server.start_server()
    webhook = str(portal_server.make_url(portal.webhook_path(hook)))
    settings = security_settings(tmp_path, sqlite_url, b24_webhook_url=SecretStr(webhook))
    cookies: list[str] = []
    with json_logs() as logs:
        app = make_app(settings)
        add_invoice_service(
            app,
            settings=InvoiceSettings(webhook_url=webhook, application_token=SecretStr(app_token)),
            background=False,
        )
        server = TestServer(app, host="127.0.0.1")
        await server.start_server()
        base = str(server.make_url("")).rstrip("/")
        url = base + "/1c_exchange"
        try:
            timeout = aiohttp.ClientTimeout(total=120)
            async with aiohttp.ClientSession(timeout=timeout, cookie_jar=aiohttp.DummyCookieJar()) as http:
                answers = Answers(http, base)

                def node(password: str = NODE_PASSWORD) -> ReplayNode:
                    return ReplayNode(http, url, NODE_USER, password, report=lambda _line: None)

                catalog = node()
                await replay_catalog(
                    catalog, [("import.xml", CLASSIC / "import.xml"), ("offers.xml", CLASSIC / "offers.xml")]
                )
                cookies.append(catalog.cookie or "")
                orders = node()
                await sale_upload(orders, ORDERS.name, ORDERS)
                cookies.append(orders.cookie or "")
                query = node()
                await sale_query(query)
                cookies.append(query.cookie or "")
                with pytest.raises(ExchangeFailed):
                    await replay_catalog(
                        node("wrong-" + NODE_PASSWORD), [("import.xml", CLASSIC / "import.xml")]
                    )

                # The admin login form, wrong then right, and the pages behind it.
                async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as browser:
                    pages = Answers(browser, base)
                    for password in ("wrong-" + ADMIN_PASSWORD, ADMIN_PASSWORD):
                        form = await pages.request("GET", "/admin/login")
                        token = TOKEN.search(answers_text := pages.texts[-1])
                        assert token is not None, answers_text[:200]
                        await pages.request(
                            "POST",
                            "/admin/login",
                            data={"csrf_token": token.group(1), "user": ADMIN_USER, "password": password},
                            allow_redirects=False,
                        )
                        assert form.status == 200
                    for path in ("/admin/", "/admin/journal", "/admin/catalog", "/admin/orders",
                                 "/admin/outbox", "/admin/status-map"):  # fmt: skip
                        assert (await pages.request("GET", path)).status == 200, path
                    for sid in set(re.findall(r'href="/admin/journal/([^"/?]+)"', pages.texts[-5])):
                        await pages.request("GET", f"/admin/journal/{sid}")
                    answers.texts += pages.texts

                basic = {"Authorization": aiohttp.encode_basic_auth(ADMIN_USER, ADMIN_PASSWORD)}
                wrong = {"Authorization": aiohttp.encode_basic_auth(ADMIN_USER, "wrong-" + ADMIN_PASSWORD)}
                assert (await answers.request("GET", "/api/exchanges", headers=wrong)).status == 401
                listing = await (await answers.request("GET", "/api/exchanges", headers=basic)).json()
                for item in listing["items"]:
                    await answers.request("GET", f"/api/exchanges/{item['id']}", headers=basic)
                for path in ("/api/products", "/api/orders", "/api/b24/status", "/api/invoices/status",
                             "/api/status-map", "/metrics"):  # fmt: skip
                    await answers.request("GET", path, headers=basic)

                event = {
                    "event": "ONCRMDYNAMICITEMUPDATE",
                    "data[FIELDS][ID]": "1",
                    "data[FIELDS][ENTITY_TYPE_ID]": "31",
                }
                bad = await answers.request(
                    "POST", "/b24/events", data={**event, "auth[application_token]": "nope"}
                )
                assert bad.status == 403
                good = await answers.request(
                    "POST", "/b24/events", data={**event, "auth[application_token]": app_token}
                )
                assert good.status == 200

                # The portal goes away: the sync's errors name the webhook URL, never its code.
                await portal_server.close()
                sync = app[INVOICE_SYNC]
                # Two quick tries instead of the client's minute of back-off: the errors are the same.
                sync.client.retry = RetryPolicy(attempts=2, base_delay=0.01, max_delay=0.01)
                try:
                    await sync.poll_once()
                except Exception as exc:  # whatever the sync raises, its text is searched too
                    answers.texts.append(f"poll_once raised {type(exc).__name__}: {exc}")
                await answers.request("GET", "/api/invoices/status", headers=basic)
                await answers.request("GET", "/api/b24/status", headers=basic)
            rows = await _all_rows(app[ENGINE])
            kept = app[SETTINGS]
        finally:
            await server.close()
            await portal_server.close()
    captured = logs.getvalue()
    assert '"level": "debug"' in captured and "/1c_exchange" in captured, "the logs were captured"
    assert all(cookies) and len(set(cookies)) == 3
    assert kept.exchange_password is not None and kept.admin_password is not None
    secrets_by_name = {
        "1C password": NODE_PASSWORD,
        "admin password": ADMIN_PASSWORD,
        "1C password hash": kept.exchange_password.get_secret_value(),
        "admin password hash": kept.admin_password.get_secret_value(),
        "webhook code": webhook_code,
        "application_token": app_token,
        **{f"session cookie {i}": c.split("=", 1)[1] for i, c in enumerate(cookies)},
    }
    answers_text = "\n".join(answers.texts)
    assert (
        webhook_code not in webhook.replace(webhook_code, "") and "/rest/1/***/" in captured + answers_text
    ), "the webhook URL was used and shown redacted"
    leaks = [
        f"{name} in {where}"
        for name, value in secrets_by_name.items()
        for where, text in (("logs", captured), ("database", rows), ("answers", answers_text))
        if value and value in text
    ]
    context = [
        f"{where}: ...{text[max(0, i - 300) : i + 60]}..."
        for name, value in secrets_by_name.items()
        for where, text in (("logs", captured), ("database", rows), ("answers", answers_text))
        if value and (i := text.find(value)) >= 0
    ]
    assert not leaks, (leaks, context)


async def test_transport_errors_mask_the_webhook_code_and_oauth_secrets() -> None:
    from b24_bridge.errors import TransportError
    from b24_bridge.http import AiohttpTokenEndpoint, AiohttpTransport
    from b24_bridge.transport import B24Request, parse_webhook_url

    closed = TestServer(make_portal_app(FakePortal(PortalConfig(plan="box"))), host="127.0.0.1")
    await closed.start_server()
    base = str(closed.make_url("")).rstrip("/")
    await closed.close()  # nothing listens there any more: every call fails to connect
    async with aiohttp.ClientSession() as http:
        transport = AiohttpTransport(http, f"{base}/rest/7/hooksecret0123abcd/", timeout=5)
        with pytest.raises(TransportError) as caught:
            await transport.send(B24Request("crm.item.list", {}))
        assert "hooksecret0123abcd" not in str(caught.value) and "/rest/7/***/" in str(caught.value)
        endpoint = AiohttpTokenEndpoint(
            http, "app.id", "clientsecret0123", url=f"{base}/oauth/token/", timeout=5
        )
        with pytest.raises(TransportError) as oauth:
            await endpoint.refresh("refreshtoken0123")
        assert "clientsecret0123" not in str(oauth.value) and "refreshtoken0123" not in str(oauth.value)
    with pytest.raises(ValueError) as bad:
        parse_webhook_url("ftp://portal.example/rest/1/hooksecret0123abcd/")
    assert "hooksecret0123abcd" not in str(bad.value)
