"""Operator credentials, signed session tokens and CSRF tokens. Pure functions, no aiohttp.

Sessions are stateless so that several server processes behind a reverse proxy share them: the cookie
holds ``<user>|<expiry>|<nonce>`` and an HMAC-SHA256 over it. The key is derived from the operator
password setting (``Settings.admin_signing_secret``: its hash, never the plain password), so changing
``CML_ADMIN_PASSWORD`` logs every browser out. Passwords themselves are checked in
``exchange_server.logins``. A form's CSRF token is an HMAC of
the session nonce (or of the Basic user for scripts that authenticate on every request), checked with
a constant-time comparison.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from typing import Final

__all__ = [
    "SESSION_SECONDS",
    "AdminSession",
    "csrf_token",
    "csrf_valid",
    "issue_session",
    "read_session",
    "signing_key",
]

SESSION_SECONDS: Final = 12 * 3600
_KEY_LABEL: Final = b"cml-exchange admin session v1\x00"


@dataclass(frozen=True, slots=True)
class AdminSession:
    """Who is logged in, until when, and the nonce CSRF tokens are bound to."""

    user: str
    expires: int
    nonce: str


def signing_key(admin_user: str, secret: str) -> bytes:
    """The HMAC key of sessions and CSRF tokens (changes with the operator's credentials)."""
    return hashlib.sha256(_KEY_LABEL + admin_user.encode() + b"\x00" + secret.encode()).digest()


def _sign(key: bytes, payload: bytes) -> str:
    return base64.urlsafe_b64encode(hmac.new(key, payload, hashlib.sha256).digest()).decode().rstrip("=")


def issue_session(key: bytes, user: str, *, now: float | None = None, seconds: int = SESSION_SECONDS) -> str:
    """A new session cookie value for ``user``."""
    expires = int(now if now is not None else time.time()) + seconds
    payload = f"{user}|{expires}|{secrets.token_urlsafe(16)}".encode()
    return base64.urlsafe_b64encode(payload).decode().rstrip("=") + "." + _sign(key, payload)


def read_session(key: bytes, value: str | None, *, now: float | None = None) -> AdminSession | None:
    """The session a cookie value proves; None when absent, forged, malformed or expired."""
    if not value or value.count(".") != 1:
        return None
    encoded, signature = value.split(".")
    try:
        payload = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
    except ValueError:
        return None
    if not secrets.compare_digest(signature.encode(), _sign(key, payload).encode()):
        return None
    try:
        user, expires_text, nonce = payload.decode().rsplit("|", 2)
        expires = int(expires_text)
    except ValueError:
        return None
    if expires <= int(now if now is not None else time.time()):
        return None
    return AdminSession(user=user, expires=expires, nonce=nonce)


def csrf_token(key: bytes, binding: str) -> str:
    """The CSRF token for forms of the session (or Basic user) identified by ``binding``."""
    return _sign(key, b"csrf\x00" + binding.encode())


def csrf_valid(key: bytes, binding: str, token: str | None) -> bool:
    if not token:
        return False
    return secrets.compare_digest(token.encode(), csrf_token(key, binding).encode())
