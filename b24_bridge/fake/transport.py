"""In-process adapters of the fake portal: the client's ``Transport`` and ``TokenEndpoint`` without sockets.

Like httpx's ``MockTransport``: the request goes through a JSON round trip (so only what survives
the wire reaches the portal) and the same ``FakePortal.handle_rest`` the HTTP app calls. Transport
faults become the errors the aiohttp transport would raise: a lost answer waits the client timeout
(on the injected clock) and raises ``Timeout``; a reset raises ``ConnectionLost``; a gateway page is
a ``BadResponse``.
"""

from __future__ import annotations

import asyncio
import json
import re
from typing import Final

from b24_bridge.clock import Clock, LoopClock
from b24_bridge.errors import ConnectionLost, OAuthError, Timeout
from b24_bridge.fake.faults import Fault
from b24_bridge.fake.portal import FakePortal
from b24_bridge.transport import DEFAULT_TIMEOUT, B24Request, B24Response, TokenSet, decode_body

__all__ = ["InProcessTokenEndpoint", "InProcessTransport"]

_ROUTE: Final = re.compile(r"/rest/(?:(?P<user>\d+)/(?P<code>[^/]+)/)?$")


class InProcessTransport:
    """Calls ``portal`` directly; ``base_url`` picks webhook (``…/rest/1/<code>/``) or OAuth (``…/rest/``)."""

    def __init__(
        self,
        portal: FakePortal,
        base_url: str | None = None,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        clock: Clock | None = None,
    ) -> None:
        self.portal = portal
        self.base_url = base_url or f"https://{portal.config.domain}{portal.webhook_path()}"
        path = re.sub(r"^[a-z]+://[^/]+", "", self.base_url)
        match = _ROUTE.search(path if path.endswith("/") else path + "/")
        if match is None:
            raise ValueError(f"not a REST base URL: {self.base_url!r}")
        self._user, self._code = match["user"], match["code"]
        self.timeout = timeout
        self.clock: Clock = clock or LoopClock()

    async def send(self, request: B24Request) -> B24Response:
        params = json.loads(json.dumps(dict(request.params)))
        await asyncio.sleep(0)
        reply = self.portal.handle_rest(
            request.method,
            params,
            user=self._user,
            code=self._code,
            access_token=request.access_token,
            https=self.base_url.startswith("https"),
        )
        if reply.after is Fault.RESET_BEFORE or reply.after is Fault.RESET_AFTER:
            raise ConnectionLost(f"{request.method}: connection reset by the portal")
        if reply.after is Fault.LOST_RESPONSE:
            await self.clock.sleep(self.timeout)
            raise Timeout(f"{request.method}: no answer in {self.timeout} s")
        raw = reply.body if isinstance(reply.body, str) else json.dumps(reply.body, ensure_ascii=False)
        body = decode_body(reply.status, reply.content_type, raw.encode())
        return B24Response(reply.status, body, {"Content-Type": reply.content_type})


class InProcessTokenEndpoint:
    """The fake OAuth server's refresh grant, in-process."""

    def __init__(self, portal: FakePortal, client_id: str, client_secret: str) -> None:
        self.portal = portal
        self.client_id = client_id
        self.client_secret = client_secret

    async def refresh(self, refresh_token: str) -> TokenSet:
        await asyncio.sleep(0)
        status, body = self.portal.oauth_token(
            {
                "grant_type": "refresh_token",
                "client_id": self.client_id,
                "client_secret": self.client_secret,
                "refresh_token": refresh_token,
            }
        )
        if status != 200:
            raise OAuthError(str(body.get("error")), str(body.get("error_description") or ""))
        return TokenSet.from_json(body)
