"""Client-side limits: a leaky bucket that paces requests, and per-method operating-time budgets.

No I/O and no waiting: every function takes the current time and returns a delay; the client sleeps
through its injected clock. The fake portal has its own, independent model of these limits
(``b24_bridge.fake.limits``) and must never import this module (STYLE.md §2.4).

Theory of operation (bitrix24.md §2.1, §2.2, §7.4):

* The portal keeps a counter per portal and source IP that drains ``rate`` per second and refuses a
  request with 503 ``QUERY_LIMIT_EXCEEDED`` once it reaches ``capacity``. The client keeps the same
  counter, reserves a send time for every request before sending it, and never lets its own counter
  pass ``capacity - margin``: the portal then never has to refuse. Reservations are handed out in
  order, so concurrent tasks of one process share one bucket and queue behind each other.
* Each method has an operating-time budget (480 s of execution in a sliding 10 minutes). Responses
  report ``time.operating`` and ``time.operating_reset_at``; when ``operating`` reaches
  ``pause_at`` (90 % of 480 s by default) the method pauses until ``operating_reset_at``.
"""

from __future__ import annotations

import enum
import threading
from dataclasses import dataclass
from typing import Final

__all__ = [
    "OPERATING_LIMIT",
    "PLAN_LIMITS",
    "LeakyBucket",
    "Limits",
    "OperatingBudget",
    "Plan",
    "shared_bucket",
]

#: Per-method execution budget per 10 minutes (bitrix24.md §2.2; the documented example value).
OPERATING_LIMIT: Final = 480.0


class Plan(enum.StrEnum):
    """Portal plans with different limits (bitrix24.md §2.1)."""

    STANDARD = "standard"
    ENTERPRISE = "enterprise"
    BOX = "box"


@dataclass(frozen=True, slots=True)
class Limits:
    """Request-rate limits of one portal. ``rate=None`` means no limit (box portals)."""

    rate: float | None = 2.0
    capacity: int = 50
    operating_limit: float | None = OPERATING_LIMIT

    @classmethod
    def for_plan(cls, plan: Plan | str) -> Limits:
        return PLAN_LIMITS[Plan(plan)]


PLAN_LIMITS: Final[dict[Plan, Limits]] = {
    Plan.STANDARD: Limits(rate=2.0, capacity=50),
    Plan.ENTERPRISE: Limits(rate=5.0, capacity=250),
    Plan.BOX: Limits(rate=None, capacity=0, operating_limit=None),
}


class LeakyBucket:
    """The portal's request counter, mirrored on the client side.

    Args:
        rate: drain per second (2 standard, 5 Enterprise).
        capacity: the portal refuses a request when its counter has reached this (50 / 250).
        margin: requests of head-room kept below ``capacity`` for clock skew and network jitter.
    """

    def __init__(self, rate: float, capacity: int, *, margin: float = 1.0) -> None:
        if rate <= 0 or capacity < 1:
            raise ValueError(f"bucket needs rate > 0 and capacity >= 1, got {rate}/{capacity}")
        self.rate = rate
        self.capacity = capacity
        self.ceiling = max(1.0, capacity - margin)
        self._level = 0.0
        self._at: float | None = None
        self._lock = threading.Lock()

    @classmethod
    def from_limits(cls, limits: Limits, *, margin: float = 1.0) -> LeakyBucket | None:
        if limits.rate is None:
            return None
        return cls(limits.rate, limits.capacity, margin=margin)

    def level(self, now: float) -> float:
        """The counter as the portal would see it at ``now`` (reservations included)."""
        with self._lock:
            return self._level_at(now)

    def _level_at(self, now: float) -> float:
        if self._at is None:
            return 0.0
        return max(0.0, self._level - self.rate * max(0.0, now - self._at))

    def reserve(self, now: float) -> float:
        """Reserve a slot for one request and return how long to wait before sending it.

        The slot is the earliest time ``t >= max(now, last reservation)`` at which the counter has
        drained to ``ceiling - 1``; the counter is then charged with the request at ``t``.
        """
        with self._lock:
            start = now if self._at is None else max(now, self._at)
            level = self._level_at(start)
            send_at = start
            if level + 1 > self.ceiling:
                send_at = start + (level + 1 - self.ceiling) / self.rate
                level = self.ceiling - 1
            self._level = level + 1
            self._at = send_at
            return send_at - now

    def penalize(self, now: float) -> None:
        """The portal refused us (someone else shares the bucket): assume it is full now."""
        with self._lock:
            start = now if self._at is None else max(now, self._at)
            self._level = float(self.capacity)
            self._at = start


class OperatingBudget:
    """Per-method operating time as last reported by the portal, and when to pause a method."""

    def __init__(self, limit: float = OPERATING_LIMIT, *, pause_ratio: float = 0.9) -> None:
        self.limit = limit
        self.pause_at = limit * pause_ratio
        self._state: dict[str, tuple[float, float | None]] = {}

    def record(self, method: str, operating: float | None, reset_at: float | None) -> None:
        """Note ``time.operating`` / ``time.operating_reset_at`` of an answer for ``method``."""
        if operating is None:
            return
        self._state[method.lower()] = (operating, reset_at)

    def blocked(self, method: str, now: float, *, fallback: float = 60.0) -> float:
        """The portal answered OPERATION_TIME_LIMIT: block the method; returns until when.

        Until the last reported ``operating_reset_at`` when that is still ahead, else one basket.
        """
        state = self._state.get(method.lower())
        known = state[1] if state is not None else None
        until = known if known is not None and known > now else now + fallback
        self._state[method.lower()] = (self.limit, until)
        return until

    def delay(self, method: str, now: float, *, fallback: float = 60.0) -> float:
        """Seconds to wait before calling ``method`` again (0 when it is well within budget)."""
        state = self._state.get(method.lower())
        if state is None:
            return 0.0
        operating, reset_at = state
        if operating < self.pause_at:
            return 0.0
        # A basket expires one minute at a time; without a reset time, wait one basket.
        until = reset_at if reset_at is not None else now + fallback
        if until <= now:
            # The reset passed: the next answer tells the new total. Forget the stale reading.
            del self._state[method.lower()]
            return 0.0
        return until - now

    def operating(self, method: str) -> float:
        state = self._state.get(method.lower())
        return 0.0 if state is None else state[0]


_SHARED: dict[tuple[str, float, int], LeakyBucket] = {}
_SHARED_LOCK = threading.Lock()


def shared_bucket(portal: str, limits: Limits) -> LeakyBucket | None:
    """The process-wide bucket for one portal (every client and task of the process shares it).

    Bitrix24 counts per portal *and source IP* (bitrix24.md §2.1), so one process talking to one
    portal must pace all its requests together. ``None`` for unlimited (box) portals.
    """
    if limits.rate is None:
        return None
    key = (portal.lower(), limits.rate, limits.capacity)
    with _SHARED_LOCK:
        bucket = _SHARED.get(key)
        if bucket is None:
            bucket = _SHARED[key] = LeakyBucket(limits.rate, limits.capacity)
        return bucket
