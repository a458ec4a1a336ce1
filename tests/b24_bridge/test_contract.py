"""Client against the fake portal, in-process and over real HTTP: one test per documented behaviour.

Each docstring names its source section of ``shared/docs/bitrix24.md``.
"""

from __future__ import annotations

import asyncio

import pytest

from b24_bridge import (
    AccessDenied,
    AmbiguousWrite,
    AuthFailed,
    B24Client,
    BatchCommand,
    BatchRefused,
    InvalidArgument,
    Limits,
    MethodNotFound,
    NotFound,
    OAuthError,
    OperationLimited,
    RetryPolicy,
)
from b24_bridge.fake import FakePortal, Fault, PortalConfig

from .conftest import Harness


async def test_envelope_has_result_and_time_with_operating(harness: Harness) -> None:
    """§1.4: every answer carries ``time`` (start/finish/duration/processing/dates) and, in cloud,
    ``operating`` and ``operating_reset_at``."""
    env = await harness.client().call_envelope("crm.company.add", {"fields": {"TITLE": "A"}})
    assert env.result == 1 and env.total is None and env.next is None
    assert env.time is not None and env.time.start == harness.clock.now()
    assert env.time.duration == pytest.approx(env.time.finish - env.time.start)  # type: ignore[operator]
    assert env.time.operating == pytest.approx(0.05) and env.time.operating_reset_at == int(
        harness.clock.now() + 600
    )
    assert env.time.date_start is not None and env.time.date_start.endswith("+03:00")


async def test_box_portal_has_no_operating_time(clock: object) -> None:
    """§1.4 / §2.2: box portals report no ``operating`` and do not limit the rate."""
    portal = FakePortal(PortalConfig(plan="box"))
    code = portal.default_webhook.code
    replies = [portal.handle_rest("crm.company.list", {}, user="1", code=code) for _ in range(300)]
    assert {r.status for r in replies} == {200}
    assert "operating" not in replies[0].body["time"]


async def test_legacy_ids_are_strings_and_add_returns_int(client: object, harness: Harness) -> None:
    """§1.2: legacy families answer string ids and Y/N; ``add`` answers an int; engine answers ints."""
    c = harness.client()
    company = await c.call("crm.company.add", {"fields": {"TITLE": "Ромашка", "IS_MY_COMPANY": "N"}})
    assert isinstance(company, int)
    got = await c.call("crm.company.get", {"id": company})
    assert got["ID"] == str(company) and got["IS_MY_COMPANY"] == "N" and got["TITLE"] == "Ромашка"
    item = await c.call("crm.item.add", {"entityTypeId": 31, "fields": {"title": "S", "companyId": company}})
    assert item["item"]["companyId"] == company and isinstance(item["item"]["id"], int)


async def test_wrong_webhook_code_is_401(harness: Harness) -> None:
    """§1.5 / §8.1 item 3: an unknown webhook code answers 401 NO_AUTH_FOUND."""
    client = harness.client(path="/rest/1/not-the-code/")
    with pytest.raises(AuthFailed) as info:
        await client.call("crm.company.list")
    assert (info.value.status, info.value.code) == (401, "NO_AUTH_FOUND")


async def test_unknown_method_is_404(client: object, harness: Harness) -> None:
    """§1.5: an unknown method answers 404 ERROR_METHOD_NOT_FOUND, and is not retried."""
    with pytest.raises(MethodNotFound) as info:
        await harness.client().call("crm.nothing.here")
    assert info.value.status == 404
    assert [r.method for r in harness.portal.records] == ["crm.nothing.here"]


async def test_legacy_not_found_has_an_empty_code(harness: Harness) -> None:
    """§1.5 / §4.2: legacy crm.* errors have ``"error": ""`` and HTTP 400."""
    with pytest.raises(NotFound) as info:
        await harness.client().call("crm.invoice.get", {"id": 999})
    assert (info.value.status, info.value.code, info.value.description) == (400, "", "Not found")


async def test_crm_item_not_found_is_400(harness: Harness) -> None:
    """§4.3 / §1.5: ``crm.item.get`` of a missing item answers 400 NOT_FOUND (not 404)."""
    with pytest.raises(NotFound) as info:
        await harness.client().call("crm.item.get", {"entityTypeId": 31, "id": 999})
    assert (info.value.status, info.value.code) == (400, "NOT_FOUND")


async def test_event_methods_refuse_webhooks(harness: Harness) -> None:
    """§1.3: ``event.bind`` through a webhook answers 403 WRONG_AUTH_TYPE."""
    with pytest.raises(AccessDenied) as info:
        await harness.client().call("event.bind", {"event": "ONCRMDEALADD", "handler": "https://x/"})
    assert (info.value.status, info.value.code) == (403, "WRONG_AUTH_TYPE")


async def test_scope_outside_the_webhook_is_403(harness: Harness) -> None:
    """§8.1 item 3: a method outside the webhook's scopes answers 403 insufficient_scope."""
    hook = harness.portal.add_webhook(1, "crmonly", scopes={"crm"})
    client = harness.client(path=harness.portal.webhook_path(hook))
    assert await client.call("crm.company.list") == []
    with pytest.raises(AccessDenied) as info:
        await client.call("catalog.vat.list")
    assert info.value.code == "insufficient_scope"


async def test_expired_token_is_refreshed_once_with_rotation(harness: Harness) -> None:
    """§1.3: 401 expired_token -> refresh once (new refresh token, saved first) -> same call again."""
    client, oauth = harness.oauth_client()
    old = oauth.tokens
    assert await client.call("crm.company.add", {"fields": {"TITLE": "t"}}) == 1
    harness.portal.expire_tokens()
    assert (await client.call("crm.company.get", {"id": 1}))["TITLE"] == "t"
    assert oauth.refreshes == 1 and harness.tokens_saved == [oauth.tokens]
    assert oauth.tokens.refresh_token != old.refresh_token
    status, body = harness.portal.oauth_token(
        {
            "grant_type": "refresh_token",
            "client_id": "local.fake0001",
            "client_secret": "secret",
            "refresh_token": old.refresh_token,
        }
    )
    assert (status, body["error"]) == (400, "invalid_grant")  # rotation: the old refresh token is dead


async def test_concurrent_expired_calls_refresh_once(harness: Harness) -> None:
    """§1.3 / §7.1: concurrent refreshes with one refresh token would fail with invalid_grant; single-flight."""
    client, oauth = harness.oauth_client(bucket=None)
    harness.portal.expire_tokens()
    results = await asyncio.gather(*(client.call("crm.company.list") for _ in range(5)))
    assert results == [[]] * 5 and oauth.refreshes == 1


async def test_refused_refresh_is_an_oauth_error(harness: Harness) -> None:
    """§1.3: an invalid refresh token fails with invalid_grant; the call is not retried further."""
    client, oauth = harness.oauth_client()
    harness.portal.refresh_tokens.clear()
    harness.portal.expire_tokens()
    with pytest.raises(OAuthError) as info:
        await client.call("crm.company.list")
    assert info.value.code == "invalid_grant"


async def test_client_paces_itself_so_the_portal_never_refuses(harness: Harness) -> None:
    """§2.1: 120 calls at 2/s burst 50: zero refusals; the client spent ~35 fake seconds pacing."""
    client = harness.client()
    start = harness.clock.now()
    for i in range(120):
        await client.call("crm.company.add", {"fields": {"TITLE": f"c{i}"}})
    assert harness.portal.stats.rejected == 0 and harness.portal.stats.requests == 120
    assert harness.clock.now() - start == pytest.approx((120 - 49) / 2, abs=0.01)


async def test_greedy_client_is_refused_with_503_and_retries(harness: Harness) -> None:
    """§2.1: above the threshold the portal answers 503 QUERY_LIMIT_EXCEEDED; the client backs off."""
    client = harness.client(bucket=None)
    for _ in range(60):
        await client.call("crm.company.list")
    assert harness.portal.stats.rejected >= 1
    assert [r.error for r in harness.portal.records][50] == "QUERY_LIMIT_EXCEEDED"
    assert harness.portal.records[50].status == 503


@pytest.mark.parametrize("portal_config", [PortalConfig(plan="enterprise")])
async def test_enterprise_bucket_is_five_per_second_burst_250(harness: Harness) -> None:
    """§2.1: Enterprise: 250 burst, then 5 per second; a client with those limits is never refused."""
    client = harness.client(limits=Limits(rate=5.0, capacity=250))
    start = harness.clock.now()
    for _ in range(300):
        await client.call("crm.company.list")
    assert harness.portal.stats.rejected == 0
    assert harness.clock.now() - start == pytest.approx((300 - 249) / 5, abs=0.01)


@pytest.mark.parametrize("portal_config", [PortalConfig(method_costs={"crm.item.list": 60.0})])
async def test_client_pauses_a_method_near_480_seconds(harness: Harness) -> None:
    """§2.2: the client pauses a method until ``operating_reset_at`` near 480 s; no 429 ever."""
    client = harness.client()
    start = harness.clock.now()
    for _ in range(10):
        await client.call("crm.item.list", {"entityTypeId": 31})
    assert harness.portal.stats.rejected == 0 and harness.portal.stats.calls["crm.item.list"] == 10
    assert harness.clock.now() - start >= 600 - 1  # paused once for the window to reset


@pytest.mark.parametrize("portal_config", [PortalConfig(method_costs={"crm.item.list": 100.0})])
async def test_operating_limit_answers_429_per_method(harness: Harness) -> None:
    """§2.2: past 480 s the next call of that method gets 429 OPERATION_TIME_LIMIT; other methods work."""
    client = harness.client(retry=RetryPolicy(attempts=1))
    client.budget = None  # behave like a client that does not track operating time
    for _ in range(5):
        await client.call("crm.item.list", {"entityTypeId": 31})
    with pytest.raises(OperationLimited) as info:
        await client.call("crm.item.list", {"entityTypeId": 31})
    assert info.value.status == 429
    assert await client.call("crm.company.list") == []


async def test_batch_references_and_per_command_errors(harness: Harness) -> None:
    """§2.4: ``$result`` references, per-command ``result_error``, HTTP 200, one bucket unit."""
    client = harness.client()
    answer = await client.batch(
        [
            BatchCommand(
                "company", "crm.company.add", {"fields": {"TITLE": "Ромашка & Co", "ORIGIN_ID": "g"}}
            ),
            BatchCommand(
                "req",
                "crm.requisite.add",
                {
                    "fields": {
                        "ENTITY_TYPE_ID": 4,
                        "ENTITY_ID": "$result[company]",
                        "PRESET_ID": 1,
                        "NAME": "Организация",
                        "RQ_INN": "7707083893",
                    }
                },
            ),
            BatchCommand("get", "crm.company.get", {"id": "$result[company]"}),
            BatchCommand("missing", "crm.item.get", {"entityTypeId": 31, "id": 999}),
            BatchCommand(
                "list", "crm.requisite.list", {"filter": {"RQ_INN": "7707083893"}, "select": ["ENTITY_ID"]}
            ),
        ]
    )
    assert answer.results["get"]["TITLE"] == "Ромашка & Co"
    assert answer.results["list"] == [{"ID": "1", "ENTITY_ID": "1"}] and answer.totals["list"] == 1
    assert isinstance(answer.errors["missing"], NotFound) and "missing" not in answer.results
    assert harness.portal.stats.requests == 1
    assert harness.portal.stats.calls["crm.requisite.add"] == 1 and harness.portal.stats.calls["batch"] == 1


async def test_batch_halt_stops_at_the_first_error(harness: Harness) -> None:
    """§2.4 item 7: with ``halt`` later commands are absent from every result map."""
    answer = await harness.client().batch(
        {
            "a": ("crm.company.add", {"fields": {"TITLE": "a"}}),
            "b": ("crm.company.get", {"id": 99}),
            "c": ("crm.company.add", {"fields": {"TITLE": "c"}}),
        },
        halt=True,
    )
    assert set(answer.results) == {"a"} and set(answer.errors) == {"b"}
    assert len(harness.portal.state.t("company")) == 1


async def test_batch_refuses_the_51st_command_and_nesting(harness: Harness) -> None:
    """§2.4 items 4-5: commands past 50 get ERROR_BATCH_LENGTH_EXCEEDED; nested batch is not allowed."""
    cmd = {f"c{i}": f"crm.company.list?start={i}" for i in range(52)}
    cmd["nested"] = "batch?cmd[x]=crm.company.list"
    raw = await harness.client().call("batch", {"cmd": cmd})
    assert len(raw["result"]) == 50
    assert raw["result_error"]["c50"]["error"] == "ERROR_BATCH_LENGTH_EXCEEDED"
    assert raw["result_error"]["c51"]["error"] == "ERROR_BATCH_LENGTH_EXCEEDED"
    assert raw["result_error"]["nested"]["error"] in (
        "ERROR_BATCH_LENGTH_EXCEEDED",
        "ERROR_BATCH_METHOD_NOT_ALLOWED",
    )
    small = await harness.client().batch({"n": ("crm.company.list", {}), "x": ("crm.company.get", {"id": 1})})
    assert small.results == {"n": []} and isinstance(small.errors["x"], NotFound)
    direct = await harness.client().call("batch", {"cmd": {"n": "batch?cmd[x]=crm.company.list"}})
    assert direct["result_error"]["n"]["error"] == "ERROR_BATCH_METHOD_NOT_ALLOWED"
    assert isinstance(BatchRefused("ERROR_BATCH_METHOD_NOT_ALLOWED", ""), BatchRefused)


async def test_batch_references_whole_value_and_inside_text(harness: Harness) -> None:
    """§2.4 item 3: a reference that is the whole value is replaced (keeps its type); inside text it is
    substituted; references chain list pages (``$result[p0][items][1][id]``)."""
    client = harness.client()
    for i in range(3):
        await client.call("crm.item.add", {"entityTypeId": 31, "fields": {"title": f"i{i}"}})
    raw = await client.call(
        "batch",
        {
            "cmd": {
                "p0": "crm.item.list?entityTypeId=31&order[id]=ASC&filter[>id]=0&start=-1&select[]=id&select[]=title",
                "p1": "crm.item.list?entityTypeId=31&order[id]=ASC&filter[>id]=$result[p0][items][1][id]&start=-1&select[]=id",
                "u": "crm.item.update?entityTypeId=31&id=$result[p0][items][0][id]&fields[title]=Copy of $result[p0][items][2][title]",
            }
        },
    )
    assert [i["id"] for i in raw["result"]["p1"]["items"]] == [3]
    assert raw["result"]["u"]["item"]["title"] == "Copy of i2"
    assert raw["result_total"] == {"p0": 0, "p1": 0}


def test_batch_reference_stops_at_the_last_resolved_level() -> None:
    """§2.4 item 3: a reference to a missing key yields the deepest level that exists."""
    from b24_bridge.fake.batch import resolve_references

    maps = {
        "result": {"p0": {"items": [{"id": 1}, {"id": 2}]}},
        "next": {},
        "total": {},
        "time": {},
        "error": {},
    }
    assert resolve_references({"a": "$result[p0][items][49][id]"}, maps) == {"a": [{"id": 1}, {"id": 2}]}
    assert resolve_references({"a": "$result[p0][items][1][id]"}, maps) == {"a": 2}
    assert resolve_references({"$result[p0][items][0][id]": "x"}, maps) == {"1": "x"}
    assert resolve_references("n=$result[p0][items][1][id]!", maps) == "n=2!"


async def test_call_many_packs_fifty_per_batch(harness: Harness) -> None:
    """§2.4 / §7.2: many calls of one method go 50 per batch, results in input order."""
    client = harness.client()
    ids = await client.call_many("crm.company.add", [{"fields": {"TITLE": f"t{i}"}} for i in range(120)])
    assert ids == list(range(1, 121))
    assert harness.portal.stats.calls["batch"] == 3 and harness.portal.stats.requests == 3


async def test_list_paging_with_next_and_total(harness: Harness) -> None:
    """§2.5: 50 rows per page, ``next`` while more rows exist, ``total``; all rows come back once."""
    client = harness.client()
    await client.call_many("crm.company.add", [{"fields": {"TITLE": f"t{i}"}} for i in range(120)])
    first = await client.call_envelope("crm.company.list", {"order": {"ID": "ASC"}})
    assert (len(first.result), first.total, first.next) == (50, 120, 50)
    rows = await client.list_all("crm.company.list", {"select": ["ID"]})
    assert [int(r["ID"]) for r in rows] == list(range(1, 121))
    starts = [r.params.get("start") for r in harness.portal.records if r.method == "crm.company.list"][1:]
    assert starts == [0, 50, 100]


async def test_legacy_start_is_rounded_down_to_fifty(harness: Harness) -> None:
    """§2.5: legacy lists round ``start`` down to a multiple of 50 (start=75 returns rows 50-99)."""
    client = harness.client()
    await client.call_many("crm.company.add", [{"fields": {"TITLE": f"t{i}"}} for i in range(120)])
    env = await client.call_envelope(
        "crm.company.list", {"start": 75, "order": {"ID": "ASC"}, "select": ["ID"]}
    )
    assert env.result[0]["ID"] == "51" and env.next == 100
    items = await client.call_envelope("crm.item.list", {"entityTypeId": 31, "start": 75})
    assert items.total == 0


async def test_start_minus_one_skips_the_count(harness: Harness) -> None:
    """§2.5: ``start=-1`` answers the first 50 rows, ``total`` 0 and no ``next``."""
    client = harness.client()
    await client.call_many("crm.company.add", [{"fields": {"TITLE": f"t{i}"}} for i in range(60)])
    env = await client.call_envelope("crm.company.list", {"start": -1})
    assert (len(env.result), env.total, env.next) == (50, 0, None)


async def test_fast_export_with_id_filter(harness: Harness) -> None:
    """§2.5: the fast export: ``order id ASC``, ``filter >id``, ``start=-1`` until a short page."""
    client = harness.client()
    await client.call_many(
        "crm.item.add", [{"entityTypeId": 31, "fields": {"title": f"i{i}"}} for i in range(130)]
    )
    rows = [r async for r in client.export("crm.item.list", {"entityTypeId": 31, "select": ["title"]})]
    assert [r["id"] for r in rows] == list(range(1, 131)) and rows[0]["title"] == "i0"
    calls = [r.params for r in harness.portal.records if r.method == "crm.item.list"]
    assert [c["filter"][">id"] for c in calls] == [0, 50, 100] and {c["start"] for c in calls} == {-1}


async def test_filter_operators(harness: Harness) -> None:
    """§2.5: filter operators = ! > >= < <= @ !@ % =% on legacy lists; arrays mean IN."""
    client = harness.client()
    for title in ("Альфа", "Бета", "Гамма", "Дельта"):
        await client.call("crm.company.add", {"fields": {"TITLE": title, "REVENUE": len(title) * 100}})

    async def ids(flt: dict[str, object]) -> list[int]:
        return [
            int(r["ID"]) for r in await client.call("crm.company.list", {"filter": flt, "select": ["ID"]})
        ]

    assert await ids({">ID": 2}) == [3, 4]
    assert await ids({">=ID": 2, "<ID": 4}) == [2, 3]
    assert await ids({"<=REVENUE": 400}) == [2]
    assert await ids({"!ID": 1}) == [2, 3, 4]
    assert await ids({"ID": [1, 3]}) == [1, 3]
    assert await ids({"@ID": [2, 4]}) == [2, 4]
    assert await ids({"!@ID": [2, 4]}) == [1, 3]
    assert await ids({"%TITLE": "ЛЬ"}) == [1, 4]
    assert await ids({"=%TITLE": "Г%"}) == [3]
    assert await ids({"!%TITLE": "а"}) == []


async def test_engine_filter_or_groups_and_unknown_fields(harness: Harness) -> None:
    """§2.5 / §4.3: engine filters take ``logic: OR`` groups; an unknown field is 400 INVALID_ARG_VALUE."""
    client = harness.client()
    for i in range(4):
        await client.call(
            "crm.item.add", {"entityTypeId": 31, "fields": {"title": f"t{i}", "xmlId": f"x{i}"}}
        )
    got = await client.call(
        "crm.item.list",
        {
            "entityTypeId": 31,
            "filter": {"logic": "OR", "0": {"xmlId": "x0"}, "1": {">id": 3}},
            "select": ["id"],
        },
    )
    assert [i["id"] for i in got["items"]] == [1, 4]
    with pytest.raises(InvalidArgument) as info:
        await client.call("crm.item.list", {"entityTypeId": 31, "filter": {"noSuchField": 1}})
    assert info.value.code == "INVALID_ARG_VALUE" and "noSuchField" in info.value.description


async def test_server_errors_and_gateway_pages_are_retried_for_reads(harness: Harness) -> None:
    """§1.5 / §7.1: 500, 503 OVERLOAD_LIMIT and HTML gateway pages are retryable; reads are repeated."""
    client = harness.client()
    await client.call("crm.company.add", {"fields": {"TITLE": "x"}})
    for fault in (Fault.INTERNAL_ERROR, Fault.OVERLOAD, Fault.GATEWAY_HTML, Fault.GATEWAY_TIMEOUT_HTML):
        harness.portal.faults.add(fault, method="crm.company.get", times=2, every=1)
        assert (await client.call("crm.company.get", {"id": 1}))["TITLE"] == "x"
        harness.portal.faults.clear()
    assert harness.portal.stats.calls["crm.company.get"] == 4 + 2  # two post-commit gateway pages ran


async def test_connection_reset_is_retried_for_reads(harness: Harness) -> None:
    """§8.3 item 4: a connection reset before or after processing is a retryable transport error."""
    client = harness.client()
    harness.portal.faults.add(Fault.RESET_BEFORE, method="crm.company.list", times=1, every=1)
    harness.portal.faults.add(Fault.RESET_AFTER, method="crm.company.list", times=1, every=1)
    assert await client.call("crm.company.list") == []
    assert len([r for r in harness.portal.records if r.method == "crm.company.list"]) == 2


async def test_non_retryable_errors_are_raised_at_once(harness: Harness) -> None:
    """§7.4 item 3: access/validation/not-found errors are not retried."""
    with pytest.raises(InvalidArgument):
        await harness.client().call("crm.item.list", {"entityTypeId": 31, "filter": {"bad": 1}})
    assert len(harness.portal.records) == 1


async def test_lost_create_is_looked_up_not_repeated(harness: Harness) -> None:
    """§7.4 item 4 / §8.3 item 4: a create whose answer is lost after the commit is found by its key."""
    client = harness.client(timeout=0.3)
    harness.portal.faults.lost_delay = 1.0
    harness.portal.faults.add(Fault.LOST_RESPONSE, method="crm.product.add", times=1, every=1)
    new_id = await client.call(
        "crm.product.add", {"fields": {"NAME": "Болт", "XML_ID": "guid-1", "PRICE": 12.5}}
    )
    assert new_id == 1 and len(harness.portal.state.t("element")) == 1
    harness.portal.faults.add(Fault.GATEWAY_TIMEOUT_HTML, method="crm.item.add", times=1, every=1)
    item = await client.call(
        "crm.item.add", {"entityTypeId": 31, "fields": {"title": "S", "xmlId": "order-1"}}
    )
    assert item["item"]["xmlId"] == "order-1" and len(harness.portal.state.t("item")) == 1
    harness.portal.faults.add(Fault.INTERNAL_ERROR, method="catalog.product.add", times=1, every=1)
    element = await client.call(
        "catalog.product.add", {"fields": {"iblockId": 23, "name": "N", "xmlId": "p-2"}}
    )
    assert element["element"]["xmlId"] == "p-2" and len(harness.portal.state.t("element")) == 2


async def test_lost_create_without_key_is_never_repeated(harness: Harness) -> None:
    """§7.4 item 4: without an external key the client cannot tell, so it raises instead of retrying."""
    client = harness.client(timeout=0.3)
    harness.portal.faults.lost_delay = 1.0
    harness.portal.faults.add(Fault.RESET_AFTER, method="crm.company.add", times=1, every=1)
    with pytest.raises(AmbiguousWrite) as info:
        await client.call("crm.company.add", {"fields": {"TITLE": "no key"}})
    assert info.value.method == "crm.company.add"
    assert len(harness.portal.state.t("company")) == 1 and harness.portal.stats.calls["crm.company.add"] == 1


async def test_lost_update_and_delete_are_repeated_safely(harness: Harness) -> None:
    """§7.4 item 4: updates repeat safely; a repeated delete that finds nothing counts as done."""
    client = harness.client(timeout=0.3)
    harness.portal.faults.lost_delay = 1.0
    await client.call("crm.company.add", {"fields": {"TITLE": "a"}})
    harness.portal.faults.add(Fault.RESET_AFTER, method="crm.company.update", times=1, every=1)
    assert await client.call("crm.company.update", {"id": 1, "fields": {"TITLE": "b"}}) is True
    harness.portal.faults.add(Fault.RESET_AFTER, method="crm.company.delete", times=1, every=1)
    assert await client.call("crm.company.delete", {"id": 1}) is True
    assert len(harness.portal.state.t("company")) == 0
    with pytest.raises(NotFound):
        await client.call("crm.company.delete", {"id": 1})


@pytest.mark.parametrize("portal_config", [PortalConfig(unstable_order=True)])
async def test_unstable_order_does_not_break_paging(harness: Harness) -> None:
    """§2.5 / §8.7 item 4: without ``order`` rows come back in any order; the client always orders by id."""
    client = harness.client()
    await client.call_many("crm.company.add", [{"fields": {"TITLE": f"t{i}"}} for i in range(120)])
    unordered = await client.call("crm.company.list", {"select": ["ID"]})
    assert [int(r["ID"]) for r in unordered] != list(range(1, 51))
    rows = await client.list_all("crm.company.list", {"select": ["ID"]})
    assert [int(r["ID"]) for r in rows] == list(range(1, 121))


@pytest.mark.parametrize("portal_config", [PortalConfig(method_costs={"crm.company.get": 100.0})])
async def test_nested_commands_hit_the_operating_limit_one_by_one(harness: Harness) -> None:
    """§2.2 / §8.5: nested batch calls are accounted per method and refused one by one in
    ``result_error``; ``call_many`` waits for the reset and sends the refused ones again."""
    client = harness.client()
    await client.call("crm.company.add", {"fields": {"TITLE": "x"}})
    answer = await client.batch([BatchCommand(f"g{i}", "crm.company.get", {"id": 1}) for i in range(8)])
    assert sorted(answer.results) == ["g0", "g1", "g2", "g3", "g4"]
    assert {type(e) for e in answer.errors.values()} == {OperationLimited}
    start = harness.clock.now()
    results = await client.call_many("crm.company.get", [{"id": 1}] * 3)
    assert [r["TITLE"] for r in results] == ["x"] * 3
    assert harness.clock.now() - start >= 599
    assert harness.portal.stats.calls["batch"] >= 2


async def test_authorization_code_grant_lives_thirty_seconds(harness: Harness) -> None:
    """§1.3 / §8.1 item 4: the code of the authorization flow is good once and for 30 s."""
    portal = harness.portal
    app = portal.register_app("local.codes", "s")
    code = portal.authorization_code(app.client_id)
    status, body = portal.oauth_token(
        {"grant_type": "authorization_code", "client_id": app.client_id, "client_secret": "s", "code": code}
    )
    assert status == 200 and body["expires_in"] == 3600 and body["member_id"] == portal.config.member_id
    status, body = portal.oauth_token(
        {"grant_type": "authorization_code", "client_id": app.client_id, "client_secret": "s", "code": code}
    )
    assert (status, body["error"]) == (400, "invalid_grant")
    late = portal.authorization_code(app.client_id)
    harness.clock.advance(31)
    status, body = portal.oauth_token(
        {"grant_type": "authorization_code", "client_id": app.client_id, "client_secret": "s", "code": late}
    )
    assert (status, body["error"]) == (400, "invalid_grant")
    status, body = portal.oauth_token(
        {
            "grant_type": "refresh_token",
            "client_id": app.client_id,
            "client_secret": "wrong",
            "refresh_token": "x",
        }
    )
    assert (status, body["error"]) == (400, "invalid_client")


async def test_unknown_token_is_invalid_token(harness: Harness) -> None:
    """§1.5 / §8.1 item 4: an unknown OAuth token answers 401 invalid_token (not refreshed)."""
    client, oauth = harness.oauth_client()
    harness.portal.tokens.clear()
    with pytest.raises(AuthFailed) as info:
        await client.call("crm.company.list")
    assert (info.value.status, info.value.code) == (401, "invalid_token") and oauth.refreshes == 0


@pytest.mark.parametrize("method", ["crm.item.list", "crm.company.list"])
async def test_export_chained_in_batches(harness: Harness, method: str) -> None:
    """§2.5 / §7.3: the >id chain inside one batch (``$result[p0][items][49][id]``): 260 rows, 2 requests."""
    client = harness.client()
    if method == "crm.item.list":
        await client.call_many(
            "crm.item.add", [{"entityTypeId": 31, "fields": {"title": f"i{i}"}} for i in range(260)]
        )
        params: dict[str, object] = {"entityTypeId": 31, "select": ["title"]}
        ident = "id"
    else:
        await client.call_many("crm.company.add", [{"fields": {"TITLE": f"i{i}"}} for i in range(260)])
        params, ident = {"select": ["TITLE"]}, "ID"
    before = harness.portal.stats.requests
    rows = [r async for r in client.export_batched(method, params)]
    assert [int(r[ident]) for r in rows] == list(range(1, 261))
    assert harness.portal.stats.requests - before == 2


async def test_injected_expired_token_fault_is_survived(harness: Harness) -> None:
    """§8.1 item 4 / §8.3: the "expired token" fault answers 401 expired_token; the client refreshes once."""
    client, oauth = harness.oauth_client()
    harness.portal.faults.add(Fault.EXPIRED_TOKEN, method="crm.company.list", every=1, times=1)
    assert await client.call("crm.company.list") == []
    assert oauth.refreshes == 1 and [r.error for r in harness.portal.records] == ["expired_token", None]


async def test_clients_of_one_portal_share_one_bucket(harness: Harness) -> None:
    """§2.1: the portal counts per portal and source IP, so every client of the process shares one bucket."""
    harness.portal.config.domain = f"shared-{harness.kind}.bitrix24.test"
    path = harness.portal.webhook_path()
    first = B24Client(harness.transport(path), clock=harness.clock)
    second = B24Client(harness.transport(path), clock=harness.clock)
    assert first.bucket is not None and first.bucket is second.bucket
    for i in range(60):
        await (first if i % 2 else second).call("crm.company.list")
    assert harness.portal.stats.rejected == 0
