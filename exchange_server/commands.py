"""Reading a 1C request: the command in its parameters, the Basic credentials. No I/O.

Lenient in what it accepts (protocol.md §1.1): a site address that already held ``?`` hides ``type``
in a key or a value; ``mode`` and ``type`` are case-insensitive; a garbage ``timestamp`` is ignored.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable, Sequence

from exchange_server.errors import (
    AUTH_FAILED,
    BAD_PARAMETER,
    UNKNOWN_MODE,
    UNKNOWN_TYPE,
    AuthError,
    RemoteProtocolError,
)
from exchange_server.protocol import Command, Kind, Mode

__all__ = ["decode_basic", "parse_command"]


def _find_type(params: Sequence[tuple[str, str]]) -> str | None:
    for key, value in params:
        if key == "type":
            return value
    # A site address that already holds '?' gives "...php?foo=bar?type=catalog&mode=..."
    # (protocol.md §1.1, §10.4 item 31): the type hides in a key or a value.
    for key, value in params:
        if key.endswith("?type"):
            return value
        _, sep, rest = value.partition("?type=")
        if sep:
            return rest
    return None


def _first(params: Sequence[tuple[str, str]], name: str) -> str | None:
    for key, value in params:
        if key == name:
            return value
    return None


MAX_VERSION_LENGTH = 32
"""``version``/``cmlVersion`` are short ("2.08", "3.1"); the journal keeps at most this many characters."""
MAX_TIMESTAMP_DIGITS = 18


def _version(params: Sequence[tuple[str, str]], name: str) -> str | None:
    value = (_first(params, name) or "").strip()
    if len(value) > MAX_VERSION_LENGTH or not value.isprintable():
        raise RemoteProtocolError(BAD_PARAMETER.format(name=name), detail=repr(value[:80]))
    return value or None


def _timestamp(raw: str | None) -> int | None:
    # Garbage is ignored (protocol.md §1.1); "²" is a digit to str.isdigit but not to int().
    value = (raw or "").strip()
    if value.isascii() and value.isdigit() and len(value) <= MAX_TIMESTAMP_DIGITS:
        return int(value)
    return None


def parse_command(params: Iterable[tuple[str, str]]) -> Command:
    """Build a :class:`Command` from the request parameters (query string merged with form fields).

    Args:
        params: decoded ``(key, value)`` pairs in request order.

    Returns:
        The command.

    Raises:
        RemoteProtocolError: the type or the mode is missing or unknown, or ``version``/``cmlVersion``
            is not a short printable text (``failure`` for 1C).
    """
    pairs = list(params)
    raw_type = (_find_type(pairs) or "").strip().lower()
    try:
        kind = Kind(raw_type)
    except ValueError:
        raise RemoteProtocolError(UNKNOWN_TYPE, detail=f"type={raw_type!r}") from None
    raw_mode = (_first(pairs, "mode") or "").strip().lower()
    try:
        mode = Mode(raw_mode)
    except ValueError:
        raise RemoteProtocolError(UNKNOWN_MODE, detail=f"mode={raw_mode!r}") from None
    return Command(
        kind=kind,
        mode=mode,
        filename=_first(pairs, "filename") or None,
        version=_version(pairs, "version"),
        cml_version=_version(pairs, "cmlVersion"),
        sessid=(_first(pairs, "sessid") or "").strip() or None,
        timestamp=_timestamp(_first(pairs, "timestamp")),
    )


def decode_basic(header: str | None) -> tuple[str, str] | None:
    """``Authorization: Basic ...`` as (login, password); None when the header is absent.

    1C sends UTF-8; a login in windows-1251 (older platforms) is accepted too.

    Raises:
        AuthError: the header is present but is not readable Basic credentials.
    """
    if not header:
        return None
    scheme, _, encoded = header.strip().partition(" ")
    if scheme.lower() != "basic":
        raise AuthError(AUTH_FAILED, detail=f"unsupported scheme {scheme!r}")
    try:
        raw = base64.b64decode(encoded.strip().encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError):
        raise AuthError(AUTH_FAILED, detail="bad base64 in Authorization") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("cp1251", "replace")
    login, sep, password = text.partition(":")
    if not sep:
        raise AuthError(AUTH_FAILED, detail="no ':' in Basic credentials")
    return login, password
