"""Invoice event handlers bound in the portal at start, and the application token checked against it.

What Bitrix24 allows (bitrix24.md §1.3, §6.1): ``event.bind``/``event.get``/``event.unbind``/
``event.test`` work only with an OAuth application; an incoming webhook gets HTTP 403
``WRONG_AUTH_TYPE``. With a webhook the events come from an *outgoing* webhook configured in the
portal's UI (Developer resources -> Other -> Outgoing webhook: handler URL + event list); the UI
shows its application token, which goes into ``CML_B24_APPLICATION_TOKEN``. Nothing can be bound
from here then; :func:`webhook_advice` says what to configure.

With an OAuth application and ``CML_B24_PUBLIC_URL``, :func:`bind` runs at start: ``event.get``
first, then ``event.bind`` only for the events missing on ``<public_url>/b24/events`` (idempotent:
restarts bind nothing; a handler of ours left on another URL, after the public URL changed, is
unbound). ``ONAPPTEST`` is bound too: :func:`bind` then calls ``event.test`` with a random nonce,
and the portal posts ``ONAPPTEST`` carrying that nonce and the application's ``application_token``.
Only the portal knows the nonce, so that token is genuine: it is stored (no token configured) or
compared with the configured one (a mismatch is reported).
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final
from urllib.parse import urlsplit

from b24_bridge.client import B24Client
from b24_bridge.errors import ApiError

__all__ = [
    "EVENTS_PATH",
    "LEGACY_EVENTS",
    "SMART_EVENTS",
    "TEST_EVENT",
    "BindPlan",
    "BindReport",
    "bind",
    "handler_url",
    "invoice_events",
    "nonce_of",
    "plan",
    "webhook_advice",
]

log = logging.getLogger(__name__)
EVENTS_PATH: Final = "/b24/events"
SMART_EVENTS: Final = ("ONCRMDYNAMICITEMADD", "ONCRMDYNAMICITEMUPDATE")
LEGACY_EVENTS: Final = ("ONCRMINVOICEADD", "ONCRMINVOICEUPDATE", "ONCRMINVOICESETSTATUS")
TEST_EVENT: Final = "ONAPPTEST"
ALREADY_BOUND: Final = "ERROR_HANDLER_ALREADY_EXIST"


def handler_url(public_url: str) -> str:
    """``https://bridge.example.com`` -> ``https://bridge.example.com/b24/events``.

    Raises:
        ValueError: not an absolute http(s) URL.
    """
    parts = urlsplit(public_url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"CML_B24_PUBLIC_URL must be an absolute http(s) URL, got {public_url!r}")
    return public_url.strip().rstrip("/") + EVENTS_PATH


def invoice_events(entity: str) -> tuple[str, ...]:
    return SMART_EVENTS if entity == "smart" else LEGACY_EVENTS


@dataclass(frozen=True, slots=True)
class BindPlan:
    bind: tuple[str, ...]
    present: tuple[str, ...]
    unbind: tuple[tuple[str, str], ...]  # (event, old handler URL)


def plan(existing: Iterable[Mapping[str, Any]], url: str, wanted: Sequence[str]) -> BindPlan:
    """What to bind and unbind, from ``event.get``'s answer (pure).

    A handler of one of ``wanted`` on another URL whose path is also ``/b24/events`` is ours from an
    earlier public URL: unbound. Handlers of other paths belong to someone else and stay.
    """
    online = [h for h in existing if not int(h.get("offline") or 0)]
    have = {(str(h.get("event", "")).upper(), str(h.get("handler", ""))) for h in online}
    present = tuple(e for e in wanted if (e, url) in have)
    missing = tuple(e for e in wanted if (e, url) not in have)
    stale = tuple(
        sorted(
            (event, handler)
            for event, handler in have
            if event in wanted and handler != url and urlsplit(handler).path.rstrip("/") == EVENTS_PATH
        )
    )
    return BindPlan(missing, present, stale)


@dataclass(slots=True)
class BindReport:
    handler: str
    bound: list[str] = field(default_factory=list)
    present: list[str] = field(default_factory=list)
    unbound: list[str] = field(default_factory=list)
    nonce: str | None = None  # the event.test nonce the ONAPPTEST must carry

    def as_json(self) -> dict[str, Any]:
        return {
            "handler": self.handler,
            "bound": self.bound,
            "present": self.present,
            "unbound": self.unbound,
            "token_check": "requested" if self.nonce else "not requested",
        }


async def bind(client: B24Client, *, public_url: str, entity: str, test: bool = True) -> BindReport:
    """Bind the invoice events (and ``ONAPPTEST``) to our handler; idempotent.

    Raises:
        ValueError: ``public_url`` is not an absolute http(s) URL.
        B24Error: the portal refused (an incoming webhook: ``WRONG_AUTH_TYPE``).
    """
    url = handler_url(public_url)
    wanted = (*invoice_events(entity), TEST_EVENT)
    existing = await client.call("event.get")
    todo = plan(existing if isinstance(existing, list) else [], url, wanted)
    report = BindReport(url, present=list(todo.present))
    for event, old in todo.unbind:
        await client.call("event.unbind", {"event": event, "handler": old})
        report.unbound.append(f"{event} {old}")
    for event in todo.bind:
        try:
            await client.call("event.bind", {"event": event, "handler": url})
        except ApiError as exc:
            if exc.code != ALREADY_BOUND:  # another instance bound it meanwhile: fine
                raise
            report.present.append(event)
            continue
        report.bound.append(event)
    if test:
        report.nonce = secrets.token_hex(16)
        await client.call("event.test", {"nonce": report.nonce})
    log.info(
        "portal events on %s: bound %s, already there %s, unbound %s",
        url,
        report.bound or "none",
        report.present or "none",
        report.unbound or "none",
    )
    return report


def webhook_advice(public_url: str | None, entity: str) -> str:
    """What to configure in the portal when the bridge works through an incoming webhook."""
    target = handler_url(public_url) if public_url else f"https://<this server>{EVENTS_PATH}"
    return (
        "an incoming webhook cannot bind events (Bitrix24 answers WRONG_AUTH_TYPE); configure an outgoing "
        f"webhook in the portal (Developer resources -> Other -> Outgoing webhook) to {target} for "
        f"{', '.join(invoice_events(entity))} and set CML_B24_APPLICATION_TOKEN to the token it shows; "
        "until then the poll alone finds changed invoices"
    )


def nonce_of(form: Mapping[str, Any]) -> str | None:
    """The nonce an ``ONAPPTEST`` body carries (``data[QUERY][nonce]``, or any ``data[...][nonce]``)."""
    for key, value in form.items():
        if key.startswith("data[") and key.endswith("[nonce]"):
            return str(value)
    return None
