"""The success envelope of a REST answer (bitrix24.md §1.4) and the retry policy's backoff arithmetic.

No I/O.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from b24_bridge.errors import BadResponse, api_error

__all__ = ["Envelope", "RetryPolicy", "TimeInfo", "parse_envelope"]


def _num(value: Any) -> float | None:
    try:
        return None if value is None else float(value)
    except (TypeError, ValueError):
        return None


@dataclass(frozen=True, slots=True)
class TimeInfo:
    """The ``time`` object; ``operating``/``operating_reset_at`` only on cloud portals."""

    start: float | None = None
    finish: float | None = None
    duration: float | None = None
    processing: float | None = None
    operating: float | None = None
    operating_reset_at: float | None = None
    date_start: str | None = None
    date_finish: str | None = None

    @classmethod
    def from_json(cls, raw: Any) -> TimeInfo | None:
        if not isinstance(raw, Mapping):
            return None
        return cls(
            start=_num(raw.get("start")),
            finish=_num(raw.get("finish")),
            duration=_num(raw.get("duration")),
            processing=_num(raw.get("processing")),
            operating=_num(raw.get("operating")),
            operating_reset_at=_num(raw.get("operating_reset_at")),
            date_start=None if raw.get("date_start") is None else str(raw["date_start"]),
            date_finish=None if raw.get("date_finish") is None else str(raw["date_finish"]),
        )


@dataclass(frozen=True, slots=True)
class Envelope:
    """A successful answer: ``result``, and for list methods ``total`` and ``next``."""

    result: Any
    total: int | None = None
    next: int | None = None
    time: TimeInfo | None = None


def parse_envelope(status: int, body: Any, *, method: str = "") -> Envelope:
    """Turn a decoded answer into an :class:`Envelope` or raise the typed error.

    Raises:
        ApiError: (a subclass of) for the error envelope.
        BadResponse: JSON that is neither envelope.
    """
    if not isinstance(body, Mapping):
        raise BadResponse(
            f"{method}: HTTP {status}: JSON {type(body).__name__} instead of an envelope", status=status
        )
    if "error" in body:
        raise api_error(status, body, method=method)
    if "result" not in body:
        raise BadResponse(f"{method}: HTTP {status}: envelope without result", status=status, body=str(body))
    total = body.get("total")
    nxt = body.get("next")
    return Envelope(
        result=body["result"],
        total=None if total is None else int(total),
        next=None if nxt is None else int(nxt),
        time=TimeInfo.from_json(body.get("time")),
    )


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Exponential backoff with jitter for retryable errors (bitrix24.md §7.4 item 3).

    ``attempts`` counts every try of one call, the first included.
    """

    attempts: int = 8
    base_delay: float = 0.5
    multiplier: float = 2.0
    max_delay: float = 30.0
    jitter: float = 0.5

    def delay(self, failures: int, rng: random.Random) -> float:
        """Delay before the next try after ``failures`` consecutive failures (>= 1)."""
        raw = min(self.max_delay, self.base_delay * self.multiplier ** max(0, failures - 1))
        return raw * (1.0 - self.jitter * rng.random())
