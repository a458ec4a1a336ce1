"""Hostile requests over real HTTP: names, sizes, slow clients, huge or broken query strings and headers.

Each answer is a ``failure`` line (HTTP 200, as 1C expects) or an HTTP 4xx; no file appears outside
the package directories; the store the operator sees does not change.
"""

from __future__ import annotations

import asyncio
import base64
import time
from pathlib import Path

import pytest

from tests.hostile.support import (
    FAILURE,
    PASSWORD,
    USER,
    Hostile,
    hostile_server,
    request_bytes,
    split_response,
)

BAD_NAME = FAILURE + "Недопустимое имя файла"
BODY = b"<?xml version='1.0'?><a/>"

# (what goes on the wire after filename=, the start of the answer)
NAMES = [
    ("..%2Fescaped.xml", BAD_NAME),
    ("%2e%2e%2fescaped.xml", BAD_NAME),
    ("%2E%2E/%2E%2E/escaped.xml", BAD_NAME),
    ("..%5c..%5cescaped.xml", BAD_NAME),
    ("goods%2F..%2F..%2Fescaped.xml", BAD_NAME),
    ("%2Fetc%2Fescaped.xml", BAD_NAME),
    ("%2F%2Fserver%2Fshare%2Fescaped.xml", BAD_NAME),
    ("%5C%5Cserver%5Cshare%5Cescaped.xml", BAD_NAME),
    ("C%3A%5Cescaped.xml", BAD_NAME),
    ("c:escaped.xml", BAD_NAME),
    ("escaped.xml%00.jpg", BAD_NAME),
    ("escaped.xml%0a", BAD_NAME),
    ("%c0%ae%c0%ae%2fescaped.xml", BAD_NAME),  # overlong UTF-8 dots: not UTF-8 at all
    ("%e0%80%ae%e0%80%ae%2fescaped.xml", BAD_NAME),
    ("%ff%fe.xml", BAD_NAME),
    ("escaped.xml.", BAD_NAME),
    ("escaped.xml%20.", BAD_NAME),
    ("goods%2F%20%2Fescaped.xml", BAD_NAME),
    ("CON", BAD_NAME),
    ("nul.xml", BAD_NAME),
    ("goods%2FCOM1.xml", BAD_NAME),
    ("LPT9.txt", BAD_NAME),
    ("escaped.xml%3A%3A%24DATA", BAD_NAME),
    ("a" * 300 + ".xml", BAD_NAME),
    ("a%2F" * 40 + "escaped.xml", BAD_NAME),
    ("%2e%2e", BAD_NAME),
    ("%20", BAD_NAME),
    ("", FAILURE + "Не указано имя файла"),
    ("shell.php", BAD_NAME),
    (".htaccess", BAD_NAME),
]

# Names that look odd but are single, harmless names inside the package (kept there, not refused).
INSIDE = [
    "%252e%252e%252fescaped.xml",  # double encoding: decoded once, a literal "%2e%2e%2f..." name
    "%EF%BC%8E%EF%BC%8E%2Fescaped.xml",  # fullwidth full stops are not dots
    "%E2%80%A5%2Fescaped.xml",  # U+2025 two dot leader
    "%2Ftmp%2Fescaped.xml",  # a Linux 1C server's /tmp/ prefix is stripped (protocol.md §10.1)
]


async def close_quietly(writer: asyncio.StreamWriter) -> None:
    writer.close()
    try:
        await writer.wait_closed()
    except ConnectionError:  # the server cut the connection first: that is the point
        pass


async def send_file(hostile: Hostile, query_name: str, body: bytes = BODY) -> tuple[int, str]:
    node = await hostile.fresh()
    raw = await hostile.raw(
        request_bytes(f"type=catalog&mode=file&filename={query_name}", cookie=node.cookie, body=body)
    )
    return split_response(raw)


async def test_traversal_in_every_form(hostile: Hostile) -> None:
    before = await hostile.baseline()
    for query_name, expected in NAMES:
        status, text = await send_file(hostile, query_name)
        assert status == 200 and text.startswith(expected), (query_name, text)
    for query_name in INSIDE:
        status, text = await send_file(hostile, query_name)
        assert status == 200 and text.startswith("success"), (query_name, text)
    assert hostile.outside_packages() == []
    assert not [p for p in hostile.files() if p.name == "escaped.xml" and p.parent.name.startswith(".")]
    assert await hostile.store() == before


@pytest.mark.parametrize("name", ["\u2025/x.xml", "\uff0e\uff0e/x.xml", "a\u0000.xml"])
async def test_raw_non_ascii_in_the_request_line_is_a_400(hostile: Hostile, name: str) -> None:
    node = await hostile.fresh()
    raw = await hostile.raw(request_bytes(f"type=catalog&mode=file&filename={name}", cookie=node.cookie))
    status, _ = split_response(raw)
    assert status == 400
    assert hostile.outside_packages() == []


# --- sizes ---------------------------------------------------------------------------------------


async def test_content_length_over_the_limit_is_refused_before_the_body(hostile: Hostile) -> None:
    node = await hostile.fresh()
    head = request_bytes("type=catalog&mode=file&filename=big.xml", cookie=node.cookie)
    head = head.replace(b"Content-Length: 0", b"Content-Length: 99999999999")
    started = time.monotonic()
    status, text = split_response(await hostile.raw(head, wait=5))  # not a byte of the body is sent
    assert status == 200 and text.startswith(FAILURE + "Часть файла big.xml больше допустимого размера"), text
    assert time.monotonic() - started < 5
    assert not [p for p in hostile.files() if p.name == "big.xml"]


async def test_chunked_body_over_the_limit_leaves_no_partial_file(hostile: Hostile) -> None:
    before = await hostile.baseline()
    node = await hostile.fresh()
    size = hostile.settings.file_limit + 1024 * 1024 + 1
    head = request_bytes("type=catalog&mode=file&filename=big.xml", cookie=node.cookie)
    head = head.replace(b"Content-Length: 0\r\n", b"Transfer-Encoding: chunked\r\n")
    body = b"%x\r\n" % size + b"<" * size + b"\r\n0\r\n\r\n"
    status, text = split_response(await hostile.raw(head + body))
    assert status == 200 and text.startswith(FAILURE + "Часть файла big.xml больше допустимого размера"), text
    assert not [p for p in hostile.files() if p.name == "big.xml"]
    assert await hostile.store() == before


async def test_package_budget(sqlite_url: str, tmp_path: Path) -> None:
    async with hostile_server(tmp_path / "srv", sqlite_url, upload_max_bytes=600 * 1024) as hostile:
        before = await hostile.baseline()
        node = await hostile.fresh()
        chunk = b"<?xml version='1.0'?>" + b" " * (256 * 1024 - 21)
        for name in ("a.xml", "b.xml"):
            await node.upload("catalog", name, chunk)
        status, text = split_response(
            await hostile.raw(
                request_bytes("type=catalog&mode=file&filename=c.xml", cookie=node.cookie, body=chunk)
            )
        )
        assert status == 200 and text.startswith(
            FAILURE + "Пакет обмена превысил допустимый размер 614400"
        ), text
        sizes = {p.name: p.stat().st_size for p in hostile.files() if p.parent.name != "catalog"}
        assert "c.xml" not in sizes and sizes["a.xml"] == sizes["b.xml"] == len(chunk)
        assert await hostile.store() == before
        # A new package starts with the whole budget again.
        fresh = await hostile.fresh()
        await fresh.upload("catalog", "c.xml", chunk)


async def test_form_body_over_the_limit_is_a_413(hostile: Hostile) -> None:
    node = await hostile.fresh()
    raw = await hostile.raw(
        request_bytes(
            "type=catalog&mode=init",
            cookie=node.cookie,
            headers="Content-Type: application/x-www-form-urlencoded\r\n",
            body=b"a=" + b"x" * (2 * 1024 * 1024),
        )
    )
    assert split_response(raw)[0] == 413


# --- slow clients --------------------------------------------------------------------------------


async def test_slowloris_headers_are_cut_off(hostile: Hostile) -> None:
    reader, writer = await asyncio.open_connection(hostile.server.host, hostile.server.port)
    started = time.monotonic()
    closed_after: float | None = None
    try:
        writer.write(b"GET /1c_exchange?type=catalog&mode=checkauth HTTP/1.1\r\nHost: x\r\n")
        for _ in range(40):  # one header byte every 0.1 s, never the blank line
            await asyncio.sleep(0.1)
            if reader.at_eof():
                break
            writer.write(b"X")
            try:
                await writer.drain()
            except ConnectionError:
                break
        data = await asyncio.wait_for(reader.read(), 3)
        closed_after = time.monotonic() - started
    finally:
        await close_quietly(writer)
    assert data == b""  # closed without an answer
    assert closed_after is not None and closed_after < hostile.settings.read_timeout + 3


async def _slow_body(hostile: Hostile, *, trickle: bool) -> tuple[str, float]:
    node = await hostile.fresh()
    data = b"<?xml version='1.0'?>" + b"<a>" * 2000
    reader, writer = await asyncio.open_connection(hostile.server.host, hostile.server.port)
    started = time.monotonic()
    try:
        writer.write(
            request_bytes("type=catalog&mode=file&filename=slow.xml", cookie=node.cookie).replace(
                b"Content-Length: 0", b"Content-Length: %d" % len(data)
            )
            + data[:100]
        )
        await writer.drain()
        first = b""
        if trickle:  # then one byte every 0.05 s: never silent for read_timeout, but far too slow
            for byte in data[100:200]:
                try:  # wait 0.05 s for the answer; stop sending once it came
                    first = await asyncio.wait_for(reader.read(1), 0.05)
                    break
                except TimeoutError:
                    writer.write(bytes([byte]))
        raw = first + await asyncio.wait_for(reader.read(), 10)
    finally:
        await close_quietly(writer)
    return split_response(raw)[1], time.monotonic() - started


@pytest.mark.parametrize("trickle", [False, True], ids=["silent", "trickled"])
async def test_slow_body_is_cut_off_and_rolled_back(hostile: Hostile, trickle: bool) -> None:
    text, took = await _slow_body(hostile, trickle=trickle)
    assert text.startswith(FAILURE + "Файл slow.xml передаётся слишком медленно"), text
    assert took < hostile.settings.read_timeout + 4
    assert not [p for p in hostile.files() if p.name == "slow.xml"]
    # The server is free for the next client at once.
    node = await hostile.fresh()
    await node.upload("catalog", "ok.xml", BODY)


async def test_slow_form_body_is_cut_off(hostile: Hostile) -> None:
    node = await hostile.fresh()
    reader, writer = await asyncio.open_connection(hostile.server.host, hostile.server.port)
    try:
        writer.write(
            request_bytes(
                "type=catalog",
                cookie=node.cookie,
                headers="Content-Type: application/x-www-form-urlencoded\r\n",
            ).replace(b"Content-Length: 0", b"Content-Length: 100")
            + b"mode=ini"
        )
        await writer.drain()
        raw = await asyncio.wait_for(reader.read(), 10)
    finally:
        await close_quietly(writer)
    assert split_response(raw)[1].startswith(FAILURE + "Запрос передаётся слишком медленно"), raw


# --- query strings and headers -------------------------------------------------------------------


async def test_huge_query_string_and_headers_are_4xx_and_the_server_lives_on(hostile: Hostile) -> None:
    node = await hostile.fresh()
    cases = [
        request_bytes("type=catalog&mode=init&x=" + "a" * 100_000, cookie=node.cookie),
        request_bytes(
            "type=catalog&mode=init", cookie=node.cookie, headers="X-Big: " + "a" * 100_000 + "\r\n"
        ),
        request_bytes("type=catalog&mode=init", cookie="PHPSESSID=" + "a" * 20_000),
        request_bytes(
            "type=catalog&mode=init", cookie=node.cookie, headers="".join(f"X-{i}: a\r\n" for i in range(500))
        ),
    ]
    for request in cases:
        status, _ = split_response(await hostile.raw(request))
        assert 400 <= status < 500, status
    await node.init("catalog", None)  # the same session still works


def basic(raw: bytes) -> str:
    return "Authorization: Basic " + base64.b64encode(raw).decode() + "\r\n"


# (query, extra headers, the start of the answer); every case answers HTTP 200 with a failure line
PARAMETERS = [
    ("type=catalog&mode=init&version=" + "3" * 33, "", FAILURE + "Недопустимое значение параметра version"),
    ("type=catalog&mode=init&version=3%00", "", FAILURE + "Недопустимое значение параметра version"),
    ("type=catalog&mode=init&cmlVersion=%1b[2J", "", FAILURE + "Недопустимое значение параметра cmlVersion"),
    ("type=catalog&mode=%00init", "", FAILURE + "Неизвестная команда."),
    ("type=catalog%00&mode=init", "", FAILURE + "Unknown command type."),
    ("type=catalog&mode=checkauth", "Authorization: Basic \xff\xfe\r\n", FAILURE + "Ошибка авторизации"),
    ("type=catalog&mode=checkauth", basic(b"1c\x00:" + PASSWORD.encode()), FAILURE + "Ошибка авторизации"),
    ("type=catalog&mode=checkauth", basic(b"u" * 5000 + b":x"), FAILURE + "Ошибка авторизации"),
    (
        "type=catalog&mode=checkauth",
        basic(USER.encode() + b":" + b"\xff" * 10),
        FAILURE + "Ошибка авторизации",
    ),
    ("type=catalog&mode=checkauth", "Authorization: Digest x\r\n", FAILURE + "Ошибка авторизации"),
]


async def test_parameters_and_credentials(hostile: Hostile) -> None:
    for query, headers, expected in PARAMETERS:
        node = hostile.node()
        await node.checkauth("catalog")
        cookie = None if "checkauth" in query else node.cookie
        status, text = split_response(await hostile.raw(request_bytes(query, cookie=cookie, headers=headers)))
        assert status == 200 and text.startswith(expected), (query, text)
    assert (await hostile.store())[:2] == (0, 0)


async def test_garbage_timestamp_is_ignored(hostile: Hostile) -> None:
    node = hostile.node()
    await node.checkauth("catalog")
    for timestamp in ("%C2%B2", "9" * 5000, "-1", "1e9", "%D9%A3"):  # "²" and "٣" are str.isdigit()
        raw = await hostile.raw(
            request_bytes(f"type=catalog&mode=init&timestamp={timestamp}", cookie=node.cookie)
        )
        assert split_response(raw)[1].startswith("zip="), raw


async def test_control_characters_never_break_the_journal(database_url: str, tmp_path: Path) -> None:
    """On PostgreSQL a NUL in a stored text failed the request and left the session unpoisoned."""
    async with hostile_server(tmp_path / "srv", database_url) as hostile:
        node = hostile.node()
        await node.checkauth("catalog")
        # import before init: the failure names the file, NUL and all
        raw = await hostile.raw(
            request_bytes("type=catalog&mode=import&filename=a%00b.xml", cookie=node.cookie)
        )
        text = split_response(raw)[1]
        assert text.startswith(FAILURE + "Файл для импорта не найден: a\\x00b.xml"), text
        raw = await hostile.raw(request_bytes("type=catalog&mode=init", cookie=node.cookie))
        assert split_response(raw)[1].startswith(FAILURE + "Обмен прерван после ошибки"), raw  # poisoned
        fresh = await hostile.fresh()
        raw = await hostile.raw(
            request_bytes("type=catalog&mode=file&filename=x%00%1b.xml", cookie=fresh.cookie, body=BODY)
        )
        assert split_response(raw)[1].startswith(BAD_NAME), raw
        steps = []
        for item in (await hostile.api("/api/exchanges"))["items"]:
            steps += (await hostile.api(f"/api/exchanges/{item['id']}"))["steps"]
        journaled = {s["filename"] for s in steps if s["mode"] in ("import", "file")}
        assert {"a\\x00b.xml", "x\\x00\\x1b.xml"} <= journaled, journaled


async def test_no_mode_does_anything_without_credentials(hostile: Hostile) -> None:
    """Every type/mode with no cookie, a forged cookie or wrong Basic credentials: failure, nothing made."""
    files_before = hostile.files()
    sessions_before = (await hostile.api("/api/exchanges"))["total"]
    wrong = basic(USER.encode() + b":wrong-password")
    modes = ("init", "file", "import", "deactivate", "complete", "query", "success", "info")
    for kind in ("catalog", "sale"):
        for mode in modes:
            for cookie, headers in ((None, ""), ("PHPSESSID=forged-session-id-00000000", ""), (None, wrong)):
                query = f"type={kind}&mode={mode}&filename=import.xml"
                raw = await hostile.raw(request_bytes(query, cookie=cookie, headers=headers, body=BODY))
                status, text = split_response(raw)
                assert status == 200 and text.startswith(FAILURE), (kind, mode, cookie, headers, text)
    assert hostile.files() == files_before
    assert (await hostile.api("/api/exchanges"))["total"] == sessions_before
    assert await hostile.store() == (0, 0, [])
