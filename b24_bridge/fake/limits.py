"""The fake portal's own model of the Bitrix24 limits: leaky bucket and operating time.

No I/O, no import from ``b24_bridge.ratelimit`` (if the client and the fake shared this code, their
bugs would cancel out; STYLE.md §2.4). Time is always passed in. Numbers from bitrix24.md §2.1, §2.2,
§8.4, §8.5.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

__all__ = ["Baskets", "FakeBucket", "OperatingLimiter"]


@dataclass
class FakeBucket:
    """``level`` drains ``rate``/s; a request arriving at ``level >= capacity`` is refused (§8.4).

    ``strict`` (default) refuses at ``>=`` (the 51st of a burst); ``False`` at ``>`` (the 52nd).
    ``count_rejected`` makes refused requests raise the level too.
    """

    rate: float = 2.0
    capacity: int = 50
    strict: bool = True
    count_rejected: bool = False
    level: float = 0.0
    last: float | None = None

    def drain(self, now: float) -> float:
        if self.last is not None and now > self.last:
            self.level = max(0.0, self.level - self.rate * (now - self.last))
        if self.last is None or now > self.last:
            self.last = now
        return self.level

    def admit(self, now: float) -> bool:
        level = self.drain(now)
        refused = level >= self.capacity if self.strict else level > self.capacity
        if refused:
            if self.count_rejected:
                self.level += 1
            return False
        self.level += 1
        return True


@dataclass
class Baskets:
    """One (app-or-webhook, method) key: one-minute baskets of execution seconds."""

    baskets: list[list[float]] = field(default_factory=list)  # [first_call_at, seconds]

    def expire(self, now: float, window: float) -> None:
        self.baskets = [b for b in self.baskets if b[0] + window > now]

    def total(self) -> float:
        return sum(b[1] for b in self.baskets)

    def add(self, now: float, seconds: float, basket: float) -> None:
        if self.baskets and now - self.baskets[-1][0] < basket:
            self.baskets[-1][1] += seconds
        else:
            self.baskets.append([now, seconds])

    def reset_at(self, window: float) -> float | None:
        return self.baskets[0][0] + window if self.baskets else None


@dataclass
class OperatingLimiter:
    """Per-method execution budget in a sliding window of ten one-minute baskets (§2.2, §8.5).

    The call that crosses ``limit`` still runs; the next is refused until baskets expire.
    """

    limit: float = 480.0
    window: float = 600.0
    basket: float = 60.0
    keys: dict[tuple[str, str], Baskets] = field(default_factory=lambda: defaultdict(Baskets))

    def blocked(self, who: str, method: str, now: float) -> bool:
        baskets = self.keys[(who, method)]
        baskets.expire(now, self.window)
        return baskets.total() > self.limit

    def charge(self, who: str, method: str, now: float, seconds: float) -> tuple[float, float | None]:
        """Account ``seconds`` of execution; returns (operating, operating_reset_at)."""
        baskets = self.keys[(who, method)]
        baskets.expire(now, self.window)
        baskets.add(now, seconds, self.basket)
        return baskets.total(), baskets.reset_at(self.window)
