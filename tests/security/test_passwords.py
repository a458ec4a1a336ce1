"""Passwords are kept as scrypt hashes: the hash format, the checks, the settings, the generated password
file and ``cml-exchange hash-password``."""

from __future__ import annotations

import asyncio
import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import SecretStr, ValidationError

from exchange_server.app import make_app
from exchange_server.cli import main
from exchange_server.logins import LOGINS
from exchange_server.passwords import (
    DEFAULT_N,
    PasswordCheck,
    PasswordHash,
    hash_for_setting,
    hash_password,
    is_password_hash,
    verify_password,
)
from exchange_server.settings import (
    GENERATED_PASSWORD_FILE,
    Settings,
    ensure_passwords,
    with_hashed_passwords,
)

# --- the hash --------------------------------------------------------------------------------------


def test_hash_round_trip_and_format() -> None:
    encoded = hash_password("пароль 1С")
    assert encoded.startswith(f"scrypt${DEFAULT_N}$8$1$") and is_password_hash(encoded)
    assert verify_password("пароль 1С", encoded)
    assert not verify_password("пароль 1c", encoded)
    assert not verify_password("", encoded)
    assert hash_password("same") != hash_password("same")  # a random salt each time
    parsed = PasswordHash.parse(encoded)
    assert parsed.encode() == encoded
    assert "salt" not in repr(parsed) and parsed.encode().split("$")[4] not in repr(parsed)


@pytest.mark.parametrize(
    "text",
    [
        "scrypt$",
        "scrypt$16384$8$1$c2FsdA",
        "scrypt$16384$8$1$!!!$AAAAAAAAAAAAAAAAAAAAAA",
        "scrypt$16383$8$1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAA",  # n not a power of two
        "scrypt$1073741824$8$1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAA",  # 1 TiB of memory
        "scrypt$16384$8$1$AA$AAAAAAAAAAAAAAAAAAAAAA",  # salt too short
        "argon2$16384$8$1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAA",
    ],
)
def test_malformed_hashes_are_refused_clearly(text: str) -> None:
    with pytest.raises(ValueError) as caught:
        PasswordHash.parse(text)
    assert text.split("$", 1)[1] not in str(caught.value) or text == "scrypt$"
    assert not verify_password("x", text)


@given(st.text(max_size=80))
def test_parse_only_ever_raises_value_error(text: str) -> None:
    try:
        PasswordHash.parse("scrypt$" + text)
    except ValueError:
        pass


def test_hash_for_setting_keeps_hashes_and_hashes_plain_values_once() -> None:
    encoded = hash_password("kept")
    assert hash_for_setting(encoded) == encoded
    first = hash_for_setting("plain-value")
    assert is_password_hash(first) and verify_password("plain-value", first)
    assert hash_for_setting("plain-value") == first  # remembered per process, no second scrypt run
    with pytest.raises(ValueError):
        hash_for_setting("scrypt$broken")


# --- the check -------------------------------------------------------------------------------------


async def test_check_is_cached_per_login_and_password_and_expires() -> None:
    now = [1000.0]
    check = PasswordCheck("1c", hash_password("right"), remember_seconds=60, clock=lambda: now[0])
    assert await check.verify("1c", "right")
    for _ in range(200):  # one 1C exchange sending Basic on every request
        assert await check.verify("1c", "right")
    assert check.scrypt_runs == 1
    assert not await check.verify("1c", "wrong")
    assert not await check.verify("1C", "right")  # a wrong login still runs scrypt (same time)
    assert not await check.verify("1c", "wrong")  # failures are never remembered
    assert check.scrypt_runs == 4
    now[0] += 61
    assert await check.verify("1c", "right")
    assert check.scrypt_runs == 5
    assert "right" not in repr(check)


async def test_checks_run_off_the_event_loop() -> None:
    check = PasswordCheck("1c", hash_password("right"))
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.001)
            ticks += 1

    task = asyncio.create_task(ticker())
    try:
        results = await asyncio.gather(*(check.verify("1c", f"wrong-{i}") for i in range(4)))
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert results == [False] * 4
    assert ticks >= 4, "the loop kept running while scrypt worked in threads"


# --- settings --------------------------------------------------------------------------------------


def test_settings_take_a_hash_or_a_plain_password(tmp_path: Path) -> None:
    node_hash = hash_password("node-pw")
    settings = Settings(
        data_dir=tmp_path, exchange_password=SecretStr(node_hash), admin_password=SecretStr("admin-pw")
    )
    hashed = with_hashed_passwords(settings)
    assert hashed.exchange_password is not None and hashed.admin_password is not None
    assert hashed.exchange_password.get_secret_value() == node_hash
    assert verify_password("admin-pw", hashed.admin_password.get_secret_value())
    assert "admin-pw" not in hashed.admin_signing_secret
    assert with_hashed_passwords(hashed) is hashed
    # Two processes of one configuration sign admin sessions alike (the hash's salt is random).
    again = with_hashed_passwords(
        Settings(
            data_dir=tmp_path, exchange_password=SecretStr(node_hash), admin_password=SecretStr("admin-pw")
        )
    )
    assert again.admin_signing_secret == hashed.admin_signing_secret
    other = with_hashed_passwords(
        Settings(
            data_dir=tmp_path, exchange_password=SecretStr(node_hash), admin_password=SecretStr("changed")
        )
    )
    assert other.admin_signing_secret != hashed.admin_signing_secret


def test_the_application_keeps_only_hashes(tmp_path: Path) -> None:
    from exchange_server.admin import SETTINGS

    app = make_app(
        Settings(
            data_dir=tmp_path, exchange_password=SecretStr("node-pw"), admin_password=SecretStr("admin-pw")
        )
    )
    kept = app[SETTINGS]
    assert kept.exchange_password is not None and kept.admin_password is not None
    assert is_password_hash(kept.exchange_password.get_secret_value())
    assert is_password_hash(kept.admin_password.get_secret_value())
    dump = repr(kept.model_dump()) + str(kept.model_dump_json()) + repr(app[LOGINS].__dict__)
    assert "node-pw" not in dump and "admin-pw" not in dump


def test_a_malformed_hash_or_a_secret_never_appears_in_a_settings_error(tmp_path: Path) -> None:
    with pytest.raises(ValidationError) as caught:
        Settings(data_dir=tmp_path, admin_password=SecretStr("scrypt$hunter2"))
    assert "hunter2" not in str(caught.value) and "scrypt$n$r$p$salt$key" in str(caught.value)
    with pytest.raises(ValidationError) as bad_url:
        Settings(b24_webhook_url=SecretStr("ftp://portal.example/rest/1/hooksecret0123/"))
    assert "hooksecret0123" not in str(bad_url.value)
    with pytest.raises(ValidationError) as bad_proxy:
        Settings(trusted_proxies="10.0.0.1, not-an-address")
    assert "not-an-address" in str(bad_proxy.value)


# --- the generated password ------------------------------------------------------------------------


def test_generated_password_file_holds_only_the_hash(tmp_path: Path) -> None:
    settings, printed = ensure_passwords(Settings(data_dir=tmp_path))
    assert printed is not None
    path = tmp_path / GENERATED_PASSWORD_FILE
    text = path.read_text(encoding="utf-8")
    assert printed not in text and is_password_hash(text.strip()) and verify_password(printed, text.strip())
    assert path.stat().st_mode & 0o077 == 0
    assert (
        settings.exchange_password is not None
        and settings.exchange_password.get_secret_value() == text.strip()
    )
    again, nothing = ensure_passwords(Settings(data_dir=tmp_path))
    assert nothing is None and again.admin_password is not None
    assert again.admin_password.get_secret_value() == text.strip()
    assert not list(tmp_path.glob("*.tmp"))


def test_an_old_plaintext_password_file_is_migrated_to_its_hash(tmp_path: Path) -> None:
    path = tmp_path / GENERATED_PASSWORD_FILE
    path.write_text("old-plain-password\n", encoding="utf-8")
    os.chmod(path, 0o644)
    settings, printed = ensure_passwords(Settings(data_dir=tmp_path))
    assert printed is None  # the password is unchanged: 1C nodes keep working
    text = path.read_text(encoding="utf-8").strip()
    assert "old-plain-password" not in text and verify_password("old-plain-password", text)
    assert path.stat().st_mode & 0o077 == 0
    assert settings.exchange_password is not None and settings.exchange_password.get_secret_value() == text


def test_a_corrupt_password_file_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / GENERATED_PASSWORD_FILE).write_text("scrypt$garbage\n", encoding="utf-8")
    with pytest.raises(ValueError, match="delete the file"):
        ensure_passwords(Settings(data_dir=tmp_path))


# --- cml-exchange hash-password --------------------------------------------------------------------


def test_hash_password_command_reads_stdin(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO("s3cret pass\n"))
    assert main(["hash-password"]) == 0
    out = capsys.readouterr().out.strip()
    assert verify_password("s3cret pass", out) and "s3cret" not in out
    monkeypatch.setattr(sys, "stdin", io.StringIO("\n"))
    assert main(["hash-password"]) == 2
    monkeypatch.setattr(sys, "stdin", io.StringIO(out + "\n"))
    assert main(["hash-password"]) == 2
    assert "already a hash" in capsys.readouterr().err


def test_hash_password_command_as_a_process_and_the_hash_as_a_setting(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "exchange_server", "hash-password"],
        input="from-a-pipe\n",
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    encoded = done.stdout.strip()
    assert verify_password("from-a-pipe", encoded)
    env = {**os.environ, "CML_EXCHANGE_PASSWORD": encoded}
    probe = (
        "from exchange_server.settings import Settings; s = Settings(); "
        "print(s.exchange_password.get_secret_value() == __import__('os').environ['CML_EXCHANGE_PASSWORD'])"
    )
    check = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=60)
    assert check.stdout.strip() == "True", check.stderr
