"""Pure modules: webhook URLs, error table, batch encoding, leaky bucket, backoff, method classes."""

from __future__ import annotations

import ast
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import b24_bridge
from b24_bridge import (
    AccessDenied,
    ApiError,
    LeakyBucket,
    MethodKind,
    NotFound,
    OperatingBudget,
    RateLimited,
    RetryPolicy,
    TokenExpired,
    classify,
    encode_query,
    lookup_for,
    parse_webhook_url,
)
from b24_bridge.batch import BatchCommand, build_batch, split_batch_result
from b24_bridge.errors import api_error
from b24_bridge.fake.limits import FakeBucket, OperatingLimiter
from b24_bridge.fake.phpquery import listify, parse_str

PACKAGE = Path(b24_bridge.__file__).parent


def test_webhook_url_needs_user_id_and_code() -> None:
    """§1.1 / §7.1: webhook URLs are ``…/rest/<user_id>/<code>/``; a code without user id is refused."""
    hook = parse_webhook_url("https://portal.bitrix24.ru/rest/1/abc123")
    assert (hook.base, hook.user_id, hook.code) == ("https://portal.bitrix24.ru/rest/1/abc123/", 1, "abc123")
    for bad in ("https://portal.bitrix24.ru/rest/abc123/", "ftp://x/rest/1/a/", "portal/rest/1/a/"):
        with pytest.raises(ValueError):
            parse_webhook_url(bad)


@pytest.mark.parametrize(
    ("status", "body", "cls"),
    [
        (503, {"error": "QUERY_LIMIT_EXCEEDED", "error_description": "Too many requests"}, RateLimited),
        (
            401,
            {"error": "expired_token", "error_description": "The access token provided has expired."},
            TokenExpired,
        ),
        (403, {"error": "insufficient_scope", "error_description": "…"}, AccessDenied),
        (400, {"error": "", "error_description": "Not found"}, NotFound),
        (400, {"error": 200040300010, "error_description": "no rights"}, ApiError),
    ],
)
def test_error_table_maps_codes_to_classes(status: int, body: dict[str, Any], cls: type[ApiError]) -> None:
    """§1.5: errors are classified by code through one table (legacy empty code by its text)."""
    error = api_error(status, body, method="m")
    assert type(error) is cls
    assert error.status == status and error.code == str(body["error"])


def test_only_refusals_and_server_errors_are_retryable() -> None:
    """§7.4 item 3: retry 503/429/5xx/transport; never auth, access or not-found errors."""
    assert api_error(503, {"error": "QUERY_LIMIT_EXCEEDED"}).retryable
    assert api_error(429, {"error": "OPERATION_TIME_LIMIT"}).retryable
    assert api_error(500, {"error": "INTERNAL_SERVER_ERROR"}).maybe_executed
    assert not api_error(503, {"error": "QUERY_LIMIT_EXCEEDED"}).maybe_executed
    for code in ("ACCESS_DENIED", "NOT_FOUND", "ERROR_CORE", "NO_AUTH_FOUND", "expired_token"):
        assert not api_error(400, {"error": code}).retryable


def test_backoff_grows_with_jitter_and_a_cap() -> None:
    """§7.4 item 3: exponential backoff with jitter, capped."""
    policy = RetryPolicy(base_delay=0.5, multiplier=2, max_delay=8, jitter=0.5)
    rng = random.Random(1)
    for failures, nominal in ((1, 0.5), (2, 1.0), (3, 2.0), (6, 8.0), (10, 8.0)):
        delays = {policy.delay(failures, rng) for _ in range(20)}
        assert all(nominal * 0.5 <= d <= nominal for d in delays)
        assert len(delays) > 1


def test_methods_are_classified_for_retry_safety() -> None:
    """§7.4 item 4: creates are never retried blindly; reads and updates are."""
    assert classify("crm.item.list") is MethodKind.READ
    assert classify("crm.item.update") is MethodKind.IDEMPOTENT
    assert classify("catalog.price.modify") is MethodKind.IDEMPOTENT
    assert classify("crm.product.add") is MethodKind.CREATE
    assert classify("some.unknown.method") is MethodKind.CREATE
    assert classify("event.offline.get", {"clear": 0}) is MethodKind.READ
    assert classify("event.offline.get", {}) is MethodKind.CREATE


def test_create_lookup_uses_the_external_key() -> None:
    """§3.1/§4.3/§5.4: look creates up by xmlId/XML_ID/ORIGIN_ID before retrying them."""
    lookup = lookup_for("crm.item.add", {"entityTypeId": 31, "fields": {"xmlId": "g1", "title": "x"}})
    assert lookup is not None
    assert lookup.params["entityTypeId"] == 31 and lookup.params["filter"] == {"xmlId": "g1"}
    lookup = lookup_for("catalog.product.add", {"fields": {"iblockId": 23, "xmlId": "g2", "name": "n"}})
    assert lookup is not None and lookup.params["filter"] == {"xmlId": "g2", "iblockId": 23}
    assert lookup_for("crm.product.add", {"fields": {"NAME": "no key"}}) is None
    assert lookup_for("crm.deal.productrows.set", {"id": 1}) is None


_scalars = st.one_of(st.text(max_size=12), st.integers(-(10**6), 10**6))
_keys = st.text(
    alphabet=st.characters(exclude_characters="[]&=%", exclude_categories=["Cs"]), min_size=1, max_size=8
)
_values: st.SearchStrategy[Any] = st.recursive(
    _scalars,
    lambda inner: st.one_of(
        st.lists(inner, min_size=1, max_size=4),
        st.dictionaries(_keys.filter(lambda k: not k.isdigit()), inner, min_size=1, max_size=4),
    ),
    max_leaves=12,
)


def _as_php(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _as_php(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_as_php(v) for v in value]
    return str(value)


@given(
    st.dictionaries(_keys.filter(lambda k: not k.isdigit() and not k.startswith(" ")), _values, max_size=5)
)
def test_php_encoding_round_trips_through_parse_str(params: dict[str, Any]) -> None:
    """§1.2 / §2.4: the client's http_build_query and the fake's parse_str agree; scalars become strings."""
    assert listify(parse_str(encode_query(params))) == _as_php(params)


def test_batch_encoding_of_special_values() -> None:
    """§2.4 pitfalls: None -> "" (not "None"), booleans -> 1/0, reserved characters escaped once."""
    assert (
        encode_query({"a": None, "b": True, "c": False, "d": "x&y=z", "e": 1.0})
        == "a=&b=1&c=0&d=x%26y%3Dz&e=1"
    )
    built = build_batch(
        [BatchCommand("q", "crm.deal.list", {"filter": {">ID": 5}, "select": ["ID"]})], halt=True
    )
    assert built == {"halt": 1, "cmd": {"q": "crm.deal.list?filter[%3EID]=5&select[0]=ID"}}
    with pytest.raises(ValueError, match="at most 50"):
        build_batch([BatchCommand(f"c{i}", "crm.deal.get", {"id": i}) for i in range(51)])
    with pytest.raises(ValueError, match="nested"):
        build_batch([BatchCommand("b", "batch", {})])


def test_batch_result_split_handles_php_arrays() -> None:
    """§2.4: empty maps arrive as [], maps keyed 0..n-1 as lists."""
    out = split_batch_result(
        {
            "result": ["a", "b"],
            "result_error": [],
            "result_total": {"1": 3},
            "result_next": [],
            "result_time": [],
        }
    )
    assert out.results == {"0": "a", "1": "b"} and out.errors == {} and out.totals == {"1": 3}


def test_client_bucket_reserves_slots_below_the_portal_threshold() -> None:
    """§2.1: the client never lets its counter reach the portal's 50; then 2 per second."""
    bucket = LeakyBucket(2.0, 50)
    delays = [bucket.reserve(100.0) for _ in range(60)]
    assert delays[:49] == [0.0] * 49
    assert delays[49:52] == pytest.approx([0.5, 1.0, 1.5])
    portal = FakeBucket(2.0, 50)
    assert all(portal.admit(100.0 + d) for d in delays)


def test_fake_bucket_refuses_the_51st_request_of_a_burst() -> None:
    """§2.1 / §8.4: level >= 50 refuses (strict); drains 2 per second; rejected not counted."""
    bucket = FakeBucket(2.0, 50)
    assert [bucket.admit(0.0) for _ in range(51)] == [True] * 50 + [False]
    assert bucket.level == 50
    assert bucket.admit(0.5) and not bucket.admit(0.5)
    lenient = FakeBucket(2.0, 50, strict=False)
    assert [lenient.admit(0.0) for _ in range(52)][-2:] == [True, False]


def test_operating_limiter_blocks_after_the_crossing_call() -> None:
    """§2.2 / §8.5: the call crossing 480 s still runs; the next is blocked until baskets expire."""
    limiter = OperatingLimiter()
    now = 0.0
    for _ in range(9):
        assert not limiter.blocked("hook", "m", now)
        limiter.charge("hook", "m", now, 60.0)
        now += 1
    assert limiter.blocked("hook", "m", now)
    assert not limiter.blocked("hook", "other", now)
    assert not limiter.blocked("hook", "m", 600.0)


def test_operating_budget_pauses_near_the_limit() -> None:
    """§2.2 / §7.4 item 2: pause a method at 90 % of 480 s until operating_reset_at."""
    budget = OperatingBudget(480.0)
    budget.record("crm.item.list", 400.0, 1000.0)
    assert budget.delay("crm.item.list", 900.0) == 0.0
    budget.record("crm.item.list", 440.0, 1000.0)
    assert budget.delay("CRM.ITEM.LIST", 900.0) == 100.0
    assert budget.delay("crm.item.get", 900.0) == 0.0
    assert budget.delay("crm.item.list", 1000.0) == 0.0
    budget.record("crm.item.list", 300.0, 1500.0)
    assert budget.blocked("crm.item.list", 1200.0) == 1500.0  # 429: wait for the reported reset
    assert budget.delay("crm.item.list", 1200.0) == 300.0
    assert budget.blocked("crm.deal.list", 1200.0) == 1260.0  # nothing known: one basket


def test_pure_modules_import_without_aiohttp_and_the_fake_has_its_own_limits() -> None:
    """STYLE.md §2.4: the core and the fake portal core import no aiohttp; the fake never imports ratelimit."""
    code = (
        "import sys, b24_bridge, b24_bridge.client, b24_bridge.fake.portal, b24_bridge.fake.transport; "
        "print('aiohttp' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
    for path in (PACKAGE / "fake").glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        imported = {n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
        imported |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        assert not any("ratelimit" in name for name in imported), path


def test_public_api_is_pinned() -> None:
    """STYLE.md Part 3 habit 15: the package's __all__ changes only on purpose."""
    assert sorted(b24_bridge.__all__) == sorted(
        [
            "MAX_BATCH",
            "PAGE_SIZE",
            "AccessDenied",
            "AiohttpTokenEndpoint",
            "AiohttpTransport",
            "AmbiguousWrite",
            "ApiError",
            "AuthFailed",
            "B24Client",
            "B24Error",
            "B24Request",
            "B24Response",
            "BadResponse",
            "BatchCommand",
            "BatchError",
            "BatchRefused",
            "BatchResult",
            "Clock",
            "ConnectError",
            "ConnectionLost",
            "CoreError",
            "Envelope",
            "InvalidArgument",
            "LeakyBucket",
            "Limits",
            "LoopClock",
            "ManualClock",
            "MethodKind",
            "MethodNotFound",
            "NotFound",
            "OAuthError",
            "OAuthSession",
            "OperatingBudget",
            "OperationLimited",
            "Overloaded",
            "Plan",
            "PortalGone",
            "RateLimited",
            "RetryPolicy",
            "ServerError",
            "TimeInfo",
            "Timeout",
            "TokenEndpoint",
            "TokenExpired",
            "TokenSet",
            "Transport",
            "TransportError",
            "WebhookURL",
            "classify",
            "encode_command",
            "encode_query",
            "lookup_for",
            "parse_webhook_url",
            "shared_bucket",
        ]
    )
    for name in b24_bridge.__all__:
        assert getattr(b24_bridge, name) is not None


def test_fault_rule_with_only_method_and_times_fires_on_the_next_matching_calls() -> None:
    """Fault injection knobs (issue 4): ``add(fault, method=..., times=2)`` means the next two calls
    of that method (a regression: such a rule never fired)."""
    from b24_bridge.fake.faults import Fault, FaultPlan

    plan = FaultPlan()
    first = next(iter(Fault))
    plan.add(first, method="crm.item.add", times=2)
    picked = [plan.pick(m) for m in ("crm.item.list", "crm.item.add", "crm.item.add", "crm.item.add")]
    assert picked == [None, first, first, None]
