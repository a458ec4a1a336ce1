"""The fake portal's method table: name -> handler, scope and auth rules.

No I/O. Entity modules register their handlers with :func:`method`; ``portal.py`` dispatches through
:data:`METHODS` only (one table, like h11's transitions).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from b24_bridge.fake.portal import FakePortal

__all__ = ["METHODS", "AuthInfo", "Call", "MethodSpec", "Result", "method"]


@dataclass(frozen=True, slots=True)
class AuthInfo:
    """Who is calling: a webhook (``kind="webhook"``) or an OAuth application token."""

    kind: str
    user_id: int
    key: str  # webhook code or application client_id: the operating-time key
    admin: bool = True
    scopes: frozenset[str] | None = None
    session_ttl: int | None = None  # event-loop guard of tokens issued with events (§6.4)
    connector: str | None = None


@dataclass
class Call:
    """One method invocation as a handler sees it."""

    portal: FakePortal
    method: str
    params: Mapping[str, Any]
    auth: AuthInfo
    now: float
    events: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def emit(self, event: str, data: dict[str, Any]) -> None:
        """Queue an event; sent after the request completes (bitrix24.md §6.4)."""
        self.events.append((event, data))


@dataclass(frozen=True, slots=True)
class Result:
    """A list answer (``total``/``next``) or any result with envelope extras."""

    value: Any
    total: int | None = None
    next: int | None = None


Handler = Callable[[Call], Any]


@dataclass(frozen=True, slots=True)
class MethodSpec:
    name: str
    handler: Handler
    scope: str
    app_only: bool = False
    admin_only: bool = False
    batchable: bool = True


METHODS: dict[str, MethodSpec] = {}


def method(
    name: str, *, scope: str, app_only: bool = False, admin_only: bool = False, batchable: bool = True
) -> Callable[[Handler], Handler]:
    """Register a handler under ``name`` (case-insensitive, bitrix24.md §1.1)."""

    def register(handler: Handler) -> Handler:
        METHODS[name.lower()] = MethodSpec(name, handler, scope, app_only, admin_only, batchable)
        return handler

    return register


def spec_for(name: str) -> MethodSpec | None:
    return METHODS.get(name.lower())


Params = Mapping[str, Any]
