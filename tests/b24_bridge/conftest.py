"""Fixtures of the Bitrix24 tests: one fake portal, one client, two transports.

Every contract test runs twice (aiohttp's parser-fixture pattern, STYLE.md §2.4): in-process and over
real HTTP against the fake portal's aiohttp app. Portal and client share a ``ManualClock`` whose
``sleep`` advances time, so the leaky bucket, backoff and operating pauses never wait for real
(tests that use it drive the client from a single task).
"""

from __future__ import annotations

import random
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from b24_bridge import B24Client, LeakyBucket, Limits, ManualClock, OAuthSession, RetryPolicy, TokenSet
from b24_bridge.fake import FakePortal, InProcessTokenEndpoint, InProcessTransport, PortalConfig
from b24_bridge.fake.app import make_portal_app
from b24_bridge.http import AiohttpTokenEndpoint, AiohttpTransport
from b24_bridge.transport import TokenEndpoint, Transport

TRANSPORTS = ("in-process", "http")


@dataclass
class Harness:
    """A portal, its clock, and a way to build clients on either transport."""

    kind: str
    portal: FakePortal
    clock: ManualClock
    server: TestServer | None = None
    session: aiohttp.ClientSession | None = None
    tokens_saved: list[TokenSet] = field(default_factory=list)

    def base(self, path: str) -> str:
        if self.server is None:
            return f"https://{self.portal.config.domain}{path}"
        return str(self.server.make_url(path))

    def transport(self, path: str | None = None, *, timeout: float = 5.0) -> Transport:
        url = self.base(path or self.portal.webhook_path())
        if self.kind == "in-process":
            return InProcessTransport(self.portal, url, timeout=timeout, clock=self.clock)
        assert self.session is not None
        return AiohttpTransport(self.session, url, timeout=timeout)

    def client(
        self,
        *,
        limits: Limits | None = None,
        bucket: Any = "fresh",
        path: str | None = None,
        oauth: OAuthSession | None = None,
        timeout: float = 5.0,
        **kwargs: Any,
    ) -> B24Client:
        limits = limits or Limits()
        if bucket == "fresh":
            bucket = LeakyBucket.from_limits(limits)
        return B24Client(
            self.transport(path, timeout=timeout),
            limits=limits,
            bucket=bucket,
            clock=self.clock,
            rng=random.Random(7),
            oauth=oauth,
            retry=kwargs.pop("retry", RetryPolicy()),
            **kwargs,
        )

    def token_endpoint(self, client_id: str, secret: str) -> TokenEndpoint:
        if self.kind == "in-process":
            return InProcessTokenEndpoint(self.portal, client_id, secret)
        assert self.session is not None
        return AiohttpTokenEndpoint(self.session, client_id, secret, url=self.base("/oauth/token/"))

    def oauth_client(self, **kwargs: Any) -> tuple[B24Client, OAuthSession]:
        app = self.portal.apps.get("local.fake0001") or self.portal.register_app("local.fake0001", "secret")
        tokens = TokenSet.from_json(self.portal.install_app(app.client_id))

        async def save(new: TokenSet) -> None:
            self.tokens_saved.append(new)

        session = OAuthSession(tokens, self.token_endpoint(app.client_id, app.client_secret), on_refresh=save)
        return self.client(path="/rest/", oauth=session, **kwargs), session


PortalFactory = Callable[..., FakePortal]


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def portal_config() -> PortalConfig:
    return PortalConfig()


@pytest.fixture
def portal(portal_config: PortalConfig, clock: ManualClock) -> FakePortal:
    return FakePortal(portal_config, now=clock.now)


@pytest.fixture(params=TRANSPORTS)
async def harness(
    request: pytest.FixtureRequest, portal: FakePortal, clock: ManualClock
) -> AsyncIterator[Harness]:
    if request.param == "in-process":
        yield Harness("in-process", portal, clock)
        return
    server = TestServer(make_portal_app(portal, deliver_events=False))
    await server.start_server()
    async with aiohttp.ClientSession() as session:
        yield Harness("http", portal, clock, server, session)
    await server.close()


@pytest.fixture
def client(harness: Harness) -> B24Client:
    return harness.client()
