"""``FakePortal``: a Bitrix24 portal in memory — auth, limits, envelope, batch, faults, stats.

No I/O and no aiohttp: ``app.py`` serves it over HTTP and ``transport.py`` calls it in-process; both
adapters parse the route and hand :meth:`FakePortal.handle_rest` the method, the parameters and the
credentials. Its limits are its own (``fake.limits``), never the client's (STYLE.md §2.4).

Order of checks for one REST request (bitrix24.md §1.5, §2.1, §2.2, §8):
auth (401) -> method exists (404) -> leaky bucket (503) -> auth type/scope/admin (403) ->
fault before commit -> operating-time limit (429) -> handler -> fault after commit -> events.
"""

from __future__ import annotations

import hashlib
import random
import secrets
import time
from collections import Counter, deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from b24_bridge.fake import catalog, crm_items, crm_legacy, events, users  # noqa: F401  (register methods)
from b24_bridge.fake.batch import run_batch
from b24_bridge.fake.events import EventHub
from b24_bridge.fake.faults import Fault, FaultPlan
from b24_bridge.fake.limits import FakeBucket, OperatingLimiter
from b24_bridge.fake.phpquery import php_json
from b24_bridge.fake.registry import AuthInfo, Call, Result, spec_for
from b24_bridge.fake.state import PortalState
from b24_bridge.fake.store import RestError, iso

__all__ = ["GATEWAY_HTML", "PLANS", "FakePortal", "PortalConfig", "Reply", "Stats"]

# plan -> (drain per second, threshold, operating limit); box: no limits (bitrix24.md §2.1, §2.2).
PLANS: Final[dict[str, tuple[float | None, int, float | None]]] = {
    "standard": (2.0, 50, 480.0),
    "enterprise": (5.0, 250, 480.0),
    "box": (None, 0, None),
}
GATEWAY_HTML: Final = (
    "<html><head><title>{status} {reason}</title></head><body><center><h1>{status} {reason}</h1></center>"
    "<hr><center>nginx</center></body></html>"
)
JSON: Final = "application/json; charset=utf-8"


@dataclass
class PortalConfig:
    """The portal profile a test configures (bitrix24.md §8, every [cfg] knob)."""

    plan: str = "standard"
    rate: float | None = None  # override the plan's drain per second
    capacity: int | None = None  # override the plan's threshold
    strict_boundary: bool = True  # refuse at level >= capacity (the 51st) rather than > (the 52nd)
    count_rejected: bool = False
    operating_limit: float | None = None  # override; None = plan default
    method_costs: dict[str, float] = field(default_factory=dict)  # simulated seconds per call
    default_cost: float = 0.05
    tz_offset: float = 3.0
    token_ttl: float = 3600.0
    require_https: bool = False
    domain: str = "fake.bitrix24.test"
    member_id: str = "a223c6b3710f85df22e9377d6c4f7553"
    smart_invoice_category: int = 5
    seed: int = 24
    record_limit: int = 200_000  # calls kept in FakePortal.records
    unstable_order: bool = False  # lists without "order" come back shuffled (§8.7 item 4)
    moved_to: str | None = None  # answer every REST call with 302 to this host (§1.1, §8.1 item 5)


@dataclass
class Reply:
    """What an adapter must send: status and JSON (or HTML) body, then maybe a transport fault."""

    status: int
    body: Any
    content_type: str = JSON
    after: Fault | None = None


@dataclass
class Stats:
    """``GET /_fake/stats``: requests that reached the portal, refused ones, and method calls."""

    requests: int = 0
    rejected: int = 0
    calls: Counter[str] = field(default_factory=Counter)

    def as_json(self) -> dict[str, Any]:
        return {"requests": self.requests, "rejected": self.rejected, "calls": dict(self.calls)}


@dataclass
class Webhook:
    user_id: int
    code: str
    scopes: frozenset[str] | None = None
    admin: bool = True


@dataclass
class App:
    client_id: str
    client_secret: str
    application_token: str
    scopes: frozenset[str] | None = None


@dataclass
class Token:
    app: str
    user_id: int
    expires: float
    admin: bool = True
    session_ttl: int | None = None


@dataclass
class CallRecord:
    method: str
    params: Mapping[str, Any]
    status: int
    nested: bool = False
    error: Any = None


class FakePortal:
    """A Bitrix24 portal in memory.

    Args:
        config: the portal profile (plan, limits, time zone, ...).
        now: the clock (Unix seconds); inject a virtual one so tests never sleep.
    """

    def __init__(self, config: PortalConfig | None = None, *, now: Callable[[], float] | None = None) -> None:
        self.config = config or PortalConfig()
        self.now = now or time.time
        self.rng = random.Random(self.config.seed)
        rate, capacity, op_limit = PLANS[self.config.plan]
        rate = self.config.rate if self.config.rate is not None else rate
        capacity = self.config.capacity if self.config.capacity is not None else capacity
        self.bucket: FakeBucket | None = None
        if rate is not None:
            self.bucket = FakeBucket(rate, capacity, self.config.strict_boundary, self.config.count_rejected)
        limit = self.config.operating_limit if self.config.operating_limit is not None else op_limit
        self.operating: OperatingLimiter | None = None if limit is None else OperatingLimiter(limit)
        self.state = PortalState(smart_invoice_category=self.config.smart_invoice_category)
        self.faults = FaultPlan(rng=random.Random(self.config.seed + 1))
        self.stats = Stats()
        #: The recorder (§8.8 item 6): every inbound call, newest last, bounded for long-running servers.
        self.records: deque[CallRecord] = deque(maxlen=self.config.record_limit)
        self.record_calls = True
        self.webhooks: dict[str, Webhook] = {}
        self.apps: dict[str, App] = {}
        self.tokens: dict[str, Token] = {}
        self.refresh_tokens: dict[str, tuple[str, int]] = {}
        self.auth_codes: dict[str, tuple[str, int, float]] = {}
        self.events = EventHub(self)
        self.default_webhook = self.add_webhook(1, self._token(16))

    # -- credentials ---------------------------------------------------------------------------

    def _token(self, length: int = 32) -> str:
        return "".join(self.rng.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(length))

    def add_webhook(
        self, user_id: int, code: str | None = None, *, scopes: set[str] | None = None, admin: bool = True
    ) -> Webhook:
        hook = Webhook(user_id, code or self._token(16), None if scopes is None else frozenset(scopes), admin)
        self.webhooks[hook.code] = hook
        return hook

    def webhook_path(self, hook: Webhook | None = None) -> str:
        hook = hook or self.default_webhook
        return f"/rest/{hook.user_id}/{hook.code}/"

    def register_app(
        self,
        client_id: str = "local.fake0001",
        client_secret: str | None = None,
        *,
        scopes: set[str] | None = None,
    ) -> App:
        app = App(
            client_id,
            client_secret or secrets.token_hex(16),
            self._token(32),
            None if scopes is None else frozenset(scopes),
        )
        self.apps[client_id] = app
        return app

    def install_app(self, client_id: str, *, user_id: int = 1, admin: bool = True) -> dict[str, Any]:
        """Tokens as ``ONAPPINSTALL`` hands them over (and the token endpoint returns)."""
        return self._issue(client_id, user_id, admin)

    def authorization_code(self, client_id: str, *, user_id: int = 1) -> str:
        code = self._token(32)
        self.auth_codes[code] = (client_id, user_id, self.now() + 30.0)  # codes live 30 s (§1.3)
        return code

    def _issue(self, client_id: str, user_id: int, admin: bool = True) -> dict[str, Any]:
        access, refresh = self._token(32), self._token(32)
        now = self.now()
        self.tokens[access] = Token(client_id, user_id, now + self.config.token_ttl, admin)
        self.refresh_tokens[refresh] = (client_id, user_id)
        app = self.apps[client_id]
        return {
            "access_token": access,
            "expires": int(now + self.config.token_ttl),
            "expires_in": int(self.config.token_ttl),
            "refresh_token": refresh,
            "scope": ",".join(sorted(app.scopes)) if app.scopes else "crm,catalog,basic",
            "domain": "oauth.bitrix.info",
            "client_endpoint": f"https://{self.config.domain}/rest/",
            "server_endpoint": "https://oauth.bitrix.info/rest/",
            "member_id": self.config.member_id,
            "status": "L",
            "user_id": user_id,
        }

    def expire_tokens(self) -> None:
        """Fault knob: every access token expires now."""
        for token in self.tokens.values():
            token.expires = min(token.expires, self.now() - 1)

    def oauth_token(self, query: Mapping[str, Any]) -> tuple[int, dict[str, Any]]:
        """``GET /oauth/token/``: ``authorization_code`` and ``refresh_token`` grants with rotation."""
        app = self.apps.get(str(query.get("client_id", "")))
        if app is None or str(query.get("client_secret", "")) != app.client_secret:
            return 400, {"error": "invalid_client", "error_description": "Invalid client"}
        grant = str(query.get("grant_type", ""))
        if grant == "refresh_token":
            owner = self.refresh_tokens.pop(str(query.get("refresh_token", "")), None)  # rotation: one use
            if owner is None or owner[0] != app.client_id:
                return 400, {"error": "invalid_grant", "error_description": "Invalid refresh token"}
            return 200, self._issue(app.client_id, owner[1])
        if grant == "authorization_code":
            entry = self.auth_codes.pop(str(query.get("code", "")), None)
            if entry is None or entry[0] != app.client_id or entry[2] < self.now():
                return 400, {"error": "invalid_grant", "error_description": "Invalid authorization code"}
            return 200, self._issue(app.client_id, entry[1])
        return 400, {"error": "invalid_request", "error_description": f"Unsupported grant_type {grant!r}"}

    def _authenticate(
        self, user: str | None, code: str | None, token: str | None, now: float
    ) -> AuthInfo | RestError:
        if code is not None:
            hook = self.webhooks.get(code)
            if hook is None or str(hook.user_id) != str(user):
                return RestError("NO_AUTH_FOUND", "Wrong authorization data", status=401)
            return AuthInfo("webhook", hook.user_id, f"hook:{hook.code}", hook.admin, hook.scopes)
        if not token:
            return RestError("NO_AUTH_FOUND", "Wrong authorization data", status=401)
        entry = self.tokens.get(token)
        if entry is None:
            return RestError("invalid_token", "Unable to get application by token", status=401)
        if entry.expires <= now:
            return RestError("expired_token", "The access token provided has expired.", status=401)
        app = self.apps[entry.app]
        return AuthInfo(
            "oauth", entry.user_id, f"app:{app.client_id}", entry.admin, app.scopes, entry.session_ttl
        )

    # -- requests ------------------------------------------------------------------------------

    def handle_rest(
        self,
        method: str,
        params: Mapping[str, Any],
        *,
        user: str | None = None,
        code: str | None = None,
        access_token: str | None = None,
        https: bool = True,
    ) -> Reply:
        """One REST request. ``user``/``code`` for a webhook route, ``access_token`` for OAuth."""
        now = self.now()
        self.stats.requests += 1
        params = dict(params)
        token = access_token or (str(params.pop("auth")) if "auth" in params and code is None else None)
        params.pop("auth", None)
        if self.config.require_https and not https:
            return self._error(method, params, RestError("INVALID_REQUEST", "Https required", status=400))
        auth = self._authenticate(user, code, token, now)
        if isinstance(auth, RestError):
            return self._error(method, params, auth)
        spec = spec_for(method)
        if spec is None and method.lower() != "batch":
            return self._error(
                method, params, RestError("ERROR_METHOD_NOT_FOUND", "Method not found!", status=404)
            )
        if self.bucket is not None and not self.bucket.admit(now):
            self.stats.rejected += 1
            return self._error(
                method, params, RestError("QUERY_LIMIT_EXCEEDED", "Too many requests", status=503)
            )
        fault = self.faults.pick(method)
        if fault is Fault.EXPIRED_TOKEN and token:
            self.tokens[token].expires = now - 1
            return self._error(
                method,
                params,
                RestError("expired_token", "The access token provided has expired.", status=401),
            )
        if fault is Fault.RESET_BEFORE:
            return Reply(0, None, after=fault)
        if fault is Fault.INTERNAL_ERROR:
            return self._error(
                method, params, RestError("INTERNAL_SERVER_ERROR", "Internal server error", status=500)
            )
        if fault is Fault.OVERLOAD:
            return self._error(
                method,
                params,
                RestError("OVERLOAD_LIMIT", "REST API is blocked due to overload.", status=503),
            )
        if fault is Fault.GATEWAY_HTML:
            return self._html(502, "Bad Gateway")
        if method.lower() == "batch":
            self.stats.calls["batch"] += 1
            body, status = run_batch(self, auth, params, now), 200
            body["time"] = self._time(now, 0.0, None)
        else:
            _, body, status, _ = self.execute(auth, method, params, now)
        if self.record_calls:
            self.records.append(CallRecord(method, params, status, error=body.get("error")))
        if fault is Fault.GATEWAY_TIMEOUT_HTML:
            return self._html(504, "Gateway Time-out")
        if fault in (Fault.LOST_RESPONSE, Fault.RESET_AFTER):
            return Reply(status, php_json(body), after=fault)
        return Reply(status, php_json(body))

    def execute(
        self, auth: AuthInfo, method: str, params: Mapping[str, Any], now: float, *, nested: bool = False
    ) -> tuple[bool, dict[str, Any], int, dict[str, Any]]:
        """Run one method (top level or inside a batch): checks, operating limit, handler, events.

        Returns ``(ok, body, status, time)`` where body is ``{"result", "total"?, "next"?, "time"}``
        or the error envelope.
        """
        spec = spec_for(method)
        if spec is None:
            return self._fail(RestError("ERROR_METHOD_NOT_FOUND", "Method not found!", status=404), now)
        if nested and not spec.batchable:
            return self._fail(
                RestError(
                    "ERROR_BATCH_METHOD_NOT_ALLOWED", "Method is not allowed for batch usage", status=405
                ),
                now,
            )
        if spec.app_only and auth.kind == "webhook":
            return self._fail(
                RestError(
                    "WRONG_AUTH_TYPE", "Current authorization type is denied for this method", status=403
                ),
                now,
            )
        if auth.scopes is not None and spec.scope not in auth.scopes and spec.scope != "basic":
            return self._fail(
                RestError(
                    "insufficient_scope",
                    "The request requires higher privileges than provided by the webhook token",
                    status=403,
                ),
                now,
            )
        if spec.admin_only and not auth.admin:
            return self._fail(RestError("ACCESS_DENIED", "Access denied!", status=403), now)
        name = spec.name
        if self.operating is not None and self.operating.blocked(auth.key, name.lower(), now):
            self.stats.rejected += 1
            return self._fail(
                RestError(
                    "OPERATION_TIME_LIMIT", "Method is blocked due to operation time limit.", status=429
                ),
                now,
            )
        if self.faults.pick_command(name):
            return self._fail(
                RestError("ERROR_CORE", f"{name}: refused (fault injection: command_error)", status=400), now
            )
        self.stats.calls[name] += 1
        cost = self.config.method_costs.get(
            name, self.config.method_costs.get(name.lower(), self.config.default_cost)
        )
        call = Call(self, name, params, auth, now)
        try:
            value = spec.handler(call)
            error: RestError | None = None
        except RestError as exc:
            error = exc
        operating = None
        if self.operating is not None:
            operating = self.operating.charge(auth.key, name.lower(), now, cost)
        time_info = self._time(now, cost, operating)
        if error is not None:
            return False, error.body(), error.status, time_info
        connector = params.get("auth_connector")
        self.events.publish(call.events, auth, None if connector is None else str(connector))
        if nested and self.record_calls:
            self.records.append(CallRecord(name, params, 200, nested=True))
        body: dict[str, Any] = {}
        if isinstance(value, Result):
            body["result"] = value.value
            if value.total is not None:
                body["total"] = value.total
            if value.next is not None:
                body["next"] = value.next
        else:
            body["result"] = value
        body["time"] = time_info
        return True, body, 200, time_info

    def _fail(self, error: RestError, now: float) -> tuple[bool, dict[str, Any], int, dict[str, Any]]:
        return False, error.body(), error.status, self._time(now, 0.0, None)

    def _time(self, now: float, cost: float, operating: tuple[float, float | None] | None) -> dict[str, Any]:
        out: dict[str, Any] = {
            "start": now,
            "finish": now + cost,
            "duration": cost,
            "processing": cost,
            "date_start": iso(now, self.config.tz_offset),
            "date_finish": iso(now + cost, self.config.tz_offset),
        }
        if operating is not None:
            out["operating_reset_at"] = None if operating[1] is None else int(operating[1])
            out["operating"] = operating[0]
        return out

    def _error(self, method: str, params: Mapping[str, Any], error: RestError) -> Reply:
        if self.record_calls:
            self.records.append(CallRecord(method, params, error.status, error=error.code))
        return Reply(error.status, error.body())

    def _html(self, status: int, reason: str) -> Reply:
        return Reply(status, GATEWAY_HTML.format(status=status, reason=reason), content_type="text/html")

    # -- helpers for tests ---------------------------------------------------------------------

    def list_rng(self) -> random.Random | None:
        """The shuffling source of the "unstable order" mode, or ``None`` (stable by id)."""
        return self.rng if self.config.unstable_order else None

    def iso(self, ts: float | None = None) -> str:
        return iso(self.now() if ts is None else ts, self.config.tz_offset)

    def message_id(self, event: str, data: Any) -> str:
        import json

        return hashlib.md5(f"{event}|{json.dumps(data, sort_keys=True)}".encode()).hexdigest()
