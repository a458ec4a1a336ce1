"""XXE, billion laughs and hostile archives over real HTTP: a clear failure, no file outside the package
directory, nothing of the file visible through /api."""

from __future__ import annotations

import asyncio
import io
import struct
import zipfile
from collections.abc import Awaitable
from pathlib import Path

from exchange_server.replay import ExchangeFailed
from tests.hostile.support import CATALOG, FAILURE, Hostile, hostile_server, make_zip


async def answer(call: Awaitable[object]) -> str:
    """The text 1C got: a failure raised by the replay node, or whatever else came back."""
    try:
        result = await call
    except ExchangeFailed as exc:
        return str(exc).split(": ", 1)[1] if ": failure" in str(exc) else str(exc)
    return str(result)


def catalog_with_doctype(doctype: str, name: str = "&e;") -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n' + doctype + "\n"
        '<КоммерческаяИнформация ВерсияСхемы="2.08"><Каталог><Ид>c</Ид><Наименование>c</Наименование>'
        f"<Товары><Товар><Ид>evil</Ид><Наименование>{name}</Наименование></Товар></Товары>"
        "</Каталог></КоммерческаяИнформация>"
    ).encode()


def hostile_documents(secret: Path) -> dict[str, bytes]:
    laughs = '<!ENTITY a "lol">' + "".join(
        f'<!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">' for i in range(9)
    )
    return {
        "xxe-file": catalog_with_doctype(f'<!DOCTYPE r [<!ENTITY e SYSTEM "file://{secret}">]>'),
        "xxe-parameter": catalog_with_doctype(
            f'<!DOCTYPE r [<!ENTITY % p SYSTEM "file://{secret}"> %p;]>', name="x"
        ),
        "xxe-network": catalog_with_doctype('<!DOCTYPE r SYSTEM "http://127.0.0.1:9/evil.dtd">', name="x"),
        "billion-laughs": catalog_with_doctype(f"<!DOCTYPE r [{laughs}]>", name="&j;"),
        "quadratic-blowup": catalog_with_doctype(
            f'<!DOCTYPE r [<!ENTITY e "{"x" * 50_000}">]>', name="&e;" * 2000
        ),
    }


async def test_entity_attacks_fail_and_store_nothing(hostile: Hostile, tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-VALUE")
    before = await hostile.baseline()
    for case, document in hostile_documents(secret).items():
        node = await hostile.fresh()
        await node.upload("catalog", "import.xml", document)
        text = await answer(node.import_file("catalog", "import.xml"))
        # Refused by the reader (any DOCTYPE) or, for entity bombs, by libxml2's amplification limit first.
        assert text.startswith(FAILURE + "Ошибка импорта файла import.xml: "), (case, text)
        assert "DOCTYPE" in text or "entity amplification" in text, (case, text)
        assert "TOP-SECRET" not in text
        assert await hostile.store() == before, case
    assert hostile.outside_packages() == []


async def test_entity_attack_in_an_orders_file(hostile: Hostile, tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-VALUE")
    xml = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<!DOCTYPE r [<!ENTITY e SYSTEM "file://{secret}">]>\n'
        '<КоммерческаяИнформация ВерсияСхемы="2.08"><Документ><Ид>o1</Ид><Номер>&e;</Номер>'
        "<ХозОперация>Заказ товара</ХозОперация></Документ></КоммерческаяИнформация>"
    ).encode()
    node = await hostile.fresh("sale")
    text = await answer(node.upload("sale", "orders.xml", xml))
    assert text.startswith(FAILURE) and "TOP-SECRET" not in text, text
    assert (await hostile.store())[1] == 0


# --- archives -------------------------------------------------------------------------------------


async def upload_and_import(hostile: Hostile, archive: bytes, target: str = "import.xml") -> str:
    node = await hostile.fresh()
    await node.upload("catalog", "v8_evil.zip", archive)
    return await answer(node.import_file("catalog", target))


def package_contents(hostile: Hostile) -> list[str]:
    return sorted(
        str(p.relative_to(hostile.packages).as_posix()).split("/", 2)[2]
        for p in hostile.files()
        if p.is_relative_to(hostile.packages)
    )


async def test_bomb_by_ratio_of_one_entry(hostile: Hostile) -> None:
    before = await hostile.baseline()
    bomb = make_zip({"import.xml": b"<?xml version='1.0'?>" + b" " * (32 * 1024 * 1024)})
    assert len(bomb) < 64 * 1024
    text = await upload_and_import(hostile, bomb)
    assert text.startswith(FAILURE + "Архив v8_evil.zip отклонён: подозрительная степень сжатия"), text
    assert await hostile.store() == before
    assert package_contents(hostile) == ["import.xml", "v8_evil.zip"]  # the baseline's file and the archive


async def test_bomb_by_ratio_of_many_entries_under_the_floor(hostile: Hostile) -> None:
    # 40 entries of 1 MiB zeros each: every one is under the per-entry ratio floor (1 MiB), the archive
    # as a whole inflates ~1000 times. Refused as a whole since the archive-wide check.
    before = await hostile.baseline()
    entries = {f"import_files/{i}.xml": b"\0" * (1024 * 1024) for i in range(40)}
    entries["import.xml"] = CATALOG
    bomb = make_zip(entries)
    assert len(bomb) < 100 * 1024
    text = await upload_and_import(hostile, bomb)
    assert text.startswith(FAILURE + "Архив v8_evil.zip отклонён: подозрительная степень сжатия архива"), text
    assert await hostile.store() == before
    assert package_contents(hostile) == ["import.xml", "v8_evil.zip"]


async def test_bomb_by_entry_count(sqlite_url: str, tmp_path: Path) -> None:
    async with hostile_server(tmp_path / "srv", sqlite_url, unzip_max_files=50) as hostile:
        before = await hostile.baseline()
        bomb = make_zip({f"f/{i}.xml": b"<a/>" for i in range(51)}, method=zipfile.ZIP_STORED)
        text = await upload_and_import(hostile, bomb)
        assert text.startswith(FAILURE + "Архив v8_evil.zip отклонён: слишком много файлов (51 > 50)"), text
        assert await hostile.store() == before
        assert package_contents(hostile) == ["import.xml", "v8_evil.zip"]


async def test_bomb_by_entry_count_with_a_lying_end_record(sqlite_url: str, tmp_path: Path) -> None:
    # The end record claims 1 entry; the central directory holds 400: zipfile would read them all.
    data = bytearray(make_zip({f"f/{i}.xml": b"<a/>" for i in range(400)}, method=zipfile.ZIP_STORED))
    end = data.rindex(b"PK\x05\x06")
    data[end + 8 : end + 12] = struct.pack("<HH", 1, 1)
    async with hostile_server(tmp_path / "srv", sqlite_url, unzip_max_files=50) as hostile:
        text = await upload_and_import(hostile, bytes(data))
        assert text.startswith(FAILURE + "Архив v8_evil.zip отклонён: оглавление архива"), text
        assert package_contents(hostile) == ["v8_evil.zip"]


async def test_nested_archives_are_not_unpacked(hostile: Hostile) -> None:
    before = await hostile.baseline()
    inner_bomb = make_zip({"import.xml": b" " * (16 * 1024 * 1024)})
    outer = make_zip({"inner.zip": inner_bomb, "deeper/inner2.zip": make_zip({"x.zip": inner_bomb})})
    text = await upload_and_import(hostile, outer)
    # The outer archive unpacks (two small files); the inner ones stay archives, never opened.
    assert text.startswith(FAILURE + "Файл для импорта не найден: import.xml"), text
    assert sorted(package_contents(hostile)) == [
        "deeper/inner2.zip",
        "import.xml",
        "inner.zip",
        "v8_evil.zip",
    ]
    assert await hostile.store() == before
    node = await hostile.fresh()
    await node.upload("catalog", "v8_evil.zip", outer)
    text = await answer(node.import_file("catalog", "inner.zip"))
    assert text.startswith(FAILURE), text  # an archive is not a CommerceML document
    assert await hostile.store() == before


def zip_with_raw_names(names: list[str], *, symlink: str | None = None) -> bytes:
    entries: dict[str, bytes] = {"import.xml": CATALOG}
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
        for name in names:
            info = zipfile.ZipInfo("placeholder")
            info.filename = name  # bypass ZipInfo's own normalisation: exactly these bytes in the archive
            archive.writestr(info, b"<?xml version='1.0'?><owned/>")
        if symlink is not None:
            link = zipfile.ZipInfo("link.xml")
            link.external_attr = 0o120777 << 16
            archive.writestr(link, symlink)
    return out.getvalue()


EVIL_ENTRY_NAMES = (
    "../escaped.xml",
    "../../../../../../tmp/escaped.xml",
    "a/../../escaped.xml",
    "/var/tmp/escaped.xml",
    "/etc/cron.d/escaped.xml",
    "C:/escaped.xml",
    "C:\\escaped.xml",
    "..\\..\\escaped.xml",
    "\\\\server\\share\\escaped.xml",
    "goods/..\\..\\escaped.xml",
    "NUL.xml",
    "x.php",
)


async def test_zip_slip_names(hostile: Hostile) -> None:
    before = await hostile.baseline()
    for evil in EVIL_ENTRY_NAMES:
        text = await upload_and_import(hostile, zip_with_raw_names([evil]))
        assert text.startswith(FAILURE + "Архив v8_evil.zip отклонён: Недопустимое имя файла"), (evil, text)
    assert hostile.outside_packages() == []
    assert not [p for p in hostile.files() if p.name == "escaped.xml"]
    assert not await asyncio.to_thread(Path("/var/tmp/escaped.xml").exists)
    # nothing of the archives kept: the baseline's file and one archive per attempt
    assert sorted(set(package_contents(hostile))) == ["import.xml", "v8_evil.zip"]
    assert package_contents(hostile).count("v8_evil.zip") == len(EVIL_ENTRY_NAMES)
    assert await hostile.store() == before


async def test_zip_symlink_entries(hostile: Hostile) -> None:
    before = await hostile.baseline()
    for target in ("/etc/passwd", "../../../../etc/passwd", "."):
        text = await upload_and_import(hostile, zip_with_raw_names([], symlink=target))
        assert text.startswith(FAILURE + "Архив v8_evil.zip отклонён: символическая ссылка link.xml"), text
    assert not [p for p in hostile.root.rglob("link.xml")]
    assert sorted(set(package_contents(hostile))) == ["import.xml", "v8_evil.zip"]
    assert await hostile.store() == before
