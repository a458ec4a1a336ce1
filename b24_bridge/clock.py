"""Time for the Bitrix24 client and the fake portal: one clock read through the running event loop.

No I/O. ``LoopClock`` reads ``loop.time()`` shifted to Unix time, so the same code runs on a real
event loop (wall time) and on :class:`b24_bridge.fake.virtual_time.VirtualTimeLoop` (virtual time that
jumps to the next timer as soon as every task waits): the leaky bucket, the retry backoff and the
operating-time pauses never sleep for real in tests.
"""

from __future__ import annotations

import asyncio
import time
from typing import Protocol

__all__ = ["Clock", "LoopClock", "ManualClock"]


class Clock(Protocol):
    """What the client and the fake read time from, and what the client waits with."""

    def now(self) -> float:
        """Current Unix time in seconds (float)."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` (zero or negative: just yield to the loop)."""
        ...


class LoopClock:
    """Unix time derived from the running loop's monotonic clock.

    The offset between ``time.time()`` and ``loop.time()`` is fixed at the first reading, so
    ``now()`` is monotonic for the life of the object. Under a virtual-time loop the offset is fixed
    against the virtual start, and every ``sleep`` is virtual.
    """

    def __init__(self, epoch: float | None = None) -> None:
        self._epoch = epoch
        self._offset: float | None = None

    def now(self) -> float:
        loop_time = asyncio.get_running_loop().time()
        if self._offset is None:
            start = time.time() if self._epoch is None else self._epoch
            self._offset = start - loop_time
        return self._offset + loop_time

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds))


class ManualClock:
    """A clock a test moves by hand; ``sleep`` advances it (use with one task at a time)."""

    def __init__(self, start: float = 1_767_225_600.0) -> None:  # 2026-01-01T00:00:00Z
        self.time = start
        self.slept: list[float] = []

    def now(self) -> float:
        return self.time

    def advance(self, seconds: float) -> None:
        self.time += seconds

    async def sleep(self, seconds: float) -> None:
        if seconds > 0:
            self.slept.append(seconds)
            self.time += seconds
        await asyncio.sleep(0)
