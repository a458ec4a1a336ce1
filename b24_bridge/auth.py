"""OAuth application credentials: the current token set, single-flight refresh, rotation persisted first.

No network of its own: the refresh goes through an injected :class:`b24_bridge.transport.TokenEndpoint`.
Bitrix24 rotates the refresh token on every refresh and invalidates the old one, so two concurrent
refreshes with one refresh token make the loser fail with ``invalid_grant`` (bitrix24.md §1.3, §7.1).
Here every task that saw ``expired_token`` asks for a refresh of the token *it* used; the first one
refreshes, the others find the token already replaced and just retry.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from b24_bridge.transport import TokenEndpoint, TokenSet

__all__ = ["OAuthSession", "TokenSaver"]

TokenSaver = Callable[[TokenSet], Awaitable[None]]


class OAuthSession:
    """Holds the tokens of one OAuth application installation.

    Args:
        tokens: the current token set (from the install event or storage).
        endpoint: the OAuth server's token endpoint.
        on_refresh: awaited with the new token set *before* it is used, so a crash cannot lose the
            rotated refresh token.
    """

    def __init__(
        self, tokens: TokenSet, endpoint: TokenEndpoint, *, on_refresh: TokenSaver | None = None
    ) -> None:
        self.tokens = tokens
        self._endpoint = endpoint
        self._on_refresh = on_refresh
        self._lock: asyncio.Lock | None = None
        self.refreshes = 0

    @property
    def access_token(self) -> str:
        return self.tokens.access_token

    async def refresh(self, stale_access_token: str) -> TokenSet:
        """Replace ``stale_access_token`` unless another task already did.

        Raises:
            OAuthError: the OAuth server refused the refresh token (``invalid_grant``, ...).
        """
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            if self.tokens.access_token != stale_access_token:
                return self.tokens
            fresh = await self._endpoint.refresh(self.tokens.refresh_token)
            if self._on_refresh is not None:
                await self._on_refresh(fresh)
            self.tokens = fresh
            self.refreshes += 1
            return fresh
