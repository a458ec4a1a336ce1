"""Fuzzing the request parser: query strings, Basic credentials, cookies and file names (atheris script).

    python -m tests.fuzz.fuzz_request [-runs=N] [-max_total_time=SECONDS] [CORPUS_DIR ...]

One input is a raw query string (decoded by yarl exactly as aiohttp decodes ``request.query``), an
``Authorization`` value, a ``Cookie`` header (parsed by aiohttp itself) and a name for the upload
checks. The only exceptions allowed out of the parser are the typed ones (:class:`ExchangeError`);
a file name that is accepted must stay a short relative UTF-8 path inside the package directory.
Anything else is a crash: atheris stops and saves the input. Without atheris the script says so and
exits 2; ``tests/hostile/test_fuzz_properties.py`` runs :func:`feed` under Hypothesis in CI.
"""

from __future__ import annotations

import sys
from pathlib import PurePosixPath

from aiohttp.test_utils import make_mocked_request
from multidict import CIMultiDict
from yarl import URL

from exchange_server.commands import decode_basic, parse_command
from exchange_server.errors import ExchangeError
from exchange_server.uploads import MAX_NAME_BYTES, MAX_PATH_BYTES, MAX_PATH_DEPTH, safe_relative_name
from tests.fuzz.bytes_source import ByteSource

SEEDS: tuple[bytes, ...] = (
    b"type=catalog&mode=checkauth",
    b"type=catalog&mode=file&filename=import0_1.xml",
    b"type=sale&mode=init&version=3.1&sessid=abc",
    b"a=b?type=catalog&mode=import&filename=goods%2F1%2Fimport___x.xml",
    b"type=catalog&mode=file&filename=..%2F..%2Fetc%2Fpasswd",
    b"type=catalog&mode=init&timestamp=%C2%B2",
    b"type=catalog&mode=file&filename=%c0%ae%c0%ae%2Fx.xml",
)


def check_name(raw: str) -> None:
    """An accepted name is a short, relative UTF-8 path that cannot leave the package directory."""
    try:
        name = safe_relative_name(raw)
    except ExchangeError:
        return
    text = str(name)
    assert not name.is_absolute() and ".." not in name.parts, text
    assert "\\" not in text and ":" not in text and "\x00" not in text, text
    assert len(name.parts) <= MAX_PATH_DEPTH and len(text.encode("utf-8")) <= MAX_PATH_BYTES, text
    assert all(len(part.encode("utf-8")) <= MAX_NAME_BYTES for part in name.parts), text
    assert (PurePosixPath("/srv/package") / name).is_relative_to("/srv/package"), text


def feed(data: bytes) -> None:
    """Parse one fuzzed request; only ExchangeError may escape, and accepted names are checked."""
    source = ByteSource(data)
    query = source.raw(256).decode("latin-1")
    authorization = source.text(96)
    cookie = source.text(96)
    # 1. the query string, decoded as aiohttp does it
    params = list(URL.build(path="/1c_exchange", query_string=query, encoded=True).query.items())
    try:
        command = parse_command(params)
    except ExchangeError:
        command = None
    if command is not None:
        assert command.version is None or (len(command.version) <= 32 and command.version.isprintable())
        assert command.timestamp is None or command.timestamp >= 0
        if command.filename:
            check_name(command.filename)
    # 2. Basic credentials
    try:
        decode_basic(authorization)
    except ExchangeError:
        pass
    # 3. the cookie header, parsed by aiohttp (a str header may hold any code point < 256)
    headers = CIMultiDict({"Cookie": cookie.encode("latin-1", "replace").decode("latin-1")})
    request = make_mocked_request("GET", "/1c_exchange", headers=headers)
    for value in request.cookies.values():
        assert isinstance(value, str)
    # 4. names straight from the bytes (what a form field or a zip entry could hold)
    check_name(source.text(300))


def main() -> int:
    try:
        import atheris
    except ImportError:
        print("atheris is not installed (pip install atheris); the Hypothesis tests cover the parser")
        return 2
    from tests.fuzz.fuzz_reader import run_atheris

    return run_atheris(atheris, feed, SEEDS)


if __name__ == "__main__":
    sys.exit(main())
