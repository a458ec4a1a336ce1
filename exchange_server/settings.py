"""Configuration of the exchange server: environment variables ``CML_*``, an optional TOML file, defaults.

Not a singleton: build :class:`Settings` once (``Settings.load(config_file)`` in ``cml-exchange serve``)
and pass it to ``make_app(settings)``. Precedence, highest first: explicit arguments, environment
variables, the TOML file, the defaults below.

The TOML file uses the field names (lower case, without the ``CML_`` prefix)::

    database_url = "postgresql+asyncpg://exchange@127.0.0.1/exchange"
    data_dir = "/var/lib/cml-exchange"
    exchange_user = "1c"
    exchange_password = "s3cret"
    file_limit = 52428800
    step_seconds = 20

With no settings at all the server runs on a SQLite file in the data directory and generates one
password for the 1C node and the operator, printed once (:func:`ensure_passwords`).
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Final, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from b24_bridge.sync.mapping import MappingConfig

__all__ = ["GENERATED_PASSWORD_FILE", "Settings", "ensure_passwords"]

GENERATED_PASSWORD_FILE: Final = "generated-password.txt"
SQLITE_FILE: Final = "cml-exchange.sqlite3"


class Settings(BaseSettings):
    """Every setting of the exchange server (``CML_<NAME>`` in the environment)."""

    model_config = SettingsConfigDict(env_prefix="CML_", extra="forbid", frozen=True)

    data_dir: Path = Field(
        default=Path("./cml-data"),
        description="Directory of uploaded packages (and of the default SQLite database).",
    )
    database_url: str | None = Field(
        default=None,
        description="sqlite+aiosqlite:///path or postgresql+asyncpg://user@host/db; "
        f"default: a SQLite file '{SQLITE_FILE}' in the data directory.",
    )
    exchange_user: str = Field(default="1c", min_length=1, description="Login the 1C node sends.")
    exchange_password: SecretStr | None = Field(
        default=None, description="Password the 1C node sends; generated when unset."
    )
    admin_user: str = Field(
        default="admin", min_length=1, description="Operator login for /api, the /admin pages and /metrics."
    )
    admin_password: SecretStr | None = Field(
        default=None,
        description="Operator password (/api, /admin, /metrics); the generated password when unset.",
    )
    file_limit: int = Field(
        default=50 * 1024 * 1024,
        gt=0,
        le=2 * 1024**3,
        description="Largest chunk (bytes) 1C may send in one mode=file request (init's file_limit).",
    )
    zip: bool = Field(default=True, description="Offer zip=yes at init (1C then sends archives).")
    step_seconds: float = Field(
        default=20.0,
        gt=0,
        le=120,
        description="Longest time one mode=import request waits before answering progress.",
    )
    unzip_max_bytes: int = Field(
        default=16 * 1024**3, gt=0, description="Largest total uncompressed size of one archive."
    )
    unzip_max_files: int = Field(
        default=200_000, gt=0, description="Most files one archive may hold (a zip bomb by entry count)."
    )
    upload_max_bytes: int = Field(
        default=16 * 1024**3,
        gt=0,
        description="Largest total size of the files 1C uploads into one package (every chunk of every "
        "file, archives as sent); a chunk that does not fit is refused with failure.",
    )
    read_timeout: float = Field(
        default=60.0,
        gt=0,
        le=3600,
        description="Seconds a client may take to send the headers of a request, and may stay silent "
        "while sending its body (slow clients are cut off).",
    )
    log_format: Literal["text", "json"] = Field(
        default="text", description="Log lines as plain text or as one JSON object per line."
    )
    metrics_public: bool = Field(
        default=False,
        description="Serve GET /metrics without the operator credentials (else HTTP Basic as for /api).",
    )
    # --- Bitrix24 bridge (b24_bridge.sync): without a portal the bridge stays idle ---
    b24_webhook_url: SecretStr | None = Field(
        default=None, description="Incoming webhook URL https://<portal>/rest/<user>/<code>/."
    )
    b24_oauth_client_id: str | None = Field(default=None, description="OAuth application client_id.")
    b24_oauth_client_secret: SecretStr | None = Field(default=None, description="OAuth client_secret.")
    b24_oauth_refresh_token: SecretStr | None = Field(
        default=None, description="Initial refresh token (rotated ones are kept in the data directory)."
    )
    b24_oauth_portal_url: str | None = Field(
        default=None, description="REST endpoint of the OAuth installation, https://<portal>/rest/."
    )
    b24_oauth_server_url: str = Field(
        default="https://oauth.bitrix.info/oauth/token/", description="OAuth token endpoint."
    )
    b24_plan: str = Field(default="standard", description="Portal limits: standard, enterprise or box.")
    b24: MappingConfig = Field(default_factory=MappingConfig, description="The [b24] mapping table.")

    @field_validator("b24_webhook_url")
    @classmethod
    def _b24_webhook(cls, value: SecretStr | None) -> SecretStr | None:
        from b24_bridge.sync.access import check_webhook_url

        if value is not None:
            check_webhook_url(value.get_secret_value())
        return value

    @model_validator(mode="after")
    def _b24_portal(self) -> Settings:
        from b24_bridge.sync.access import check_portal_settings

        check_portal_settings(self)
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        toml_file = settings_cls.model_config.get("toml_file")
        if toml_file:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=toml_file))
        return tuple(sources)

    @classmethod
    def load(cls, config_file: Path | None = None, **overrides: object) -> Settings:
        """Read the environment and, when given, a TOML file.

        Raises:
            FileNotFoundError: ``config_file`` does not exist.
            pydantic.ValidationError: a value is invalid or a key unknown (typos are errors).
        """
        if config_file is None:
            return cls(**overrides)  # type: ignore[arg-type]
        if not config_file.is_file():
            raise FileNotFoundError(f"configuration file not found: {config_file}")
        with_file = type(
            "Settings",
            (cls,),
            {"model_config": SettingsConfigDict(**{**cls.model_config, "toml_file": config_file})},
        )
        return with_file(**overrides)  # type: ignore[no-any-return]

    @property
    def effective_database_url(self) -> str:
        """The database URL, defaulting to a SQLite file in the data directory."""
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / SQLITE_FILE).resolve()}"

    @property
    def packages_dir(self) -> Path:
        return self.data_dir / "packages"


def ensure_passwords(settings: Settings) -> tuple[Settings, str | None]:
    """Fill unset passwords with one generated password, kept in the data directory.

    The password is generated on the first start and stored in ``<data_dir>/generated-password.txt``
    (mode 0600); later starts reuse it.

    Returns:
        The settings with both passwords set, and the password to print when it was generated just
        now (None when nothing was generated).
    """
    if settings.exchange_password is not None and settings.admin_password is not None:
        return settings, None
    path = settings.data_dir / GENERATED_PASSWORD_FILE
    fresh: str | None = None
    if path.is_file() and path.read_text(encoding="utf-8").strip():
        password = path.read_text(encoding="utf-8").strip()
    else:
        password = fresh = secrets.token_urlsafe(18)
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_text(password + "\n", encoding="utf-8")
    secret = SecretStr(password)
    updated = settings.model_copy(
        update={
            "exchange_password": settings.exchange_password or secret,
            "admin_password": settings.admin_password or secret,
        }
    )
    return updated, fresh
