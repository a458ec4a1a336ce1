"""Which portal the bridge talks to, from the settings: an incoming webhook or an OAuth application.

Validation runs when the settings are built (``cml-exchange serve`` refuses to start on a half-done
configuration); :func:`open_client` builds the client at run time. Neither set: the bridge is idle.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Final, Protocol

from b24_bridge.auth import TokenSaver
from b24_bridge.ratelimit import Limits
from b24_bridge.transport import TokenEndpoint, TokenSet, parse_webhook_url

if TYPE_CHECKING:
    from pydantic import SecretStr

    from b24_bridge.client import B24Client

__all__ = [
    "IDLE_MESSAGE",
    "PortalSettings",
    "SharedTokenFile",
    "check_portal_settings",
    "check_webhook_url",
    "describe",
    "open_client",
]

IDLE_MESSAGE: Final = (
    "Bitrix24 bridge idle: no portal configured (set CML_B24_WEBHOOK_URL, or the CML_B24_OAUTH_* settings)"
)
TOKENS_FILE: Final = "b24-oauth-tokens.json"
PLANS: Final = ("standard", "enterprise", "box")


class PortalSettings(Protocol):
    @property
    def b24_webhook_url(self) -> SecretStr | None: ...
    @property
    def b24_oauth_client_id(self) -> str | None: ...
    @property
    def b24_oauth_client_secret(self) -> SecretStr | None: ...
    @property
    def b24_oauth_refresh_token(self) -> SecretStr | None: ...
    @property
    def b24_oauth_portal_url(self) -> str | None: ...
    @property
    def b24_oauth_server_url(self) -> str: ...
    @property
    def b24_plan(self) -> str: ...
    @property
    def data_dir(self) -> Path: ...


def check_webhook_url(url: str) -> None:
    """Raises: ValueError naming what is wrong with the webhook URL."""
    try:
        parse_webhook_url(url)
    except ValueError as exc:
        raise ValueError(
            f"CML_B24_WEBHOOK_URL: {exc} (expected https://<portal>/rest/<user>/<code>/)"
        ) from exc


def check_portal_settings(settings: PortalSettings) -> None:
    """Raises: ValueError for a half-done OAuth configuration, both kinds at once, an unknown plan."""
    if settings.b24_plan not in PLANS:
        raise ValueError(f"b24_plan must be one of {', '.join(PLANS)}, got {settings.b24_plan!r}")
    oauth = {
        "CML_B24_OAUTH_CLIENT_ID": settings.b24_oauth_client_id,
        "CML_B24_OAUTH_CLIENT_SECRET": settings.b24_oauth_client_secret,
        "CML_B24_OAUTH_REFRESH_TOKEN": settings.b24_oauth_refresh_token,
        "CML_B24_OAUTH_PORTAL_URL": settings.b24_oauth_portal_url,
    }
    given = [k for k, v in oauth.items() if v is not None]
    if given and len(given) < len(oauth):
        missing = [k for k in oauth if k not in given]
        raise ValueError(
            f"OAuth settings incomplete: {', '.join(missing)} missing (given: {', '.join(given)})"
        )
    if given and settings.b24_webhook_url is not None:
        raise ValueError("set either CML_B24_WEBHOOK_URL or the CML_B24_OAUTH_* settings, not both")


def describe(settings: PortalSettings) -> str | None:
    """``webhook https://host`` / ``oauth https://host`` (no secrets), or None when no portal is set."""
    from urllib.parse import urlsplit

    if settings.b24_webhook_url is not None:
        host = urlsplit(settings.b24_webhook_url.get_secret_value()).netloc
        return f"webhook {host}"
    if settings.b24_oauth_portal_url is not None:
        return f"oauth {urlsplit(settings.b24_oauth_portal_url).netloc}"
    return None


_FILE_LOCKS: dict[Path, asyncio.Lock] = {}


class SharedTokenFile:
    """A token endpoint shared through the tokens file by every client of this process.

    The goods push and the invoice sync each open a client on the same OAuth installation. Bitrix24
    rotates the refresh token on every refresh, so the second client refreshing with the token the
    first one already used would get ``invalid_grant``. Here a refresh first re-reads the file under
    a lock per file: when it holds a newer refresh token, those tokens are taken instead.
    """

    def __init__(self, inner: TokenEndpoint, path: Path, save: TokenSaver) -> None:
        self.inner = inner
        self.path = path
        self.save = save

    async def refresh(self, refresh_token: str) -> TokenSet:
        lock = _FILE_LOCKS.setdefault(self.path.resolve(), asyncio.Lock())
        async with lock:
            if self.path.is_file():
                saved = TokenSet.from_json(json.loads(self.path.read_text(encoding="utf-8")))
                if saved.access_token and saved.refresh_token != refresh_token:
                    return saved
            fresh = await self.inner.refresh(refresh_token)
            await self.save(fresh)  # before the lock is released: the next one reads it
            return fresh


@asynccontextmanager
async def open_client(settings: PortalSettings) -> AsyncIterator[B24Client | None]:
    """A client of the configured portal inside its own aiohttp session; ``None`` when none is set."""
    import aiohttp

    from b24_bridge.client import B24Client

    limits = Limits.for_plan(settings.b24_plan)
    async with aiohttp.ClientSession() as http:
        if settings.b24_webhook_url is not None:
            yield B24Client.for_webhook(http, settings.b24_webhook_url.get_secret_value(), limits=limits)
            return
        if settings.b24_oauth_client_id is None or settings.b24_oauth_client_secret is None:
            yield None
            return
        store = settings.data_dir / TOKENS_FILE
        refresh = (
            settings.b24_oauth_refresh_token.get_secret_value() if settings.b24_oauth_refresh_token else ""
        )
        if store.is_file():
            tokens = TokenSet.from_json(json.loads(store.read_text(encoding="utf-8")))
        else:
            tokens = TokenSet("", refresh, 0.0, settings.b24_oauth_portal_url or "")

        async def save(new: TokenSet) -> None:
            settings.data_dir.mkdir(parents=True, exist_ok=True)
            payload = {
                "access_token": new.access_token,
                "refresh_token": new.refresh_token,
                "expires": new.expires,
                "client_endpoint": new.client_endpoint or settings.b24_oauth_portal_url,
            }
            temp = store.with_suffix(".tmp")
            temp.write_text(json.dumps(payload), encoding="utf-8")
            temp.chmod(0o600)
            temp.replace(store)

        from b24_bridge.auth import OAuthSession
        from b24_bridge.http import AiohttpTokenEndpoint, AiohttpTransport

        endpoint = AiohttpTokenEndpoint(
            http,
            settings.b24_oauth_client_id,
            settings.b24_oauth_client_secret.get_secret_value(),
            url=settings.b24_oauth_server_url,
        )
        oauth = OAuthSession(tokens, SharedTokenFile(endpoint, store, save), on_refresh=save)
        client = B24Client(AiohttpTransport(http, tokens.client_endpoint), oauth=oauth, limits=limits)
        if client.oauth is not None and not tokens.access_token:
            await client.oauth.refresh("")
        yield client
