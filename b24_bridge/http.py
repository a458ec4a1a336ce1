"""The aiohttp transport and OAuth token endpoint: the only network code of ``b24_bridge``.

Foreign exceptions are translated here, at the boundary, into :mod:`b24_bridge.errors` with the cause
kept (httpx's ``map_httpcore_exceptions``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import aiohttp

from b24_bridge.errors import BadResponse, ConnectError, ConnectionLost, OAuthError, Timeout
from b24_bridge.transport import (
    DEFAULT_TIMEOUT,
    B24Request,
    B24Response,
    TokenSet,
    decode_body,
    redact_text,
    redact_url,
)

__all__ = ["AiohttpTokenEndpoint", "AiohttpTransport"]


class AiohttpTransport:
    """POSTs JSON to ``<base><method>.json``; ``base`` is the webhook URL or the OAuth ``client_endpoint``.

    Redirects are not followed blindly (bitrix24.md §1.1): a 302 from a renamed portal is re-POSTed to
    the new host once and the new base is kept.
    """

    def __init__(
        self, session: aiohttp.ClientSession, base_url: str, *, timeout: float = DEFAULT_TIMEOUT
    ) -> None:
        self._session = session
        self.base_url = base_url if base_url.endswith("/") else base_url + "/"
        self._timeout = aiohttp.ClientTimeout(total=timeout)

    async def send(self, request: B24Request) -> B24Response:
        body = dict(request.params)
        if request.access_token is not None:
            body["auth"] = request.access_token
        url = f"{self.base_url}{request.method}.json"
        for _ in range(2):
            status, headers, content_type, raw = await self._post(url, body)
            if status in (301, 302, 307, 308) and "Location" in headers:
                moved = urlsplit(headers["Location"])
                old = urlsplit(self.base_url)
                self.base_url = urlunsplit((moved.scheme or old.scheme, moved.netloc, old.path, "", ""))
                url = f"{self.base_url}{request.method}.json"
                continue
            return B24Response(status, decode_body(status, content_type, raw), headers)
        raise BadResponse("redirected twice", status=302)

    async def _post(self, url: str, body: Mapping[str, Any]) -> tuple[int, dict[str, str], str, bytes]:
        # Messages name the URL without the webhook's code: they reach logs and the outbox journal.
        shown = redact_url(url)
        try:
            async with self._session.post(
                url, json=body, timeout=self._timeout, allow_redirects=False
            ) as resp:
                raw = await resp.read()
                return resp.status, dict(resp.headers), resp.headers.get("Content-Type", ""), raw
        except (aiohttp.ClientConnectorError, ConnectionRefusedError) as exc:
            raise ConnectError(f"cannot connect to {shown}: {redact_text(str(exc))}") from exc
        except TimeoutError as exc:
            raise Timeout(f"no answer from {shown} in {self._timeout.total} s") from exc
        except (aiohttp.ServerDisconnectedError, aiohttp.ClientPayloadError, aiohttp.ClientOSError) as exc:
            raise ConnectionLost(f"connection to {shown} lost: {redact_text(str(exc))}") from exc
        except aiohttp.ClientError as exc:
            raise ConnectionLost(f"{shown}: {type(exc).__name__}: {redact_text(str(exc))}") from exc


class AiohttpTokenEndpoint:
    """``GET <oauth_url>?grant_type=refresh_token&client_id=…&client_secret=…&refresh_token=…``."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        client_id: str,
        client_secret: str,
        *,
        url: str = "https://oauth.bitrix.info/oauth/token/",
        timeout: float = 30.0,
    ) -> None:
        self._session = session
        self._client_id = client_id
        self._client_secret = client_secret
        self.url = url
        self._timeout = aiohttp.ClientTimeout(total=timeout)

    async def refresh(self, refresh_token: str) -> TokenSet:
        query = {
            "grant_type": "refresh_token",
            "client_id": self._client_id,
            "client_secret": self._client_secret,
            "refresh_token": refresh_token,
        }
        try:
            async with self._session.get(self.url, params=query, timeout=self._timeout) as resp:
                raw = await resp.read()
                status, content_type = resp.status, resp.headers.get("Content-Type", "")
        except TimeoutError as exc:
            raise Timeout(f"no answer from {self.url}") from exc
        except aiohttp.ClientError as exc:
            detail = redact_text(str(exc), self._client_secret, refresh_token)
            raise ConnectionLost(f"{redact_url(self.url)}: {detail}") from exc
        body = decode_body(status, content_type, raw)
        if not isinstance(body, Mapping):
            raise OAuthError("invalid_response", "token answer is not an object")
        if "error" in body:
            raise OAuthError(str(body["error"]), str(body.get("error_description") or ""))
        return TokenSet.from_json(body)
