"""Portal events are accepted only with the right application_token; a refused event changes nothing
(no portal call, nothing queued for 1C), and the token never reaches the log."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest
from lxml import etree

from tests.b24_invoices.conftest import (  # noqa: F401  (fixtures)
    TOKEN,
    World,
    database_url,
    engine,
    plan,
    postgres_url,
    sessionmaker,
    sqlite_template,
    world,
)
from tests.b24_invoices.test_scenarios import seed_invoice

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def _server_log(caplog: pytest.LogCaptureFixture) -> str:
    # aiohttp's own access log is the test server's (it prints the query string we sent on purpose);
    # `cml-exchange serve` turns it off and logs requests through cml.access, path only.
    return "\n".join(r.getMessage() for r in caplog.records if r.name != "aiohttp.access")


async def _documents(world: World) -> list[str]:  # noqa: F811
    body, _ = await (await world.node()).raw("sale", "query")
    return [d.findtext("Ид") or "" for d in etree.fromstring(body).iter("Документ")]


@pytest.mark.parametrize(
    "auth",
    [
        {"auth[application_token]": "wrong"},
        {"auth[application_token]": ""},
        {},
        {"auth[application_token]": TOKEN.upper()},
        {"auth[application_token]": TOKEN + " "},
        {"auth[APPLICATION_TOKEN]": TOKEN},
    ],
)
async def test_a_wrong_or_missing_token_is_refused_and_changes_nothing(
    world: World,  # noqa: F811
    auth: dict[str, str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    invoice_id = await seed_invoice(world.b24)
    calls_before = len(world.portal.records)
    form: dict[str, Any] = {
        "event": "ONCRMDYNAMICITEMUPDATE",
        "data[FIELDS][ID]": str(invoice_id),
        "data[FIELDS][ENTITY_TYPE_ID]": "31",
        **auth,
    }
    refused = await world.client.post("/b24/events", data=form)
    assert refused.status == 403
    assert await refused.json() == {"error": "wrong application_token"}
    # The token in the query string instead of the form is not accepted either.
    query = await world.client.post("/b24/events", params={"auth[application_token]": TOKEN}, data=form)
    assert query.status == 403
    await asyncio.sleep(0.3)  # what an accepted event would have started has had time to run
    assert len(world.portal.records) == calls_before, "a refused event made the server call the portal"
    assert await _documents(world) == []
    assert TOKEN not in _server_log(caplog)
    # Positive control: the same event with the right token reaches 1C.
    form["auth[application_token]"] = TOKEN
    form.pop("auth[APPLICATION_TOKEN]", None)
    assert (await world.client.post("/b24/events", data=form)).status == 200
    for _ in range(200):
        if await _documents(world):
            break
        await asyncio.sleep(0.02)
    assert await _documents(world) == [str(invoice_id)]
    assert TOKEN not in _server_log(caplog)
