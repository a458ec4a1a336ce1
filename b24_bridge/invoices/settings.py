"""Settings of the invoice sync: environment variables ``CML_B24_*`` (read with the server's settings).

Kept in their own class so the server's ``Settings`` stays closed (``extra="forbid"``); the names are
the contract: ``CML_B24_WEBHOOK_URL`` (shared with the goods push), ``CML_B24_INVOICE_API``
(``smart`` | ``legacy``), ``CML_B24_APPLICATION_TOKEN`` (checked on every event),
``CML_B24_POLL_SECONDS`` (the safety-net poll, default 60), ``CML_B24_STATUS_MAP_FILE`` (JSON status
map loaded into the database when it holds none), ``CML_B24_REQUIRE_REQUISITES`` (only companies with
an ИНН go to 1C), ``CML_B24_CREATE_FROM_1C`` (orders created in 1C create invoices),
``CML_B24_NUMBER_PREFIX`` (prefix of the order number 1C sees), ``CML_B24_PUBLIC_URL`` and
``CML_B24_BIND_EVENTS`` (event handlers bound at start with an OAuth application),
``CML_B24_ARTICLE_PROPERTY`` (the product field with the article, for products not from 1C).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["InvoiceSettings"]


class InvoiceSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CML_B24_", extra="ignore", frozen=True)

    webhook_url: str | None = Field(
        default=None, description="Incoming webhook of the portal (the same variable as the goods push)."
    )
    invoice_api: Literal["smart", "legacy"] = Field(
        default="smart", description="Smart invoices (crm.item, entityTypeId 31) or legacy crm.invoice."
    )
    application_token: SecretStr | None = Field(
        default=None, description="The portal's application_token; every event must carry it."
    )
    poll_seconds: float = Field(
        default=60.0, gt=0, le=3600, description="Safety-net poll of changed invoices (seconds)."
    )
    status_map_file: Path | None = Field(
        default=None, description="JSON status map loaded into the database when it holds none."
    )
    require_requisites: bool = Field(default=True, description="Only companies with an ИНН go to 1C.")
    create_from_1c: bool = Field(default=True, description="Orders created in 1C create invoices.")
    number_prefix: str = Field(default="", description="Prefix of the order number 1C sees.")
    public_url: str | None = Field(
        default=None,
        description="Public base URL of this server as the portal reaches it (https://host); with an OAuth "
        "application the invoice events are bound to <public_url>/b24/events at start.",
    )
    bind_events: bool = Field(
        default=True, description="Bind the invoice events with event.bind at start (OAuth application only)."
    )
    article_property: str | None = Field(
        default=None,
        description="Product field holding the article (PROPERTY_N or propertyN), for products without a "
        "1C Ид; default: the goods push's [b24] article_property.",
    )

    @field_validator("public_url")
    @classmethod
    def _public_url(cls, value: str | None) -> str | None:
        from b24_bridge.invoices.binding import handler_url

        if value:
            handler_url(value)
        return value or None

    @property
    def enabled(self) -> bool:
        return bool(self.webhook_url)
