"""Acceptance: every failure path of issue 3, over real HTTP, on SQLite and PostgreSQL.

Each test drives the server as a 1C node would (the replay client or raw requests) and then checks
two things: 1C got a ``failure`` line with a reason, and the store lost nothing and gained nothing.
"""

from __future__ import annotations

import asyncio
import io
import zipfile
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from exchange_server.errors import AUTH_FAILED, NO_SESSION, UNKNOWN_MODE
from exchange_server.protocol import session_id_for
from exchange_server.replay import ExchangeFailed, ReplayNode, replay_catalog
from tests.exchange_server.conftest import real_fixture
from tests.exchange_server.e2e_support import (
    FIXTURE_SETS,
    PASSWORD,
    USER,
    Live,
    all_products,
    check_catalog,
    expected_catalog,
    live_server,
    settings_for,
)

SETS = {s.id: s for s in FIXTURE_SETS}


def files_under(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()]


def files_of(set_id: str) -> list[tuple[str, Path]]:
    return [(name, real_fixture(local)) for name, local in SETS[set_id].files]


@pytest.fixture
async def live(database_url: str, tmp_path: Path) -> Any:
    async with live_server(settings_for(tmp_path / "data", database_url)) as running:
        yield running


async def snapshot(live: Live) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Every product of the listing and the detail of each (the whole visible store)."""
    listing = sorted(await all_products(live), key=lambda p: p["id"])
    details = [await live.api(f"/api/products/{p['id']}") for p in listing]
    return listing, details


async def baseline(live: Live) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    await replay_catalog(live.node(), files_of("bigperson"))
    return await snapshot(live)


async def expect_failure(node_call: Any, *fragments: str) -> str:
    with pytest.raises(ExchangeFailed) as info:
        await node_call
    text = str(info.value)
    for fragment in fragments:
        assert fragment in text, text
    return text


async def test_bad_password(live: Live) -> None:
    node = ReplayNode(live.http, live.url, USER, "not-the-password", report=lambda _l: None)
    await expect_failure(node.checkauth("catalog"), AUTH_FAILED)
    node = ReplayNode(live.http, live.url, "intruder", PASSWORD, report=lambda _l: None)
    await expect_failure(node.checkauth("sale"), AUTH_FAILED)
    steps = (await live.api("/api/exchanges"))["items"]
    assert steps == []  # no session was created


async def test_no_session(live: Live) -> None:
    node = live.node()
    await expect_failure(node.init("catalog", None), NO_SESSION)
    node.cookie = "PHPSESSID=forged-session-id-000000000"
    await expect_failure(node.text("catalog", "import", {"filename": "import.xml"}), NO_SESSION)


async def test_unknown_mode(live: Live) -> None:
    node = live.node()
    await node.checkauth("catalog")
    await expect_failure(node.text("catalog", "launch"), UNKNOWN_MODE)
    await expect_failure(node.text("reference", "init"), "Unknown command type.")


async def test_import_before_upload(live: Live) -> None:
    before = await baseline(live)
    node = live.node()
    await node.checkauth("catalog")
    await node.init("catalog", None)
    await expect_failure(node.import_file("catalog", "import.xml"), "import.xml", "не найден")
    assert await snapshot(live) == before


@pytest.mark.parametrize("name", ["../../import.xml", "/etc/cron.d/x.xml", "D:\\1c\\import.xml", "s.phtml"])
async def test_traversal_names(live: Live, name: str, tmp_path: Path) -> None:
    node = live.node()
    await node.checkauth("catalog")
    await node.init("catalog", None)
    await expect_failure(node.upload("catalog", name, b"<?xml version='1.0'?><x/>"), "Недопустимое имя файла")
    data_dir = tmp_path / "data"
    outside = [
        p for p in files_under(tmp_path) if not p.is_relative_to(data_dir) and not p.name.startswith("cml.db")
    ]
    assert outside == []


async def test_truncated_xml_keeps_the_store(live: Live) -> None:
    before = await baseline(live)
    data = real_fixture(SETS["bigperson"].files[0][1]).read_bytes()
    node = live.node()
    await node.checkauth("catalog")
    await node.init("catalog", None)
    await node.upload("catalog", "import.xml", data[: int(len(data) * 0.6)])
    await expect_failure(node.import_file("catalog", "import.xml"), "failure\nОшибка импорта файла import.xml")
    assert await snapshot(live) == before
    journal = (await live.api("/api/exchanges"))["items"][0]
    assert journal["outcome"] == "failure" and "import.xml" in journal["error"]


async def test_xxe_does_not_leak(live: Live, tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-VALUE")
    xml = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<!DOCTYPE КоммерческаяИнформация [<!ENTITY xxe SYSTEM "file://{secret}">]>\n'
        '<КоммерческаяИнформация ВерсияСхемы="2.08"><Каталог><Ид>c</Ид><Наименование>c</Наименование>'
        "<Товары><Товар><Ид>p1</Ид><Наименование>&xxe;</Наименование></Товар></Товары>"
        "</Каталог></КоммерческаяИнформация>"
    ).encode()
    node = live.node()
    await node.checkauth("catalog")
    await node.init("catalog", None)
    await node.upload("catalog", "import.xml", xml)
    answer = await expect_failure(node.import_file("catalog", "import.xml"), "failure\n")
    assert "TOP-SECRET" not in answer
    listing = await all_products(live)
    assert all("TOP-SECRET" not in str(p) for p in listing)


def _zip(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()


async def test_zip_bomb(live: Live, tmp_path: Path) -> None:
    before = await baseline(live)
    bomb = _zip({"import.xml": b"<?xml version='1.0'?>" + b" " * (64 * 1024 * 1024)})
    assert len(bomb) < 200 * 1024  # 64 MiB inflated from a tiny archive
    node = live.node()
    await node.checkauth("catalog")
    await node.init("catalog", None)
    await node.upload("catalog", "v8_bomb.zip", bomb)
    await expect_failure(node.import_file("catalog", "import.xml"), "failure\nАрхив v8_bomb.zip отклонён")
    (archive,) = (tmp_path / "data").rglob("v8_bomb.zip")
    assert [p.name for p in archive.parent.iterdir()] == ["v8_bomb.zip"]
    assert await snapshot(live) == before


async def test_zip_slip(live: Live, tmp_path: Path) -> None:
    evil = _zip({"import.xml": b"<?xml version='1.0'?><x/>", "../../../../escaped.xml": b"owned"})
    node = live.node()
    await node.checkauth("catalog")
    await node.init("catalog", None)
    await node.upload("catalog", "v8_slip.zip", evil)
    await expect_failure(node.import_file("catalog", "import.xml"), "failure\nАрхив v8_slip.zip отклонён")
    assert not [p for p in files_under(tmp_path) if p.name == "escaped.xml"]


async def _cut_upload(live: Live, cookie: str, name: str, data: bytes, announced: int) -> None:
    """Send a mode=file request whose body stops short of its Content-Length, then hang up."""
    reader, writer = await asyncio.open_connection(live.server.host, live.server.port)
    head = (
        f"POST /1c_exchange?type=catalog&mode=file&filename={name} HTTP/1.1\r\n"
        f"Host: {live.server.host}\r\nCookie: {cookie}\r\nContent-Type: application/octet-stream\r\n"
        f"Content-Length: {announced}\r\n\r\n"
    ).encode()
    writer.write(head + data)
    await writer.drain()
    await asyncio.sleep(0.3)  # the server is now waiting for the rest of the body
    writer.close()
    await writer.wait_closed()
    del reader


async def test_interrupted_upload_then_new_init(live: Live, tmp_path: Path) -> None:
    files = files_of("bigperson")
    data = files[0][1].read_bytes()
    node = live.node()
    await node.checkauth("catalog")
    await node.init("catalog", None)
    await _cut_upload(live, node.cookie or "", "import.xml", data[:3000], announced=len(data))
    # The server noticed the cut and journaled it; the half file was rolled back.
    session_id = session_id_for((node.cookie or "=").split("=", 1)[1])  # the journal keys by a digest
    for _ in range(100):
        steps = (await live.api(f"/api/exchanges/{session_id}"))["steps"]
        if any(s["mode"] == "file" for s in steps):
            break
        await asyncio.sleep(0.05)
    assert [s["status"] for s in steps if s["mode"] == "file"] == ["interrupted"]
    assert not [p for p in (tmp_path / "data").rglob("import.xml") if p.stat().st_size]
    # 1C starts over with a new init (same session) and sends everything again.
    await node.init("catalog", None)
    for name, path in files:
        await node.upload("catalog", name, path.read_bytes())
    for name, _ in files:
        assert (await node.import_file("catalog", name)).startswith("success")
    await check_catalog(live, [path for _, path in files])
    packages = (await live.api("/api/exchanges"))["items"][0]["packages"]
    assert [p["state"] for p in packages] == ["superseded", "imported"]


async def test_same_package_twice_changes_nothing(live: Live) -> None:
    files = files_of("kremenchuk-erp")
    await replay_catalog(live.node(), files, use_zip=True)
    first = await snapshot(live)
    await replay_catalog(live.node(), files)
    assert await snapshot(live) == first
    await check_catalog(live, [path for _, path in files])


async def test_two_nodes_at_once(live: Live) -> None:
    first, second = files_of("1coutlet"), files_of("cs-cart")
    await asyncio.gather(
        replay_catalog(live.node(), first, use_zip=True),
        replay_catalog(live.node(), second),
    )
    listing = await all_products(live)
    expected = set(expected_catalog([p for _, p in first])[0]) | set(expected_catalog([p for _, p in second])[0])
    assert {p["id"] for p in listing} == expected
    sessions = (await live.api("/api/exchanges"))["items"]
    assert len(sessions) == 2 and all(s["outcome"] == "success" for s in sessions)
    assert sessions[0]["packages"][0]["id"] != sessions[1]["packages"][0]["id"]


async def test_interleaved_sessions_of_the_same_user_do_not_mix(live: Live) -> None:
    a, b = live.node(), live.node()
    await a.checkauth("catalog")
    await b.checkauth("catalog")
    await a.init("catalog", None)
    await b.init("catalog", None)
    files = files_of("bigperson")
    await a.upload("catalog", files[0][0], files[0][1].read_bytes())
    # b never uploaded import.xml: its package is separate, so its import must fail.
    await expect_failure(b.import_file("catalog", files[0][0]), "import.xml")
    assert (await a.import_file("catalog", files[0][0])).startswith("success")


async def test_http_errors_never_leak_html(live: Live) -> None:
    url = live.server.make_url("/1c_exchange")
    async with live.http.post(url, params={"type": "catalog", "mode": "file"}, data=b"x") as response:
        assert response.status == 200
        assert (await response.read()).startswith(b"failure\n")
    async with aiohttp.ClientSession() as fresh:
        async with fresh.get(url) as response:
            assert response.status == 200
            assert (await response.read()).decode("cp1251") == "failure\nUnknown command type."
