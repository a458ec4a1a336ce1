"""Settings (environment, TOML, generated password) and the serve/replay commands as an operator runs them."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from pydantic import SecretStr, ValidationError

from exchange_server.cli import main
from exchange_server.passwords import verify_password
from exchange_server.settings import GENERATED_PASSWORD_FILE, Settings, ensure_passwords
from tests.exchange_server.conftest import real_fixture


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for key in list(os.environ):
        if key.startswith("CML_"):
            monkeypatch.delenv(key)
    yield


def test_defaults(clean_env: None) -> None:
    settings = Settings()
    assert settings.data_dir == Path("cml-data")
    assert settings.step_seconds == 20
    assert settings.zip is True
    assert settings.exchange_password is None
    url = settings.effective_database_url
    assert url.startswith("sqlite+aiosqlite:///") and url.endswith("cml-data/cml-exchange.sqlite3")


def test_environment_beats_toml(clean_env: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "cml.toml"
    config.write_text('file_limit = 1000\nstep_seconds = 9\nexchange_user = "node"\nzip = false\n')
    monkeypatch.setenv("CML_STEP_SECONDS", "5")
    monkeypatch.setenv("CML_DATABASE_URL", "postgresql+asyncpg://u@h/db")
    settings = Settings.load(config)
    assert (settings.file_limit, settings.step_seconds, settings.exchange_user, settings.zip) == (1000, 5, "node", False)
    assert settings.effective_database_url == "postgresql+asyncpg://u@h/db"


def test_bad_settings_are_refused(clean_env: None, tmp_path: Path) -> None:
    config = tmp_path / "cml.toml"
    config.write_text("step_secnds = 9\n")  # a typo is an error, not ignored
    with pytest.raises(ValidationError):
        Settings.load(config)
    with pytest.raises(ValidationError):
        Settings(step_seconds=0)
    with pytest.raises(FileNotFoundError):
        Settings.load(tmp_path / "missing.toml")


def test_generated_password_is_made_once(clean_env: None, tmp_path: Path) -> None:
    first, printed = ensure_passwords(Settings(data_dir=tmp_path))
    assert printed and first.exchange_password and first.admin_password
    stored = first.exchange_password.get_secret_value()  # only the hash is kept (tests/security has more)
    assert stored == first.admin_password.get_secret_value() and verify_password(printed, stored)
    assert (tmp_path / GENERATED_PASSWORD_FILE).stat().st_mode & 0o077 == 0
    again, printed_again = ensure_passwords(Settings(data_dir=tmp_path))
    assert printed_again is None
    assert again.exchange_password and again.exchange_password.get_secret_value() == stored
    own, nothing = ensure_passwords(
        Settings(data_dir=tmp_path / "x", exchange_password=SecretStr("a"), admin_password=SecretStr("b"))
    )
    assert nothing is None and not (tmp_path / "x").exists()


@contextmanager
def serving(cwd: Path) -> Iterator[subprocess.Popen[str]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CML_")}
    command = [sys.executable, "-m", "exchange_server", "serve", "--port", "0"]
    with subprocess.Popen(
        command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    ) as server:
        try:
            yield server
        finally:
            server.terminate()
            server.wait(timeout=30)


def test_serve_without_settings_then_replay(clean_env: None, tmp_path: Path) -> None:
    """Zero configuration: SQLite in ./cml-data, a password printed once; the replay command uses it."""
    with serving(tmp_path) as server:
        assert server.stdout is not None
        banner = server.stdout.readline()
        assert banner.startswith("Generated password")
        password = banner.split(": ", 1)[1].strip()
        lines = [server.stdout.readline() for _ in range(2)]
        url = lines[-1].strip().rsplit(" ", 1)[-1]
        assert url.startswith("http://127.0.0.1:") and url.endswith("/1c_exchange")
        assert (tmp_path / "cml-data" / "cml-exchange.sqlite3").is_file()
        files = [
            str(real_fixture("bigperson__exchange1c/tests__xml__import.xml")),
            str(real_fixture("bigperson__exchange1c/tests__xml__offers.xml")),
        ]
        login = ["--url", url, "--user", "1c", "--password", password]
        assert main(["replay", *files, *login, "--zip"]) == 0
        assert main(["replay", *files, "--url", url, "--user", "1c", "--password", "bad"]) == 1
        out = tmp_path / "orders.xml"
        assert main(["replay", "--sale-query", *login, "--output", str(out)]) == 0
        assert out.read_bytes().startswith(b'<?xml version="1.0" encoding="windows-1251"?>')
        orders = str(real_fixture("irpsv__commerceml/tests__assets__off-doc-1c__orders.xml"))
        assert main(["replay", "--sale-upload", orders, *login, "--version", "3.1"]) == 0
        assert main(["replay", *login]) == 2
    # A second start reuses the stored password and prints none.
    with serving(tmp_path) as server:
        assert server.stdout is not None
        assert "listening on" in server.stdout.readline()


def test_serve_refuses_a_bad_config(clean_env: None, tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text("file_limit = -1\n")
    assert main(["serve", "--config", str(config)]) == 2
