"""The Bitrix24 side of the exchange node: a REST client that stays inside the portal's limits.

Public API (pinned by ``tests/b24_bridge/test_public_api.py``)::

    client = B24Client.for_webhook(session, "https://portal.bitrix24.ru/rest/1/<code>/")
    await client.call("crm.item.add", {"entityTypeId": 31, "fields": {...}})
    await client.batch([BatchCommand("a", "crm.item.get", {"entityTypeId": 31, "id": 7})])
    async for row in client.export("crm.item.list", {"entityTypeId": 31, "select": ["id"]}): ...

The fake portal for tests lives in :mod:`b24_bridge.fake`.
"""

from b24_bridge.auth import OAuthSession
from b24_bridge.batch import MAX_BATCH, BatchCommand, encode_command, encode_query
from b24_bridge.client import PAGE_SIZE, B24Client, BatchResult
from b24_bridge.clock import Clock, LoopClock, ManualClock
from b24_bridge.envelope import Envelope, RetryPolicy, TimeInfo
from b24_bridge.errors import (
    AccessDenied,
    AmbiguousWrite,
    ApiError,
    AuthFailed,
    B24Error,
    BadResponse,
    BatchError,
    BatchRefused,
    ConnectError,
    ConnectionLost,
    CoreError,
    InvalidArgument,
    MethodNotFound,
    NotFound,
    OAuthError,
    OperationLimited,
    Overloaded,
    PortalGone,
    RateLimited,
    ServerError,
    Timeout,
    TokenExpired,
    TransportError,
)
from b24_bridge.methods import MethodKind, classify, lookup_for
from b24_bridge.ratelimit import LeakyBucket, Limits, OperatingBudget, Plan, shared_bucket
from b24_bridge.transport import (
    B24Request,
    B24Response,
    TokenEndpoint,
    TokenSet,
    Transport,
    WebhookURL,
    parse_webhook_url,
)

__all__ = [
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


def __getattr__(name: str) -> object:
    # The aiohttp classes load on first use, so the pure modules import without aiohttp.
    if name in ("AiohttpTransport", "AiohttpTokenEndpoint"):
        from b24_bridge import http

        return getattr(http, name)
    raise AttributeError(f"module 'b24_bridge' has no attribute {name!r}")
