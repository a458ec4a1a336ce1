"""The /1c_exchange endpoint over HTTP (aiohttp_client) on SQLite and PostgreSQL: every mode and refusal."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import zipfile
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from lxml import etree
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import async_sessionmaker

from commerceml.model import Document
from exchange_server.app import make_app
from exchange_server.db.engine import make_engine
from exchange_server.errors import AUTH_FAILED, NO_SESSION, SESSION_POISONED, UNKNOWN_MODE, UNKNOWN_TYPE
from exchange_server.handlers import EXCHANGE
from exchange_server.settings import Settings
from exchange_server.store import orders as order_store
from tests.exchange_server.conftest import real_fixture
from tests.exchange_server.exchange_client import Node, basic

BIGPERSON_IMPORT = "bigperson__exchange1c/tests__xml__import.xml"
BIGPERSON_OFFERS = "bigperson__exchange1c/tests__xml__offers.xml"
ADMIN = {"Authorization": basic("admin", "adminpw")}


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        database_url=database_url,
        exchange_password=SecretStr("secret"),
        admin_password=SecretStr("adminpw"),
        file_limit=4096,
        step_seconds=5,
    )


@pytest.fixture
async def client(aiohttp_client: Any, settings: Settings) -> TestClient[Any, Any]:
    result: TestClient[Any, Any] = await aiohttp_client(make_app(settings))
    return result


async def api(client: TestClient[Any, Any], path: str) -> Any:
    response = await client.get(path, headers=ADMIN)
    assert response.status == 200, await response.text()
    return await response.json()


# --- checkauth and sessions ---------------------------------------------------------------------


async def test_checkauth_catalog_answer_is_bitrix_exact(client: TestClient[Any, Any]) -> None:
    node = Node(client)
    body, headers = await node.raw("catalog", "checkauth", auth=True, cookie=False)
    lines = body.decode("cp1251").split("\n")
    assert lines[0] == "success" and lines[1] == "PHPSESSID"
    assert len(lines[2]) >= 20 and lines[3].startswith("sessid=") and lines[4].startswith("timestamp=")
    assert lines[5] == "" and len(lines) == 6
    assert headers["Content-Type"] == "text/html; charset=windows-1251"
    assert headers["Pragma"] == "no-cache"


@pytest.mark.parametrize("password", ["wrong", ""])
async def test_bad_password_is_a_failure_line(client: TestClient[Any, Any], password: str) -> None:
    node = Node(client, password=password)
    assert await node.call("catalog", "checkauth", auth=True) == f"failure\n{AUTH_FAILED}"
    assert await Node(client).call("catalog", "checkauth") == f"failure\n{AUTH_FAILED}"
    stranger = Node(client, user="other")
    assert await stranger.call("catalog", "checkauth", auth=True) == f"failure\n{AUTH_FAILED}"


async def test_no_session_and_unknown_session(client: TestClient[Any, Any]) -> None:
    node = Node(client)
    assert await node.call("catalog", "init") == f"failure\n{NO_SESSION}"
    node.cookie = "PHPSESSID=" + "x" * 32
    assert await node.call("catalog", "init") == f"failure\n{NO_SESSION}"


async def test_unknown_type_and_mode(client: TestClient[Any, Any]) -> None:
    node = Node(client)
    await node.checkauth()
    assert await node.call("catalog", "dance") == f"failure\n{UNKNOWN_MODE}"
    assert await node.call("listen", "init") == f"failure\n{UNKNOWN_TYPE}"
    assert (await node.call("catalog", "init")).startswith("zip=")  # the session survived


async def test_basic_auth_without_cookie_finds_the_session(client: TestClient[Any, Any]) -> None:
    node = Node(client)
    await node.checkauth()
    node.cookie = None
    assert await node.call("catalog", "init", auth=True) == "zip=yes\nfile_limit=4096"
    node.password = "wrong"
    assert await node.call("catalog", "init", auth=True) == f"failure\n{AUTH_FAILED}"


async def test_wrong_sessid_poisons_the_session(client: TestClient[Any, Any]) -> None:
    node = Node(client)
    lines = await node.checkauth()
    sessid = lines[3].split("=", 1)[1]
    assert (await node.call("catalog", "init", sessid=sessid, version="3.1")).startswith("zip=")
    assert (await node.call("catalog", "init", sessid="0" * 32)).startswith("failure\n")
    assert await node.call("catalog", "init", sessid=sessid) == f"failure\n{SESSION_POISONED}"
    await node.checkauth()  # a new checkauth starts afresh
    assert (await node.call("catalog", "init")).startswith("zip=")


async def test_alias_path_and_post_form_parameters(client: TestClient[Any, Any]) -> None:
    node = Node(client, path="/bitrix/admin/1c_exchange.php")
    await node.checkauth("sale")
    response = await client.post(
        "/bitrix/admin/1c_exchange.php",
        data={"type": "sale", "mode": "init"},
        headers={"Cookie": node.cookie or ""},
    )
    assert await response.text() == "zip=yes\nfile_limit=4096\n"


# --- catalog -------------------------------------------------------------------------------------


async def test_classic_catalog_exchange_chunked(client: TestClient[Any, Any]) -> None:
    node = Node(client)
    await node.checkauth()
    assert await node.init() == "zip=yes\nfile_limit=4096"
    await node.upload_file("catalog", "import.xml", real_fixture(BIGPERSON_IMPORT))
    await node.upload_file("catalog", "offers.xml", real_fixture(BIGPERSON_OFFERS))
    # The upload kept a running sha256 of each file (no second read of it when its import starts).
    exchange = client.server.app[EXCHANGE]
    uploaded = {p.name: p for p in (exchange.settings.packages_dir / "catalog").rglob("*.xml")}
    assert exchange.digests.hexdigest(uploaded["import.xml"]) == (
        hashlib.sha256(real_fixture(BIGPERSON_IMPORT).read_bytes()).hexdigest(),
        real_fixture(BIGPERSON_IMPORT).stat().st_size,
    )
    for name in ("import.xml", "offers.xml"):
        text, _ = await node.import_until_done("catalog", name)
        assert text == "success\nИмпорт успешно завершен."
    products = await api(client, "/api/products")
    assert products["total"] == 2

    journal = await api(client, "/api/exchanges")
    session = journal["items"][0]
    files = {f["name"]: f for f in session["packages"][0]["files"]}
    assert files["import.xml"]["size"] == real_fixture(BIGPERSON_IMPORT).stat().st_size
    assert files["import.xml"]["chunks"] > 1
    assert files["import.xml"]["import_state"] == "done"
    assert files["import.xml"]["sha256"] == hashlib.sha256(real_fixture(BIGPERSON_IMPORT).read_bytes()).hexdigest()
    started = files["import.xml"]["import_started_at"]

    # 1C repeating the import after success: success again, nothing redone.
    assert await node.call("catalog", "import", filename="import.xml") == "success\nИмпорт успешно завершен."
    again = await api(client, "/api/exchanges")
    files = {f["name"]: f for f in again["items"][0]["packages"][0]["files"]}
    assert files["import.xml"]["import_started_at"] == started

    detail = await api(client, f"/api/exchanges/{session['id']}")
    modes = [s["mode"] for s in detail["steps"]]
    assert modes[:2] == ["checkauth", "init"] and "import" in modes
    assert all(s["status"] in ("success", "progress", "init") for s in detail["steps"])


async def test_3_1_flow_with_zip_subfolders_deactivate_complete(client: TestClient[Any, Any]) -> None:
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.write(real_fixture(BIGPERSON_IMPORT), "goods/1/import___a.xml")
        zf.write(real_fixture(BIGPERSON_OFFERS), "goods/1/offers___b.xml")
    node = Node(client)
    lines = await node.checkauth()
    sessid = lines[3].split("=", 1)[1]
    await node.init(sessid=sessid, version="3.1")
    await node.upload("catalog", "v8_2FF7_128.zip", archive.getvalue())
    for name in ("goods/1/import___a.xml", "goods/1/offers___b.xml"):
        text, _ = await node.import_until_done("catalog", name)
        assert text == "success\nИмпорт успешно завершен.", text
    timestamp = lines[4].split("=", 1)[1]
    deactivated = await node.call("catalog", "deactivate", timestamp=timestamp)
    assert deactivated == "success\nДеактивация элементов завершена."
    assert await node.call("catalog", "complete") == "success\nЗавершение процедуры импорта"
    product = (await api(client, "/api/products"))["items"][0]
    detail = await api(client, f"/api/products/{product['id']}")
    assert detail["offers"] and detail["offers"][0]["prices"]
    journal = (await api(client, "/api/exchanges"))["items"][0]
    assert journal["state"] == "done" and journal["outcome"] == "success"
    assert journal["packages"][0]["state"] == "completed"


async def test_import_before_upload_fails_and_poisons(client: TestClient[Any, Any]) -> None:
    node = Node(client)
    await node.checkauth()
    await node.init()
    text = await node.call("catalog", "import", filename="import.xml")
    assert text.startswith("failure\n") and "import.xml" in text
    assert await node.call("catalog", "init") == f"failure\n{SESSION_POISONED}"


async def test_import_of_a_file_never_uploaded_fails(client: TestClient[Any, Any]) -> None:
    node = Node(client)
    await node.checkauth()
    await node.init()
    await node.upload_file("catalog", "import.xml", real_fixture(BIGPERSON_IMPORT))
    text = await node.call("catalog", "import", filename="offers.xml")
    assert text.startswith("failure\n") and "offers.xml" in text


@pytest.mark.parametrize("name", ["../import.xml", "/etc/passwd", "C:\\import.xml", "a.php", "x\x00.xml"])
async def test_traversal_names_are_refused(
    client: TestClient[Any, Any], settings: Settings, name: str
) -> None:
    node = Node(client)
    await node.checkauth()
    await node.init()
    text = await node.call("catalog", "file", data=b"<?xml version='1.0'?><a/>", filename=name)
    assert text.startswith("failure\nНедопустимое имя файла")
    written = [p for p in settings.data_dir.rglob("*") if p.is_file() and p.suffix != ".sqlite3"]
    assert written == []


async def test_truncated_xml_fails_with_reason(client: TestClient[Any, Any]) -> None:
    node = Node(client)
    await node.checkauth()
    await node.init()
    data = real_fixture(BIGPERSON_IMPORT).read_bytes()
    await node.upload("catalog", "import.xml", data[: len(data) // 2])
    text, _ = await node.import_until_done("catalog", "import.xml")
    assert text.startswith("failure\nОшибка импорта файла import.xml")
    journal = (await api(client, "/api/exchanges"))["items"][0]
    assert journal["outcome"] == "failure"
    assert journal["packages"][0]["files"][0]["import_state"] == "failed"


async def test_xxe_is_refused(client: TestClient[Any, Any], tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    xml = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<!DOCTYPE x [<!ENTITY xxe SYSTEM "file://{secret}">]>\n'
        '<КоммерческаяИнформация ВерсияСхемы="2.08"><Каталог><Ид>1</Ид><Наименование>&xxe;</Наименование>'
        "<Товары/></Каталог></КоммерческаяИнформация>"
    ).encode()
    node = Node(client)
    await node.checkauth()
    await node.init()
    await node.upload("catalog", "import.xml", xml)
    text, _ = await node.import_until_done("catalog", "import.xml")
    assert text.startswith("failure\n") and "TOP-SECRET" not in text


async def test_zip_bomb_and_zip_slip_are_refused(client: TestClient[Any, Any], settings: Settings) -> None:
    bomb = {"import.xml": b"\0" * (8 * 1024 * 1024)}
    slip = {"../../evil.xml": b"<?xml version='1.0'?><a/>"}
    for entries in (bomb, slip):
        archive = io.BytesIO()
        with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
            for name, data in entries.items():
                zf.writestr(name, data)
        node = Node(client)
        await node.checkauth()
        await node.init()
        await node.upload("catalog", "pack.zip", archive.getvalue())
        text, _ = await node.import_until_done("catalog", "import.xml")
        assert text.startswith("failure\nАрхив pack.zip"), text
    assert not any(p.name == "evil.xml" for p in settings.data_dir.parent.rglob("*"))


async def test_interrupted_upload_then_new_init(client: TestClient[Any, Any]) -> None:
    data = real_fixture(BIGPERSON_IMPORT).read_bytes()
    node = Node(client)
    await node.checkauth()
    await node.init()
    await node.call("catalog", "file", data=data[:1000], filename="import.xml")
    # 1C gives up and starts over: new init, whole file again.
    await node.init()
    await node.upload("catalog", "import.xml", data)
    text, _ = await node.import_until_done("catalog", "import.xml")
    assert text == "success\nИмпорт успешно завершен."
    journal = (await api(client, "/api/exchanges"))["items"][0]
    states = [p["state"] for p in journal["packages"]]
    assert states == ["superseded", "imported"]


async def test_resent_file_and_duplicate_chunk_over_http(client: TestClient[Any, Any]) -> None:
    data = real_fixture(BIGPERSON_IMPORT).read_bytes()
    node = Node(client)
    await node.checkauth()
    await node.init()
    await node.upload("catalog", "import.xml", data)
    await node.upload("catalog", "import.xml", data)  # re-sent from the start without init
    last = data[(len(data) // 4096) * 4096 :]
    await node.call("catalog", "file", data=last, filename="import.xml")  # duplicate last chunk
    text, _ = await node.import_until_done("catalog", "import.xml")
    assert text == "success\nИмпорт успешно завершен."
    files = (await api(client, "/api/exchanges"))["items"][0]["packages"][0]["files"]
    assert files[0]["size"] == len(data)


async def test_two_nodes_at_once_are_independent(client: TestClient[Any, Any]) -> None:
    first, second = Node(client), Node(client)
    await first.checkauth()
    await second.checkauth()
    await first.init()
    await second.init()
    await first.upload_file("catalog", "import.xml", real_fixture(BIGPERSON_IMPORT))
    await second.upload("catalog", "import.xml", b"<?xml version='1.0'?><broken>")
    assert (await second.import_until_done("catalog", "import.xml"))[0].startswith("failure")
    assert (await first.import_until_done("catalog", "import.xml"))[0].startswith("success")
    assert (await first.call("catalog", "complete")).startswith("success")


async def test_progress_while_the_job_runs(aiohttp_client: Any, settings: Settings) -> None:
    slow = settings.model_copy(update={"step_seconds": 0.001})
    client: TestClient[Any, Any] = await aiohttp_client(make_app(slow))
    node = Node(client)
    await node.checkauth()
    await node.init()
    await node.upload_file("catalog", "import.xml", real_fixture(BIGPERSON_IMPORT))
    first = await node.call("catalog", "import", filename="import.xml")
    assert first.startswith("progress\n") and len(first.split("\n")[1]) > 0
    text, _ = await node.import_until_done("catalog", "import.xml", max_calls=5000)
    assert text == "success\nИмпорт успешно завершен."


# --- sale ----------------------------------------------------------------------------------------


def documents(body: bytes) -> list[etree._Element]:
    return [e for e in etree.fromstring(body).iter() if etree.QName(e).localname == "Документ"]


def document_ids(body: bytes) -> list[str]:
    return sorted(
        c.text or "" for d in documents(body) for c in d if etree.QName(c).localname == "Ид"
    )


def site_order(number: str) -> Document:
    return Document(
        id=number,
        number=number,
        date=dt.date(2026, 11, 20),
        operation="Заказ товара",
        role="Продавец",
        currency="руб",
        rate=Decimal(1),
        amount=Decimal("4840.00"),
        comment="Позвонить до обеда",
    )


async def test_sale_query_success_and_requery(client: TestClient[Any, Any], database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        async with async_sessionmaker(engine).begin() as db:
            orders = [site_order("1057"), site_order("1058")]
            await order_store.save_orders(db, orders, source=order_store.FROM_SITE)
    finally:
        await engine.dispose()
    node = Node(client)
    await node.checkauth("sale")
    assert await node.init("sale") == "zip=yes\nfile_limit=4096\n"
    body, headers = await node.raw("sale", "query")
    assert headers["Content-Type"] == "application/xml; charset=windows-1251"
    assert int(headers["Content-Length"]) == len(body)
    assert body.startswith(b'<?xml version="1.0" encoding="windows-1251"?>')
    assert document_ids(body) == ["1057", "1058"]
    # No success: the next exchange gets the same orders again.
    await node.checkauth("sale")
    await node.init("sale")
    body, _ = await node.raw("sale", "query")
    assert document_ids(body) == ["1057", "1058"]
    assert await node.call("sale", "success") == "success\n"
    await node.checkauth("sale")
    await node.init("sale")
    body, _ = await node.raw("sale", "query")
    assert documents(body) == []


async def test_sale_info_dictionary(client: TestClient[Any, Any]) -> None:
    node = Node(client)
    await node.checkauth("sale")
    body, headers = await node.raw("sale", "info")
    assert headers["Content-Type"] == "application/xml; charset=windows-1251"
    root = etree.fromstring(body)
    assert root.tag == "Справочник" and root[0].tag == "Cтатусы"  # Latin C, as Bitrix
    assert root[0][0].findtext("Ид") == "N"


ORDERS_FROM_1C = "irpsv__commerceml/tests__assets__off-doc-1c__orders.xml"


async def test_sale_upload_classic_imports_in_file(client: TestClient[Any, Any]) -> None:
    node = Node(client)
    await node.checkauth("sale")
    await node.init("sale")
    data = real_fixture(ORDERS_FROM_1C).read_bytes()
    node.file_limit = len(data)
    text = await node.call("sale", "file", data=data, filename="documents___1.xml")
    assert text.startswith("success")
    orders = await api(client, "/api/orders")
    assert orders["total"] >= 1


async def test_sale_upload_versioned_imports_stepwise(client: TestClient[Any, Any]) -> None:
    node = Node(client)
    await node.checkauth("sale")
    assert (await node.init("sale", version="3.1")).endswith("version=2.09")
    data = real_fixture(ORDERS_FROM_1C).read_bytes()
    await node.upload("sale", "documents/1/documents___1.xml", data)
    assert (await api(client, "/api/orders"))["total"] == 0  # stored only, imported by mode=import
    text, _ = await node.import_until_done("sale", "documents/1/documents___1.xml")
    assert text.startswith("success\n")
    assert (await api(client, "/api/orders"))["total"] >= 1
    assert (await node.call("sale", "import", filename="documents/1/documents___1.xml")).startswith("success")


async def test_sale_empty_file_fails(client: TestClient[Any, Any]) -> None:
    node = Node(client)
    await node.checkauth("sale")
    await node.init("sale")
    text = await node.call("sale", "file", data=b"", filename="documents.xml")
    assert text == "failure\nФайл для импорта пуст."


# --- operator API --------------------------------------------------------------------------------


async def test_api_requires_admin_credentials(client: TestClient[Any, Any]) -> None:
    for path in ("/api/exchanges", "/api/products", "/api/orders"):
        response = await client.get(path)
        assert response.status == 401 and "Basic" in response.headers["WWW-Authenticate"]
        response = await client.get(path, headers={"Authorization": basic("admin", "nope")})
        assert response.status == 401
        response = await client.get(path, headers={"Authorization": basic("1c", "secret")})
        assert response.status == 401
    assert (await api(client, "/api/exchanges")) == {"total": 0, "items": []}
    response = await client.get("/api/exchanges?limit=0", headers=ADMIN)
    assert response.status == 400
    response = await client.get("/api/exchanges/nope", headers=ADMIN)
    assert response.status == 404


async def test_sale_zip_upload_versioned_and_repeat_import(client: TestClient[Any, Any]) -> None:
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.write(real_fixture(ORDERS_FROM_1C), "documents___1.xml")
    node = Node(client)
    await node.checkauth("sale")
    await node.init("sale", version="2.10")
    await node.upload("sale", "v8_0A1B_2.zip", archive.getvalue())
    text, _ = await node.import_until_done("sale", "v8_0A1B_2.zip")
    assert text.startswith("success\n")
    assert (await api(client, "/api/orders"))["total"] >= 1
    files = {f["name"]: f for f in (await api(client, "/api/exchanges"))["items"][0]["packages"][0]["files"]}
    assert files["documents___1.xml"]["origin"] == "archive" and files["documents___1.xml"]["import_state"] == "done"
    assert files["v8_0A1B_2.zip"]["sha256"] == hashlib.sha256(archive.getvalue()).hexdigest()


async def test_sale_classic_file_then_import_answers_success(client: TestClient[Any, Any]) -> None:
    node = Node(client)
    await node.checkauth("sale")
    await node.init("sale")
    data = real_fixture(ORDERS_FROM_1C).read_bytes()
    node.file_limit = len(data)
    assert (await node.call("sale", "file", data=data, filename="orders.xml")).startswith("success")
    # Some clients still ask for mode=import afterwards: already imported, so success.
    assert (await node.call("sale", "import", filename="orders.xml")).startswith("success")
