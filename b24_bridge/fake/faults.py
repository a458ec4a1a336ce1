"""Fault injection for the fake portal: which call fails, and how (bitrix24.md §8.3 item 4).

No I/O. A :class:`FaultPlan` holds rules; the portal asks it once per REST request. Failures
*before* the commit never touch data; failures *after* it (lost answer, reset, gateway page) happen
once the call has run, which is what makes blind retries of creates dangerous.
"""

from __future__ import annotations

import enum
import random
from dataclasses import dataclass, field

__all__ = ["Fault", "FaultPlan", "FaultRule"]


class Fault(enum.Enum):
    INTERNAL_ERROR = "internal_error"  # 500 INTERNAL_SERVER_ERROR (JSON), before the commit
    OVERLOAD = "overload"  # 503 OVERLOAD_LIMIT (JSON), before the commit
    GATEWAY_HTML = "gateway_html"  # 502 text/html page, before the commit
    GATEWAY_TIMEOUT_HTML = "gateway_timeout_html"  # 504 text/html page, after the commit
    LOST_RESPONSE = "lost_response"  # committed, then the answer is delayed past the client timeout
    RESET_BEFORE = "reset_before"  # connection reset before the request is processed
    RESET_AFTER = "reset_after"  # committed, then the connection is reset
    EXPIRED_TOKEN = "expired_token"  # the caller's OAuth token expires just now (401 expired_token)
    #: The method itself refuses the call (400 ERROR_CORE, nothing written), at the top level or as
    #: one command inside a ``batch`` (the batch answers 200 with the error in ``result_error``).
    COMMAND_ERROR = "command_error"

    @property
    def after_commit(self) -> bool:
        return self in (Fault.GATEWAY_TIMEOUT_HTML, Fault.LOST_RESPONSE, Fault.RESET_AFTER)


@dataclass
class FaultRule:
    """Fire ``fault`` on calls of ``method`` (any when ``None``): every ``every``-th matching call,
    or with ``probability``, or on every matching call when neither is given; at most ``times``
    times when set."""

    fault: Fault
    method: str | None = None
    every: int | None = None
    probability: float = 0.0
    times: int | None = None
    seen: int = 0
    fired: int = 0

    def check(self, method: str, rng: random.Random) -> bool:
        if self.method is not None and self.method.lower() != method.lower():
            return False
        if self.times is not None and self.fired >= self.times:
            return False
        self.seen += 1
        if self.every is None and self.probability <= 0:
            hit = True  # add(Fault.X, method=..., times=2): the next two matching calls
        else:
            hit = (self.every is not None and self.seen % self.every == 0) or (
                self.probability > 0 and rng.random() < self.probability
            )
        if hit:
            self.fired += 1
        return hit


@dataclass
class FaultPlan:
    """The rules of one portal; the first rule that fires wins."""

    rules: list[FaultRule] = field(default_factory=list)
    rng: random.Random = field(default_factory=lambda: random.Random(4))
    #: How long a LOST_RESPONSE holds the answer (seconds; beyond any sane client timeout).
    lost_delay: float = 120.0
    log: list[tuple[str, Fault]] = field(default_factory=list)

    def add(
        self,
        fault: Fault,
        *,
        method: str | None = None,
        every: int | None = None,
        probability: float = 0.0,
        times: int | None = None,
    ) -> FaultRule:
        rule = FaultRule(fault, method, every, probability, times)
        self.rules.append(rule)
        return rule

    def clear(self) -> None:
        self.rules.clear()

    def pick(self, method: str) -> Fault | None:
        """The fault of one REST request (``COMMAND_ERROR`` rules are left to :meth:`pick_command`)."""
        for rule in self.rules:
            if rule.fault is not Fault.COMMAND_ERROR and rule.check(method, self.rng):
                self.log.append((method, rule.fault))
                return rule.fault
        return None

    def pick_command(self, method: str) -> bool:
        """Whether this execution of ``method`` (a request, or a command inside a batch) is refused."""
        for rule in self.rules:
            if rule.fault is Fault.COMMAND_ERROR and rule.check(method, self.rng):
                self.log.append((method, rule.fault))
                return True
        return False
