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
password for the 1C node and the operator, printed once (:func:`ensure_passwords`); only its scrypt
hash is kept.

Passwords: ``exchange_password`` and ``admin_password`` take either a plain password or its hash
``scrypt$...`` printed by ``cml-exchange hash-password`` (recommended: the configuration then holds
no password). A plain value is hashed once when the application is built (:func:`with_hashed_passwords`)
and only the hash stays in the settings the server uses.
"""

from __future__ import annotations

import hashlib
import ipaddress
import logging
import os
import secrets
from pathlib import Path
from typing import Annotated, Any, Final, Literal

from pydantic import Field, PrivateAttr, SecretStr, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from b24_bridge.sync.mapping import MappingConfig
from exchange_server.passwords import PasswordHash, hash_for_setting, hash_password, is_password_hash

__all__ = ["GENERATED_PASSWORD_FILE", "Settings", "ensure_passwords", "with_hashed_passwords"]

log = logging.getLogger(__name__)

GENERATED_PASSWORD_FILE: Final = "generated-password.txt"
SQLITE_FILE: Final = "cml-exchange.sqlite3"


class Settings(BaseSettings):
    """Every setting of the exchange server (``CML_<NAME>`` in the environment)."""

    # hide_input_in_errors: a refused value may be a password or a webhook URL with its secret.
    model_config = SettingsConfigDict(
        env_prefix="CML_", extra="forbid", frozen=True, hide_input_in_errors=True
    )

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
        default=None,
        description="Password the 1C node sends, plain or its hash scrypt$... (cml-exchange hash-password); "
        "generated when unset.",
    )
    admin_user: str = Field(
        default="admin", min_length=1, description="Operator login for /api, the /admin pages and /metrics."
    )
    admin_password: SecretStr | None = Field(
        default=None,
        description="Operator password (/api, /admin, /metrics), plain or its hash scrypt$...; "
        "the generated password when unset.",
    )
    file_limit: int = Field(
        default=50 * 1024 * 1024,
        gt=0,
        le=2 * 1024**3,
        description="Largest chunk (bytes) 1C may send in one mode=file request (init's file_limit).",
    )
    keep_packages_days: float = Field(
        default=14.0,
        ge=0,
        description="Package folders still for this many days are removed (0: keep them all); failed "
        "ones only once a later exchange of the same type succeeded.",
    )
    keep_packages_last: int = Field(
        default=10, ge=0, description="The newest package folders of each exchange type always kept."
    )
    zip: bool = Field(default=True, description="Offer zip=yes at init (1C then sends archives).")
    step_seconds: float = Field(
        default=20.0,
        gt=0,
        le=120,
        description="Longest time one mode=import request waits before answering progress.",
    )
    sqlite_import_transaction_seconds: float = Field(
        default=2.0,
        ge=0,
        le=60,
        description="SQLite only: how long one import transaction stays open for more batches before it "
        "commits (fewer, larger commits write far less; any other request waits at most about this "
        "long behind an import). 0: a transaction per batch of 2,000 rows.",
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
    login_max_failures: int = Field(
        default=5,
        ge=0,
        le=1000,
        description="Failed logins of one login from one client address before that pair is locked out "
        "(1C, /api, admin); 0: never.",
    )
    login_lockout_seconds: float = Field(
        default=300.0,
        gt=0,
        le=86400,
        description="How long a lockout lasts; failures older than this are forgotten.",
    )
    trusted_proxies: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Reverse proxies (IP addresses or networks, comma-separated) whose X-Forwarded-For "
        "header names the client; from any other peer the header is ignored.",
    )
    https: bool = Field(
        default=False,
        description="Clients reach the server over HTTPS (TLS at a reverse proxy): cookies get Secure and "
        "responses Strict-Transport-Security.",
    )
    session_ttl_seconds: int = Field(
        default=24 * 3600,
        ge=60,
        description="A 1C exchange session unused this long expires: its cookie then answers like no "
        "session.",
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

    _admin_signing_secret: str | None = PrivateAttr(default=None)

    @field_validator("exchange_password", "admin_password")
    @classmethod
    def _password_hash(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and is_password_hash(value.get_secret_value()):
            PasswordHash.parse(value.get_secret_value())  # ValueError: a clear message, never the value
        return value

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _split_proxies(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _proxy_networks(cls, value: list[str]) -> list[str]:
        out = []
        for item in value:
            try:
                out.append(str(ipaddress.ip_network(item.strip(), strict=False)))
            except ValueError:
                raise ValueError(f"not an IP address or network: {item!r}") from None
        return out

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

    @property
    def admin_signing_secret(self) -> str:
        """What the admin session cookies and CSRF tokens are signed with.

        Derived from the operator password as configured: its hash as written, or (for a plain value
        replaced by :func:`with_hashed_passwords`) a SHA-256 of it, so every process of one configuration
        signs alike and changing the password logs every browser out.
        """
        if self._admin_signing_secret is not None:
            return self._admin_signing_secret
        return self.admin_password.get_secret_value() if self.admin_password else ""


def with_hashed_passwords(settings: Settings) -> Settings:
    """The settings with every plain password replaced by its scrypt hash (hashes are kept as they are).

    Raises:
        ValueError: a ``scrypt$`` value is not a valid hash.
    """
    updates: dict[str, SecretStr] = {}
    for name in ("exchange_password", "admin_password"):
        value: SecretStr | None = getattr(settings, name)
        if value is not None and not is_password_hash(value.get_secret_value()):
            updates[name] = SecretStr(hash_for_setting(value.get_secret_value()))
    if not updates:
        return settings
    secret = settings.admin_signing_secret
    if "admin_password" in updates and settings._admin_signing_secret is None:
        secret = "sha256:" + hashlib.sha256(b"cml-exchange admin signing\x00" + secret.encode()).hexdigest()
    hashed = settings.model_copy(update=updates)
    hashed._admin_signing_secret = secret
    return hashed


def _write_private(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` atomically, readable by the owner only."""
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(text)
        out.flush()
        os.fsync(out.fileno())
    os.replace(tmp, path)


def ensure_passwords(settings: Settings) -> tuple[Settings, str | None]:
    """Fill unset passwords with one generated password, kept in the data directory.

    The password is generated on the first start, returned to be printed once, and only its scrypt hash
    is stored in ``<data_dir>/generated-password.txt`` (mode 0600); later starts reuse the hash. A file
    of an older version holding the plain password is rewritten with its hash (the password stays the
    same).

    Returns:
        The settings with both passwords set (the generated one as its hash), and the password to print
        when it was generated just now (None when nothing was generated).

    Raises:
        ValueError: the file holds a malformed ``scrypt$`` hash (delete it to generate a new password).
    """
    if settings.exchange_password is not None and settings.admin_password is not None:
        return settings, None
    path = settings.data_dir / GENERATED_PASSWORD_FILE
    fresh: str | None = None
    text = path.read_text(encoding="utf-8").strip() if path.is_file() else ""
    if is_password_hash(text):
        try:
            stored = PasswordHash.parse(text).encode()
        except ValueError as exc:
            raise ValueError(f"{path}: {exc}; delete the file to generate a new password") from None
    elif text:
        stored = hash_password(text)
        _write_private(path, stored + "\n")
        log.warning("%s held the generated password in plain text; it now holds only its hash", path)
    else:
        fresh = secrets.token_urlsafe(18)
        stored = hash_password(fresh)
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        _write_private(path, stored + "\n")
    secret = SecretStr(stored)
    updated = settings.model_copy(
        update={
            "exchange_password": settings.exchange_password or secret,
            "admin_password": settings.admin_password or secret,
        }
    )
    return updated, fresh
