"""Credential checks of the 1C exchange, ``/api`` and the admin pages, with a lockout after failures.

Every login attempt goes through :meth:`Logins.check`: the client's address (see
:func:`client_address` for reverse proxies), the login and the password. After
``CML_LOGIN_MAX_FAILURES`` failed attempts of one login from one address within
``CML_LOGIN_LOCKOUT_SECONDS``, that pair is locked out for ``CML_LOGIN_LOCKOUT_SECONDS``: every attempt,
even with the right password, is answered like a wrong password without running the hash, and the
lockout is logged (login and address, never the password). A success clears the pair's failures.

The counters live in the memory of one server process: with several processes behind a load balancer
each counts on its own, so an attacker gets at most ``processes x max_failures`` tries per window.
"""

from __future__ import annotations

import ipaddress
import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final

from aiohttp import web

from exchange_server.passwords import PasswordCheck, hash_for_setting
from exchange_server.settings import Settings

__all__ = ["LOGINS", "LoginThrottle", "Logins", "Verdict", "client_address"]

log = logging.getLogger(__name__)

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
CAPACITY: Final = 100_000
"""Most (address, login) pairs remembered; beyond it expired entries go first, then the oldest."""
LOGIN_KEY_CHARS: Final = 256


@dataclass(slots=True)
class _Failures:
    count: int
    since: float
    locked_until: float = 0.0


class LoginThrottle:
    """Failed-login counters per (address, login). Pure: the clock is passed in, no I/O.

    ``max_failures == 0`` turns the lockout off.
    """

    def __init__(
        self,
        max_failures: int,
        lockout_seconds: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        capacity: int = CAPACITY,
    ) -> None:
        self.max_failures = max_failures
        self.lockout_seconds = lockout_seconds
        self._clock = clock
        self._capacity = capacity
        self._entries: OrderedDict[tuple[str, str], _Failures] = OrderedDict()

    @staticmethod
    def _key(address: str, login: str) -> tuple[str, str]:
        return address, login[:LOGIN_KEY_CHARS]

    def locked_for(self, address: str, login: str) -> float:
        """Seconds the pair stays locked out; 0 when it is not."""
        entry = self._entries.get(self._key(address, login))
        if entry is None:
            return 0.0
        # Clamped: (now + lockout) - now may exceed lockout by a rounding error (found by hypothesis).
        return min(self.lockout_seconds, max(0.0, entry.locked_until - self._clock()))

    def failed(self, address: str, login: str) -> bool:
        """Count one failure; True when it is the one that starts a lockout."""
        if self.max_failures <= 0:
            return False
        now = self._clock()
        key = self._key(address, login)
        entry = self._entries.get(key)
        stale = entry is not None and (
            (entry.locked_until and entry.locked_until <= now)
            or (not entry.locked_until and now - entry.since >= self.lockout_seconds)
        )
        if entry is None or stale:
            entry = self._entries[key] = _Failures(count=0, since=now)
            self._entries.move_to_end(key)
            self._trim(now)
        if entry.locked_until > now:
            return False
        entry.count += 1
        if entry.count >= self.max_failures:
            entry.locked_until = now + self.lockout_seconds
            return True
        return False

    def succeeded(self, address: str, login: str) -> None:
        self._entries.pop(self._key(address, login), None)

    def __len__(self) -> int:
        return len(self._entries)

    def _trim(self, now: float) -> None:
        if len(self._entries) <= self._capacity:
            return
        for key in [k for k, e in self._entries.items() if self._expired(e, now)]:
            del self._entries[key]
        while len(self._entries) > self._capacity:
            self._entries.popitem(last=False)

    def _expired(self, entry: _Failures, now: float) -> bool:
        if entry.locked_until:
            return entry.locked_until <= now
        return now - entry.since >= self.lockout_seconds


def parse_networks(values: Sequence[str]) -> tuple[Network, ...]:
    """``CML_TRUSTED_PROXIES`` entries as networks (a bare address is a /32 or /128).

    Raises:
        ValueError: an entry is not an IP address or network.
    """
    return tuple(ipaddress.ip_network(value.strip(), strict=False) for value in values)


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    text = text.strip()
    if text.startswith("[") and "]" in text:  # "[2001:db8::1]:443"
        text = text[1 : text.index("]")]
    elif text.count(":") == 1:  # "203.0.113.7:51234"
        text = text.split(":", 1)[0]
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def client_address(peer: str | None, forwarded_for: Sequence[str], trusted: Sequence[Network]) -> str:
    """The address a request came from, seen through trusted reverse proxies.

    ``X-Forwarded-For`` is believed only when the TCP peer is a trusted proxy; its entries are then read
    right to left (each proxy appends the address it saw) and the first one that is not a trusted proxy
    is the client. Entries left of it may be forged by the client and are ignored. A malformed entry
    stops the walk at the proxy that wrote it.
    """
    peer_address = _address(peer or "")
    if peer_address is None:
        return peer or "unknown"

    def is_trusted(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
        return any(address in network for network in trusted)

    if not trusted or not is_trusted(peer_address):
        return str(peer_address)
    hops = [hop for header in forwarded_for for hop in header.split(",") if hop.strip()]
    current = peer_address
    for hop in reversed(hops):
        address = _address(hop)
        if address is None:
            return str(current)
        current = address
        if not is_trusted(address):
            return str(address)
    return str(current)


@dataclass(frozen=True, slots=True)
class Verdict:
    """The outcome of one login attempt."""

    ok: bool
    locked: bool = False


def _shown(login: str) -> str:
    return repr(login[:64])


class Logins:
    """The server's credential checks and lockout (one per application: ``app[LOGINS]``)."""

    def __init__(self, settings: Settings, *, clock: Callable[[], float] = time.monotonic) -> None:
        """
        Raises:
            ValueError: a password is unset (see ``settings.ensure_passwords``) or a hash is malformed.
        """
        if settings.exchange_password is None or settings.admin_password is None:
            raise ValueError(
                "exchange_password and admin_password must be set (see settings.ensure_passwords)"
            )
        self.exchange = PasswordCheck(
            settings.exchange_user, hash_for_setting(settings.exchange_password.get_secret_value())
        )
        self.admin = PasswordCheck(
            settings.admin_user, hash_for_setting(settings.admin_password.get_secret_value())
        )
        self.throttle = LoginThrottle(
            settings.login_max_failures, settings.login_lockout_seconds, clock=clock
        )
        self.trusted = parse_networks(settings.trusted_proxies)

    def client(self, request: web.BaseRequest) -> str:
        """The client's address (``X-Forwarded-For`` only from a trusted proxy)."""
        return client_address(request.remote, request.headers.getall("X-Forwarded-For", []), self.trusted)

    async def check(
        self, request: web.BaseRequest, check: PasswordCheck, login: str, password: str, *, where: str
    ) -> Verdict:
        """One login attempt at ``where`` (for the log): locked out, right or wrong."""
        address = self.client(request)
        left = self.throttle.locked_for(address, login)
        if left > 0:
            log.warning(
                "%s: login %s from %s refused: locked out for %d more seconds",
                where,
                _shown(login),
                address,
                int(left) + 1,
                extra={"cml_fields": {"event": "login_locked", "login": login[:64], "remote": address}},
            )
            return Verdict(ok=False, locked=True)
        if await check.verify(login, password):
            self.throttle.succeeded(address, login)
            return Verdict(ok=True)
        if self.throttle.failed(address, login):
            log.warning(
                "%s: login %s from %s locked out for %d seconds after %d failed attempts",
                where,
                _shown(login),
                address,
                int(self.throttle.lockout_seconds),
                self.throttle.max_failures,
                extra={"cml_fields": {"event": "login_lockout", "login": login[:64], "remote": address}},
            )
        else:
            log.info(
                "%s: failed login %s from %s",
                where,
                _shown(login),
                address,
                extra={"cml_fields": {"event": "login_failed", "login": login[:64], "remote": address}},
            )
        return Verdict(ok=False)


LOGINS = web.AppKey("logins", Logins)
