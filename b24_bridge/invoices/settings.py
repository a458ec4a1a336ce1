"""Settings of the invoice sync: environment variables ``CML_B24_*`` (read with the server's settings).

Kept in their own class so the server's ``Settings`` stays closed (``extra="forbid"``); the names are
the contract: ``CML_B24_WEBHOOK_URL`` (shared with the goods push), ``CML_B24_INVOICE_API``
(``smart`` | ``legacy``), ``CML_B24_APPLICATION_TOKEN`` (checked on every event),
``CML_B24_POLL_SECONDS`` (the safety-net poll, default 60), ``CML_B24_STATUS_MAP_FILE`` (JSON status
map loaded into the database when it holds none), ``CML_B24_REQUIRE_REQUISITES`` (only companies with
an ИНН go to 1C), ``CML_B24_CREATE_FROM_1C`` (orders created in 1C create invoices),
``CML_B24_NUMBER_PREFIX`` (prefix of the order number 1C sees).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
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

    @property
    def enabled(self) -> bool:
        return bool(self.webhook_url)
