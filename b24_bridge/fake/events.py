"""Events of the fake portal: handler registry, outbound deliveries, the offline queue, ``event.*``.

No I/O: deliveries are queued as ready form bodies; ``app.py`` (or a test) POSTs the due ones. Rules
from bitrix24.md §6 and §8.8: ids only in ``data``; form-encoded PHP-style body with ``auth`` and
``application_token``; at-most-once (no retries) with configurable delay, drop, duplicate and
reordering; tokens issued with events carry the loop-guard TTL; offline rows upsert by
``md5(EVENT_NAME|json(EVENT_DATA))`` and reserve with a ``process_id``.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import quote

from b24_bridge.fake.query import matches, order_rows, page_rows, parse_filter
from b24_bridge.fake.registry import AuthInfo, Call, Result, method
from b24_bridge.fake.store import RestError, param, to_int

if TYPE_CHECKING:
    from b24_bridge.fake.portal import FakePortal

__all__ = ["EVENT_NAMES", "Delivery", "DeliveryConfig", "EventHub", "form_encode"]

_ENTITY_EVENTS = (
    "ONCRMINVOICE",
    "ONCRMDEAL",
    "ONCRMCOMPANY",
    "ONCRMCONTACT",
    "ONCRMREQUISITE",
    "ONCRMPRODUCT",
    "ONCRMPRODUCTSECTION",
    "ONCRMDYNAMICITEM",
    "ONCRMBANKDETAIL",
)
EVENT_NAMES: Final = frozenset(
    [f"{p}{a}" for p in _ENTITY_EVENTS for a in ("ADD", "UPDATE", "DELETE")]
    + [
        "ONCRMINVOICESETSTATUS",
        "ONCRMDEALMOVETOCATEGORY",
        "ONOFFLINEEVENT",
        "ONAPPTEST",
        "ONAPPINSTALL",
        "ONAPPUPDATE",
        "ONAPPUNINSTALL",
    ]
    + [f"CATALOG.{e}.ON.{a}" for e in ("PRODUCT", "PRICE") for a in ("ADD", "UPDATE", "DELETE")]
)
_TTL: Final = 3  # CRestUtil::HANDLER_SESSION_TTL (bitrix24.md §6.4)


def form_encode(data: Mapping[str, Any], prefix: str = "") -> list[tuple[str, str]]:
    """PHP-style nested form pairs: ``data[FIELDS][ID]=7``."""
    pairs: list[tuple[str, str]] = []
    for key, value in data.items():
        name = f"{prefix}[{key}]" if prefix else str(key)
        if isinstance(value, Mapping):
            pairs.extend(form_encode(value, name))
        elif isinstance(value, list):
            pairs.extend(form_encode({str(i): v for i, v in enumerate(value)}, name))
        else:
            pairs.append((name, "" if value is None else str(value)))
    return pairs


@dataclass
class DeliveryConfig:
    """Knobs for outbound delivery (bitrix24.md §8.8 item 3)."""

    delay: float = 0.0
    drop: float = 0.0
    duplicate: float = 0.0
    reorder: bool = False


@dataclass
class Delivery:
    """One POST the queue server will make."""

    url: str
    event: str
    body: str  # application/x-www-form-urlencoded
    due: float
    handler_id: int
    outcome: str = "pending"  # pending | delivered | failed | dropped


@dataclass
class EventHub:
    portal: FakePortal
    config: DeliveryConfig = field(default_factory=DeliveryConfig)
    outbox: list[Delivery] = field(default_factory=list)
    sent: deque[Delivery] = field(default_factory=lambda: deque(maxlen=100_000))
    outgoing: list[dict[str, Any]] = field(default_factory=list)
    process_seq: int = 0
    last_offline_signal: dict[int, float] = field(default_factory=dict)

    def add_outgoing_webhook(self, url: str, events: set[str], application_token: str) -> None:
        """An outgoing webhook configured in the UI: fixed application token, no user token."""
        self.outgoing.append({"url": url, "events": {e.upper() for e in events}, "token": application_token})

    def publish(
        self, events: list[tuple[str, dict[str, Any]]], auth: AuthInfo, connector: str | None
    ) -> None:
        if not events or auth.session_ttl == 0:
            return  # loop guard: events raised with an exhausted event token are not sent
        child_ttl = _TTL if auth.session_ttl is None else auth.session_ttl - 1
        now = self.portal.now()
        offline_added: set[str] = set()
        for name, data in events:
            name = name.upper()
            for row in self.portal.state.t("handler"):
                if row["event"] != name:
                    continue
                if row["offline"]:
                    if connector is not None and row["connector"] == connector:
                        continue  # the bridge's own change: echo suppressed (§6.5)
                    self._offline_upsert(row, name, data, now)
                    offline_added.add(row["app"])
                else:
                    self._enqueue(row, name, data, now, child_ttl)
            for hook in self.outgoing:
                if name in hook["events"]:
                    auth_block = {
                        "domain": self.portal.config.domain,
                        "client_endpoint": f"https://{self.portal.config.domain}/rest/",
                        "server_endpoint": "https://oauth.bitrix.info/rest/",
                        "member_id": self.portal.config.member_id,
                        "application_token": hook["token"],
                    }
                    self._queue(hook["url"], name, data, 0, auth_block, now)
        for app in offline_added:
            for row in self.portal.state.t("handler"):
                if row["event"] == "ONOFFLINEEVENT" and row["app"] == app and not row["offline"]:
                    timeout = float((row.get("options") or {}).get("minTimeout", 1) or 0)
                    last = self.last_offline_signal.get(row["id"])
                    if last is None or timeout == 0 or now - last >= timeout:
                        self.last_offline_signal[row["id"]] = now
                        self._enqueue(row, "ONOFFLINEEVENT", {}, now, child_ttl)

    def _enqueue(self, row: Mapping[str, Any], name: str, data: dict[str, Any], now: float, ttl: int) -> None:
        app = self.portal.apps[row["app"].removeprefix("app:")]
        user_id = to_int(row.get("auth_type")) or 1
        auth_block: dict[str, Any] = {}
        if user_id:
            issued = self.portal._issue(app.client_id, user_id)
            self.portal.tokens[issued["access_token"]].session_ttl = ttl
            auth_block.update(
                {
                    "access_token": issued["access_token"],
                    "expires": issued["expires"],
                    "expires_in": issued["expires_in"],
                }
            )
        auth_block.update(
            {
                "scope": "crm",
                "domain": self.portal.config.domain,
                "server_endpoint": "https://oauth.bitrix.info/rest/",
                "status": "L",
                "client_endpoint": f"https://{self.portal.config.domain}/rest/",
                "member_id": self.portal.config.member_id,
                "application_token": app.application_token,
            }
        )
        self._queue(row["handler"], name, data, row["id"], auth_block, now)

    def _queue(
        self,
        url: str,
        name: str,
        data: dict[str, Any],
        handler_id: int,
        auth_block: dict[str, Any],
        now: float,
    ) -> None:
        payload = {
            "event": name,
            "event_handler_id": handler_id,
            "data": data or [],
            "ts": int(now),
            "auth": auth_block,
        }
        body = "&".join(f"{quote(k, safe='[]')}={quote(v, safe='')}" for k, v in form_encode(payload))
        rng = self.portal.rng
        delivery = Delivery(url, name, body, now + self.config.delay, handler_id)
        if self.config.drop and rng.random() < self.config.drop:
            delivery.outcome = "dropped"
            self.sent.append(delivery)
            return
        self.outbox.append(delivery)
        if self.config.duplicate and rng.random() < self.config.duplicate:
            self.outbox.append(Delivery(url, name, body, now + self.config.delay, handler_id))

    def take_due(self, now: float | None = None) -> list[Delivery]:
        """Deliveries due by ``now``, removed from the outbox (each is attempted once: at-most-once)."""
        now = self.portal.now() if now is None else now
        due = [d for d in self.outbox if d.due <= now]
        self.outbox = [d for d in self.outbox if d.due > now]
        if self.config.reorder:
            self.portal.rng.shuffle(due)
        return due

    def record(self, delivery: Delivery, outcome: str) -> None:
        delivery.outcome = outcome
        self.sent.append(delivery)

    def _offline_upsert(self, row: Mapping[str, Any], name: str, data: dict[str, Any], now: float) -> None:
        message_id = self.portal.message_id(name, data)
        table = self.portal.state.t("offline")
        for existing in table:
            if (
                existing["MESSAGE_ID"],
                existing["APP"],
                existing["CONNECTOR_ID"],
                existing["PROCESS_ID"],
            ) == (message_id, row["app"], row["connector"] or "", ""):
                existing["TIMESTAMP_X"] = now
                return
        table.insert(
            {
                "TIMESTAMP_X": now,
                "MESSAGE_ID": message_id,
                "APP": row["app"],
                "EVENT_NAME": name,
                "EVENT_DATA": data,
                "EVENT_ADDITIONAL": {"user_id": "1"},
                "PROCESS_ID": "",
                "CONNECTOR_ID": row["connector"] or "",
                "ERROR": 0,
            },
            id_key="ID",
        )

    def new_process_id(self) -> str:
        self.process_seq += 1
        return self.portal.message_id("process", self.process_seq)


def _hub(call: Call) -> EventHub:
    return call.portal.events


@method("event.bind", scope="basic", app_only=True)
def event_bind(call: Call) -> bool:
    name = str(param(call.params, "event") or "").upper()
    kind = str(param(call.params, "event_type") or "online").lower()
    handler = param(call.params, "handler")
    if name not in EVENT_NAMES:
        raise RestError("ERROR_EVENT_NOT_FOUND", "Event not found")
    if kind == "offline":
        if not call.auth.admin:
            raise RestError("ACCESS_DENIED", "Access denied!", status=403)
        handler = ""
    elif not handler:
        raise RestError("ERROR_REQUIRED_PARAMETERS_MISSING", "Handler URL is required")
    connector = str(param(call.params, "auth_connector") or "")
    table = call.portal.state.t("handler")
    for row in table:
        if (row["app"], row["event"], row["handler"], row["offline"], row["connector"]) == (
            call.auth.key,
            name,
            handler,
            kind == "offline",
            connector,
        ):
            raise RestError("ERROR_HANDLER_ALREADY_EXIST", "Handler already exists!")
    options = param(call.params, "options")
    table.insert(
        {
            "app": call.auth.key,
            "event": name,
            "handler": handler,
            "offline": kind == "offline",
            "auth_type": str(param(call.params, "auth_type") or "0"),
            "connector": connector,
            "options": options if isinstance(options, Mapping) else {},
        }
    )
    return True


@method("event.unbind", scope="basic", app_only=True)
def event_unbind(call: Call) -> dict[str, int]:
    name = str(param(call.params, "event") or "").upper()
    kind = str(param(call.params, "event_type") or "online").lower()
    handler = param(call.params, "handler")
    table = call.portal.state.t("handler")
    count = 0
    for row in table:
        if (
            row["app"] == call.auth.key
            and row["event"] == name
            and row["offline"] == (kind == "offline")
            and (kind == "offline" or handler is None or row["handler"] == handler)
        ):
            table.delete(row["id"])
            count += 1
    return {"count": count}


@method("event.get", scope="basic", app_only=True)
def event_get(call: Call) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for row in call.portal.state.t("handler"):
        if row["app"] != call.auth.key:
            continue
        if row["offline"]:
            out.append({"event": row["event"], "connector_id": row["connector"], "offline": 1})
        else:
            out.append(
                {
                    "event": row["event"],
                    "handler": row["handler"],
                    "auth_type": row["auth_type"],
                    "offline": 0,
                }
            )
    return out


@method("event.test", scope="basic", app_only=True)
def event_test(call: Call) -> int:
    """``ONAPPTEST`` to the calling application's own handlers; ``data`` carries the call's parameters."""
    hub = _hub(call)
    data = {"QUERY": {str(k): v for k, v in call.params.items()}}
    for row in call.portal.state.t("handler"):
        if row["app"] == call.auth.key and row["event"] == "ONAPPTEST" and not row["offline"]:
            hub._enqueue(row, "ONAPPTEST", data, call.now, _TTL)
    return 1


@method("events", scope="basic", app_only=True)
def events_list(call: Call) -> list[str]:
    return sorted(EVENT_NAMES)


@method("feature.get", scope="basic")
def feature_get(call: Call) -> dict[str, str]:
    code = str(param(call.params, "CODE") or "")
    return {"value": call.portal.state.features.get(code, "N")}


def _offline_view(row: Mapping[str, Any], portal: FakePortal, *, full: bool) -> dict[str, Any]:
    out = {
        "ID": str(row["ID"]),
        "TIMESTAMP_X": portal.iso(row["TIMESTAMP_X"]),
        "EVENT_NAME": row["EVENT_NAME"],
        "EVENT_DATA": row["EVENT_DATA"],
        "EVENT_ADDITIONAL": row["EVENT_ADDITIONAL"],
        "MESSAGE_ID": row["MESSAGE_ID"],
    }
    if full:
        out.update({"PROCESS_ID": row["PROCESS_ID"], "ERROR": str(row["ERROR"])})
    return out


def _offline_getter(row: Mapping[str, Any], name: str) -> Any:
    return row.get(name.upper())


def _own_rows(call: Call) -> list[dict[str, Any]]:
    connector = str(param(call.params, "auth_connector") or "")
    return [
        r
        for r in call.portal.state.t("offline")
        if r["APP"] == call.auth.key and r["CONNECTOR_ID"] == connector
    ]


@method("event.offline.get", scope="basic", app_only=True, admin_only=True)
def offline_get(call: Call) -> dict[str, Any]:
    clear = to_int(param(call.params, "clear"), 1)
    limit = to_int(param(call.params, "limit"), 50)
    if limit <= 0:
        raise RestError("INVALID_ARG_VALUE", "limit must be greater than 0")
    if clear == 0 and call.portal.state.features.get("rest_offline_extended") != "Y":
        raise RestError(
            "ACCESS_DENIED", "Feature rest_offline_extended is not available on this plan", status=403
        )
    hub = _hub(call)
    process_id = param(call.params, "process_id")
    rows = _own_rows(call)
    if process_id:
        chosen = [r for r in rows if r["PROCESS_ID"] == process_id]
    else:
        want_error = to_int(param(call.params, "error"), 0)
        group = parse_filter(param(call.params, "filter"))
        chosen = [
            r
            for r in rows
            if r["PROCESS_ID"] == "" and r["ERROR"] == want_error and matches(r, group, _offline_getter)
        ]
        order = param(call.params, "order") or {"TIMESTAMP_X": "ASC"}
        chosen = order_rows(chosen, order, _offline_getter, "ID")[:limit]
    table = call.portal.state.t("offline")
    views = [_offline_view(r, call.portal, full=False) for r in chosen]
    if process_id:
        return {"process_id": process_id, "events": views}
    if clear:
        for row in chosen:
            table.delete(row["ID"])
        return {"process_id": None, "events": views}
    new_id = hub.new_process_id() if chosen else None
    for row in chosen:
        row["PROCESS_ID"] = new_id
    return {"process_id": new_id, "events": views}


def _subset(call: Call, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    ids = param(call.params, "id")
    message_ids = param(call.params, "message_id")
    if ids:
        wanted = {str(v) for v in (ids.values() if isinstance(ids, Mapping) else ids)}
        return [r for r in rows if str(r["ID"]) in wanted]
    if message_ids:
        wanted = {str(v) for v in (message_ids.values() if isinstance(message_ids, Mapping) else message_ids)}
        return [r for r in rows if r["MESSAGE_ID"] in wanted]
    return rows


@method("event.offline.clear", scope="basic", app_only=True, admin_only=True)
def offline_clear(call: Call) -> bool:
    process_id = param(call.params, "process_id")
    if not process_id:
        raise RestError("ERROR_ARGUMENT", "process_id is required", argument="process_id")
    table = call.portal.state.t("offline")
    for row in _subset(call, [r for r in _own_rows(call) if r["PROCESS_ID"] == process_id]):
        table.delete(row["ID"])
    return True


@method("event.offline.error", scope="basic", app_only=True, admin_only=True)
def offline_error(call: Call) -> bool:
    process_id = param(call.params, "process_id")
    if not process_id:
        raise RestError("ERROR_ARGUMENT", "process_id is required", argument="process_id")
    for row in _subset(call, [r for r in _own_rows(call) if r["PROCESS_ID"] == process_id]):
        row["ERROR"] = 1
        row["PROCESS_ID"] = ""
    return True


@method("event.offline.list", scope="basic", app_only=True, admin_only=True)
def offline_list(call: Call) -> Result:
    group = parse_filter(param(call.params, "filter"))
    rows = [r for r in _own_rows(call) if matches(r, group, _offline_getter)]
    rows = order_rows(rows, param(call.params, "order") or {"ID": "ASC"}, _offline_getter, "ID")
    page = page_rows(rows, param(call.params, "start"), legacy=True)
    return Result([_offline_view(r, call.portal, full=True) for r in page.rows], page.total, page.next)


def dump(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)
