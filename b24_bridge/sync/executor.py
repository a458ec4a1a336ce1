"""Packs steps (small groups of commands that must travel together) into batches of 50.

A :class:`Step` is one or more commands plus the handler of their answers; commands of one step may
reference each other (``$result[<id>][document][id]``) because a step is never split across
batches. Handlers may add follow-up steps (a lookup that found nothing adds the create), so the
executor keeps every batch as full as the ready work allows: the rate limit counts requests, not
commands (bitrix24.md §2.1).
"""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from b24_bridge.batch import MAX_BATCH, BatchCommand
from b24_bridge.client import B24Client, BatchResult
from b24_bridge.errors import ApiError, B24Error, BadResponse, ConnectError, TransportError

__all__ = ["Answer", "Executor", "PortalDown", "Step", "portal_unreachable"]

#: Gateway pages a reverse proxy in front of the portal answers while the portal itself is down.
GATEWAY_STATUSES = frozenset({502, 503, 504})


class PortalDown(TransportError):
    """The portal cannot be reached at all: not the fault of the jobs being pushed.

    The pusher hands the jobs of the round back without counting the attempt, so an outage of any
    length never parks a job; the worker backs off and tries again.
    """


def portal_unreachable(exc: B24Error) -> bool:
    """True for a refused/failed connection or a proxy's gateway page (after the client's retries)."""
    if isinstance(exc, PortalDown | ConnectError):
        return True
    return isinstance(exc, BadResponse) and exc.status in GATEWAY_STATUSES


@dataclass(frozen=True, slots=True)
class Answer:
    """The answers of one step's commands, by the step's own command names."""

    results: Mapping[str, Any]
    errors: Mapping[str, ApiError]
    nexts: Mapping[str, int] = field(default_factory=dict)

    def first_error(self) -> ApiError | None:
        return next(iter(self.errors.values()), None)


@dataclass(slots=True)
class Step:
    """Commands ``(name, method, params)``; ``params`` may use ``{ref:name}`` for a sibling's id."""

    commands: Sequence[tuple[str, str, Mapping[str, Any]]]
    on_answer: Callable[[Answer], None]
    on_failure: Callable[[B24Error], None]
    prefix: str = ""


def _substitute(value: Any, prefix: str) -> Any:
    if isinstance(value, str) and value.startswith("$result[") and "{step}" in value:
        return value.replace("{step}", prefix)
    if isinstance(value, Mapping):
        return {k: _substitute(v, prefix) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v, prefix) for v in value]
    return value


class Executor:
    """Sends queued steps through ``client.batch``; ``calls``/``commands`` count what was sent."""

    def __init__(self, client: B24Client, *, batch_size: int = MAX_BATCH) -> None:
        if not 1 <= batch_size <= MAX_BATCH:
            raise ValueError(f"batch_size must be within 1..{MAX_BATCH}")
        self.client = client
        self.batch_size = batch_size
        self.queue: deque[Step] = deque()
        self.calls = 0
        self.commands = 0
        self._ids = itertools.count()
        self.after_batch: Callable[[], Any] | None = None

    def add(self, step: Step) -> None:
        if len(step.commands) > self.batch_size:
            raise ValueError(f"a step of {len(step.commands)} commands does not fit one batch")
        step.prefix = f"s{next(self._ids)}"
        self.queue.append(step)

    def _take(self) -> list[Step]:
        taken: list[Step] = []
        size = 0
        while self.queue and size + len(self.queue[0].commands) <= self.batch_size:
            step = self.queue.popleft()
            taken.append(step)
            size += len(step.commands)
        return taken

    async def run_once(self) -> bool:
        """Send one batch of ready steps; False when nothing was ready."""
        steps = self._take()
        if not steps:
            return False
        commands = [
            BatchCommand(f"{s.prefix}_{name}", method, _substitute(params, s.prefix))
            for s in steps
            for name, method, params in s.commands
        ]
        self.calls += 1
        self.commands += len(commands)
        try:
            answer: BatchResult = await self.client.batch(commands)
        except B24Error as exc:
            if portal_unreachable(exc):
                self.queue.extendleft(reversed(steps))  # not sent: nothing of them is answered
                raise PortalDown(f"the portal is unreachable: {exc}") from exc
            for step in steps:
                step.on_failure(exc)
            return True
        for step in steps:
            head = f"{step.prefix}_"
            names = [name for name, _, _ in step.commands]
            step.on_answer(
                Answer(
                    results={n: answer.results[head + n] for n in names if head + n in answer.results},
                    errors={n: answer.errors[head + n] for n in names if head + n in answer.errors},
                    nexts={n: answer.nexts[head + n] for n in names if head + n in answer.nexts},
                )
            )
        return True

    async def run(self, after_batch: Callable[[], Any] | None = None) -> None:
        """Send batches until no step is ready; ``after_batch`` (awaitable or not) runs after each."""
        import inspect

        while await self.run_once():
            if after_batch is not None:
                outcome = after_batch()
                if inspect.isawaitable(outcome):
                    await outcome
