"""Password hashes (scrypt from the standard library) and the checks the server runs with them.

A stored password is one line ``scrypt$<n>$<r>$<p>$<salt>$<key>``: the scrypt cost parameters, then the
16-byte random salt and the 32-byte derived key in unpadded URL-safe base64. ``cml-exchange
hash-password`` prints one; the settings ``CML_EXCHANGE_PASSWORD`` / ``CML_ADMIN_PASSWORD`` take either
such a hash or a plain password, which the server hashes once when it starts
(:func:`hash_for_setting`) and never keeps as plain text afterwards.

Cost: the default parameters (n=2**14, r=8, p=1: 16 MiB, about 45 ms on one core) are RFC 7914's
interactive-login choice. :class:`PasswordCheck` runs scrypt in a worker thread (at most
:data:`PARALLEL_CHECKS` at once, so a flood of wrong passwords cannot pile up memory) and remembers a
successful (login, password) pair for :data:`REMEMBER_SECONDS` under an HMAC with a per-process random
key, so the thousands of Basic-authenticated requests of one 1C exchange cost a dictionary lookup
each, not a scrypt run. Comparisons of derived keys and logins are constant-time.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import os
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

__all__ = [
    "DEFAULT_N",
    "PREFIX",
    "PasswordCheck",
    "PasswordHash",
    "hash_for_setting",
    "hash_password",
    "is_password_hash",
    "verify_password",
]

PREFIX: Final = "scrypt$"
DEFAULT_N: Final = 2**14
DEFAULT_R: Final = 8
DEFAULT_P: Final = 1
SALT_BYTES: Final = 16
KEY_BYTES: Final = 32
MAX_N: Final = 2**20
MAX_R: Final = 32
MAX_P: Final = 16
MAX_MEMORY: Final = 2**30
"""Most memory one check may take (scrypt needs about 128 * n * r bytes): a typo must not exhaust it."""
REMEMBER_SECONDS: Final = 300.0
REMEMBERED: Final = 64
PARALLEL_CHECKS: Final = 2

_PROCESS_KEY: Final = secrets.token_bytes(32)
_HASHED_SETTINGS: OrderedDict[bytes, str] = OrderedDict()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    if not text or any(
        c not in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_" for c in text
    ):
        raise ValueError("not unpadded URL-safe base64")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _memory(n: int, r: int, p: int) -> int:
    return 128 * r * (n + p + 2) + (1 << 20)


@dataclass(frozen=True, slots=True)
class PasswordHash:
    """A parsed ``scrypt$...`` string (``repr`` shows the parameters only)."""

    n: int
    r: int
    p: int
    salt: bytes
    key: bytes

    def __repr__(self) -> str:
        return f"PasswordHash(scrypt, n={self.n}, r={self.r}, p={self.p})"

    @classmethod
    def parse(cls, text: str) -> PasswordHash:
        """Read a stored hash.

        Raises:
            ValueError: not a ``scrypt$n$r$p$salt$key`` string or parameters out of range (the message
                never repeats the text).
        """
        parts = text.strip().split("$")
        if len(parts) != 6 or parts[0] != PREFIX.rstrip("$"):
            raise ValueError(
                "a password hash must look like scrypt$n$r$p$salt$key (cml-exchange hash-password)"
            )
        try:
            n, r, p = (int(x) for x in parts[1:4])
            salt, key = _unb64(parts[4]), _unb64(parts[5])
        except ValueError:
            raise ValueError("malformed scrypt password hash (numbers or base64 invalid)") from None
        if n < 2 or n & (n - 1) or n > MAX_N or not 1 <= r <= MAX_R or not 1 <= p <= MAX_P:
            raise ValueError(
                f"scrypt parameters out of range: n must be a power of 2 <= {MAX_N}, r <= {MAX_R}"
            )
        if _memory(n, r, p) > MAX_MEMORY:
            raise ValueError(f"scrypt parameters need more than {MAX_MEMORY >> 20} MiB per check")
        if len(salt) < 8 or len(key) < 16:
            raise ValueError("scrypt password hash: salt or key too short")
        return cls(n=n, r=r, p=p, salt=salt, key=key)

    def encode(self) -> str:
        return f"{PREFIX}{self.n}${self.r}${self.p}${_b64(self.salt)}${_b64(self.key)}"

    def derive(self, password: str) -> bytes:
        """The scrypt key of ``password`` with this hash's salt and parameters (slow on purpose)."""
        return hashlib.scrypt(
            password.encode("utf-8", "surrogatepass"),
            salt=self.salt,
            n=self.n,
            r=self.r,
            p=self.p,
            maxmem=_memory(self.n, self.r, self.p),
            dklen=len(self.key),
        )

    def matches(self, password: str) -> bool:
        """Constant-time comparison of the derived keys."""
        return hmac.compare_digest(self.derive(password), self.key)


def is_password_hash(text: str) -> bool:
    """True when ``text`` is meant as a stored hash (starts with ``scrypt$``)."""
    return text.startswith(PREFIX)


def hash_password(password: str, *, n: int = DEFAULT_N, r: int = DEFAULT_R, p: int = DEFAULT_P) -> str:
    """A new ``scrypt$...`` string for ``password`` (random salt)."""
    salt = os.urandom(SALT_BYTES)
    template = PasswordHash(n=n, r=r, p=p, salt=salt, key=b"\0" * KEY_BYTES)
    return PasswordHash(n=n, r=r, p=p, salt=salt, key=template.derive(password)).encode()


def verify_password(password: str, encoded: str) -> bool:
    """Whether ``password`` matches the stored ``encoded`` hash (False for a malformed hash)."""
    try:
        stored = PasswordHash.parse(encoded)
    except ValueError:
        return False
    return stored.matches(password)


def _tag(*parts: str) -> bytes:
    return hmac.new(_PROCESS_KEY, "\0".join(parts).encode("utf-8", "surrogatepass"), hashlib.sha256).digest()


def hash_for_setting(value: str) -> str:
    """A setting's value as a hash: a ``scrypt$`` value is checked and kept, a plain one hashed.

    A plain value is hashed once per process (later calls with the same value return the same hash,
    remembered under an HMAC of it, never the value itself), so building several applications from
    one configuration (tests, the demo) does not pay scrypt each time.

    Raises:
        ValueError: a ``scrypt$`` value that is not a valid hash.
    """
    if is_password_hash(value):
        return PasswordHash.parse(value).encode()
    tag = _tag("setting", value)
    known = _HASHED_SETTINGS.get(tag)
    if known is None:
        known = _HASHED_SETTINGS[tag] = hash_password(value)
        while len(_HASHED_SETTINGS) > REMEMBERED:
            _HASHED_SETTINGS.popitem(last=False)
    return known


class PasswordCheck:
    """Checks one login's credentials against its stored hash, off the event loop, remembering successes.

    Create it inside the application (one per login); :meth:`verify` needs a running event loop.
    """

    def __init__(
        self,
        login: str,
        stored: str,
        *,
        remember_seconds: float = REMEMBER_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """
        Raises:
            ValueError: ``stored`` is not a valid ``scrypt$`` hash.
        """
        self.login = login
        self._stored = PasswordHash.parse(stored)
        self._remember_seconds = remember_seconds
        self._clock = clock
        self._remembered: OrderedDict[bytes, float] = OrderedDict()
        self._slots: asyncio.Semaphore | None = None
        self.scrypt_runs = 0

    def __repr__(self) -> str:
        return f"PasswordCheck(login={self.login!r})"

    def _recall(self, tag: bytes) -> bool:
        until = self._remembered.get(tag)
        if until is None:
            return False
        if until <= self._clock():
            del self._remembered[tag]
            return False
        return True

    async def verify(self, login: str, password: str) -> bool:
        """True when both the login and the password are right.

        The login is compared in constant time and scrypt runs whatever the login, so a wrong login
        takes as long as a wrong password.
        """
        login_ok = hmac.compare_digest(login.encode("utf-8", "surrogatepass"), self.login.encode())
        tag = _tag("check", login, password)
        if self._recall(tag):
            return login_ok
        if self._slots is None:
            self._slots = asyncio.Semaphore(PARALLEL_CHECKS)
        async with self._slots:
            self.scrypt_runs += 1
            password_ok = await asyncio.to_thread(self._stored.matches, password)
        if login_ok and password_ok:
            self._remembered[tag] = self._clock() + self._remember_seconds
            self._remembered.move_to_end(tag)
            while len(self._remembered) > REMEMBERED:
                self._remembered.popitem(last=False)
        return login_ok and password_ok
