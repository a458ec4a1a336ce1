"""The seam between the Bitrix24 client and the network: requests, responses, token sets. No I/O.

The network implementations live in ``b24_bridge.http`` (aiohttp); the fake portal ships in-process
twins (``b24_bridge.fake.transport``) so tests run the same client without sockets (httpx's transport
seam, STYLE.md §2.4).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Protocol
from urllib.parse import urlsplit, urlunsplit

from b24_bridge.errors import BadResponse, OAuthError

__all__ = [
    "DEFAULT_TIMEOUT",
    "B24Request",
    "B24Response",
    "TokenEndpoint",
    "TokenSet",
    "Transport",
    "WebhookURL",
    "decode_body",
    "parse_webhook_url",
    "redact_text",
    "redact_url",
]

#: A cloud portal cuts a request off after 60 s (bitrix24.md §2.3); wait a little longer than that.
DEFAULT_TIMEOUT: Final = 75.0

_WEBHOOK_PATH: Final = re.compile(r"^(?P<prefix>.*?/rest)/(?P<user>\d+)/(?P<code>[^/]+)/?$")
_WEBHOOK_CODE: Final = re.compile(r"(/rest/\d+/)[^/?#\s'\"]+")
_SECRET_PARAMS: Final = re.compile(
    r"((?:client_secret|refresh_token|access_token|auth|application_token|code)=)[^&#\s'\"]+", re.IGNORECASE
)
REDACTED: Final = "***"


def redact_url(url: str) -> str:
    """``url`` without its secrets: a webhook's code and token-like query values become ``***``."""
    return _SECRET_PARAMS.sub(r"\1" + REDACTED, _WEBHOOK_CODE.sub(r"\1" + REDACTED, url))


def redact_text(text: str, *secrets: str) -> str:
    """``text`` (an error message) with every URL secret and each of ``secrets`` replaced by ``***``."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, REDACTED)
    return redact_url(text)


@dataclass(frozen=True, slots=True)
class WebhookURL:
    """An incoming webhook ``https://<portal>/rest/<user_id>/<code>/`` split into its parts."""

    base: str  # always ends with "/"
    user_id: int
    code: str


def parse_webhook_url(url: str) -> WebhookURL:
    """Validate an incoming-webhook URL (bitrix24.md §1.1; §7.1: user id missing -> 401/404).

    Raises:
        ValueError: the URL is not ``http(s)://host/rest/<int>/<code>/``.
    """
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(
            f"webhook URL must be http(s)://<portal>/rest/<user_id>/<code>/, got {redact_url(url)!r}"
        )
    match = _WEBHOOK_PATH.match(parts.path)
    if match is None:
        raise ValueError(f"webhook URL must end with /rest/<user_id>/<code>/, got {redact_url(url)!r}")
    path = f"{match['prefix']}/{match['user']}/{match['code']}/"
    return WebhookURL(
        urlunsplit((parts.scheme, parts.netloc, path, "", "")), int(match["user"]), match["code"]
    )


@dataclass(frozen=True, slots=True)
class B24Request:
    """One REST call: ``method`` with JSON ``params``; ``access_token`` only for OAuth applications."""

    method: str
    params: Mapping[str, Any]
    access_token: str | None = None


@dataclass(frozen=True, slots=True)
class B24Response:
    """The decoded JSON answer and its HTTP status."""

    status: int
    body: Any
    headers: Mapping[str, str] = field(default_factory=dict)


class Transport(Protocol):
    """Sends one request to one portal. Raises :class:`b24_bridge.errors.TransportError` subclasses."""

    async def send(self, request: B24Request) -> B24Response: ...


@dataclass(frozen=True, slots=True)
class TokenSet:
    """What the OAuth server returns (bitrix24.md §1.3); ``expires`` is a Unix time."""

    access_token: str
    refresh_token: str
    expires: float
    client_endpoint: str
    member_id: str = ""
    scope: str = ""
    user_id: int = 0
    status: str = ""

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> TokenSet:
        try:
            return cls(
                access_token=str(body["access_token"]),
                refresh_token=str(body["refresh_token"]),
                expires=float(body.get("expires") or 0),
                client_endpoint=str(body.get("client_endpoint") or ""),
                member_id=str(body.get("member_id") or ""),
                scope=str(body.get("scope") or ""),
                user_id=int(body.get("user_id") or 0),
                status=str(body.get("status") or ""),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise OAuthError("invalid_response", f"unexpected token answer: {exc}") from exc


class TokenEndpoint(Protocol):
    """The OAuth server's token endpoint (``GET /oauth/token/``), refresh grant only."""

    async def refresh(self, refresh_token: str) -> TokenSet: ...


def decode_body(status: int, content_type: str, raw: bytes) -> Any:
    """Decode a REST answer; anything but a JSON document is a :class:`BadResponse`."""
    text = raw.decode("utf-8", errors="replace")
    if "json" not in content_type.lower() and not text.lstrip().startswith(("{", "[")):
        raise BadResponse(
            f"HTTP {status}: {content_type or 'no content type'} instead of JSON", status=status, body=text
        )
    try:
        return json.loads(text)
    except ValueError as exc:
        raise BadResponse(f"HTTP {status}: body is not valid JSON: {exc}", status=status, body=text) from exc
