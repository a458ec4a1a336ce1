"""Bitrix24 metrics of the running server: calls by method and result, rate-limit waiting, outbox depth.

``b24_bridge.client.B24Client`` has no observer hook of its own, and its clients are built inside
``b24_bridge.sync.access.open_client`` and ``b24_bridge.invoices.web``. So :func:`instrument` wraps the
public parts of a built client, once, after the application started:

* ``client.transport`` -> :class:`MeteredTransport`: every request sent (each try, ``batch`` as one)
  counted in ``cml_b24_calls_total{method,result}``; ``result`` is ``ok``, the portal's error code
  (``QUERY_LIMIT_EXCEEDED``, ``ERROR_NOT_FOUND`` ...), ``http_<status>``, or the transport error's
  class name (``Timeout``, ``ConnectError`` ...).
* ``client.bucket`` (the leaky bucket) -> :class:`_PacedBucket` and ``client.budget`` (operating time)
  -> :class:`_PacedBudget`, which mark the current task as *pacing* when they ask for a wait, and
  ``client.clock`` -> :class:`MeteredClock`, whose next ``sleep`` in that task is then added to
  ``cml_b24_rate_limit_wait_seconds_total``. The retry back-off sleeps are not rate-limit waits and
  are not counted.

The hook the client should offer instead: ``B24Client(..., observer=Observer)`` with
``on_response(method, result, seconds)`` and ``on_wait(reason, seconds)`` called by ``_request`` and
``_pace``.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Mapping
from typing import Any, Final

from b24_bridge.client import B24Client
from b24_bridge.clock import Clock
from b24_bridge.errors import ApiError, B24Error
from b24_bridge.transport import B24Request, B24Response, Transport
from exchange_server import metrics

__all__ = ["MeteredClock", "MeteredTransport", "call_result", "instrument"]

_PACING: Final = contextvars.ContextVar("cml_b24_pacing", default=False)
_MARK: Final = "_cml_metered"


def call_result(response: B24Response) -> str:
    """``ok`` or what went wrong, from an answer of the portal."""
    body = response.body
    if isinstance(body, Mapping) and body.get("error"):
        return str(body["error"])[:64]
    if response.status != 200:
        return f"http_{response.status}"
    return "ok"


def _error_result(exc: B24Error) -> str:
    code = getattr(exc, "code", None) if isinstance(exc, ApiError) else None
    return str(code)[:64] if code else type(exc).__name__


class MeteredTransport:
    """A transport that counts every request it sends, by method and result."""

    def __init__(
        self, inner: Transport, record: Callable[[str, str], None] = metrics.record_b24_call
    ) -> None:
        self.inner = inner
        self.record = record
        self.base_url = getattr(inner, "base_url", "")

    async def send(self, request: B24Request) -> B24Response:
        try:
            response = await self.inner.send(request)
        except B24Error as exc:
            self.record(request.method, _error_result(exc))
            raise
        except Exception as exc:
            self.record(request.method, type(exc).__name__)
            raise
        self.record(request.method, call_result(response))
        return response

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


class MeteredClock:
    """The client's clock; a sleep that follows a pacing decision in the same task is a rate-limit wait."""

    def __init__(self, inner: Clock, add: Callable[[float], None] = metrics.add_rate_limit_wait) -> None:
        self.inner = inner
        self.add = add

    def now(self) -> float:
        return self.inner.now()

    async def sleep(self, seconds: float) -> None:
        if _PACING.get():
            _PACING.set(False)
            self.add(max(0.0, seconds))
        await self.inner.sleep(seconds)


class _PacedBucket:
    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def reserve(self, now: float) -> float:
        wait: float = self.inner.reserve(now)
        if wait > 0:
            _PACING.set(True)
        return wait

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


class _PacedBudget:
    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def delay(self, method: str, now: float, *, fallback: float = 60.0) -> float:
        wait: float = self.inner.delay(method, now, fallback=fallback)
        if wait > 0:
            _PACING.set(True)
        return wait

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def instrument(client: B24Client) -> B24Client:
    """Count ``client``'s calls and rate-limit waits into the server's metrics (idempotent)."""
    if getattr(client, _MARK, False):
        return client
    client.transport = MeteredTransport(client.transport)
    client.clock = MeteredClock(client.clock)
    if client.bucket is not None:
        client.bucket = _PacedBucket(client.bucket)  # type: ignore[assignment]
    if client.budget is not None:
        client.budget = _PacedBudget(client.budget)  # type: ignore[assignment]
    setattr(client, _MARK, True)
    return client
