"""``cml-exchange demo``: the server and the fake portal on loopback, the fixture set replayed and
pushed, a sample invoice reaching 1C's ``mode=query``; then the command itself with
``--exit-after-setup``."""

from __future__ import annotations

import re
from pathlib import Path

import aiohttp
import pytest
from lxml import etree

from b24_bridge import B24Client
from b24_bridge.fake import InProcessTransport
from exchange_server.cli import main
from exchange_server.demo import SAMPLE_GOODS_ID, DemoOptions, order_numbers, running_demo

GOODS = {  # the products of fixtures/commerceml/classic-2.08/import.xml
    "a1b2c3d4-0000-4000-8000-000000000101",
    "a1b2c3d4-0000-4000-8000-000000000102",
    "a1b2c3d4-0000-4000-8000-000000000103",
}


async def test_demo_pushes_the_catalog_and_1c_receives_the_sample_invoice(tmp_path: Path) -> None:
    lines: list[str] = []
    async with running_demo(
        DemoOptions(port=0, data_dir=tmp_path / "demo", plan="box"), lines.append
    ) as demo:
        portal = B24Client(InProcessTransport(demo.portal), bucket=None)
        products = await portal.list_all("crm.product.list", {"select": ["ID", "XML_ID", "NAME"]})
        in_portal = {str(p["XML_ID"]) for p in products}
        assert GOODS <= in_portal, in_portal
        assert demo.push is not None and demo.push.done >= len(GOODS)
        assert demo.invoice_id is not None
        root = etree.fromstring(demo.query_xml)
        documents = [d for d in root if etree.QName(d).localname == "Документ"]
        assert len(documents) == 1 == len(demo.orders)
        text = etree.tostring(documents[0], encoding="unicode")
        assert SAMPLE_GOODS_ID in text and "7707083893" in text and "Доставка" in text
        assert (tmp_path / "demo" / "demo.db").is_file()
        auth = {"Authorization": aiohttp.encode_basic_auth("admin", demo.admin_password)}
        async with aiohttp.ClientSession(headers=auth) as http:
            page = await (await http.get(f"{demo.base_url}/metrics")).text()
            outbox = await (await http.get(f"{demo.admin_url}outbox?state=pending")).text()
        assert re.search(r'cml_b24_calls_total\{method="crm\.item\.add",result="ok"\} [1-9]', page)
        assert re.search(r'cml_b24_calls_total\{method="batch",result="ok"\} [1-9]', page)
        assert "Not configured yet" not in outbox
    assert any(line.startswith("1C orders exchange (mode=query): 1 order(s)") for line in lines), lines


def test_order_numbers_read_both_namespaced_and_plain_answers() -> None:
    plain = (
        "<КоммерческаяИнформация><Документ><Ид>1</Ид><Номер>17</Номер></Документ></КоммерческаяИнформация>"
    )
    spaced = plain.replace(
        "<КоммерческаяИнформация>", '<КоммерческаяИнформация xmlns="urn:1C.ru:commerceml_2">'
    )
    assert order_numbers(plain.encode()) == order_numbers(spaced.encode()) == ["17"]


def test_the_command_sets_up_prints_the_admin_url_and_exits(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["demo", "--port", "0", "--plan", "box", "--data-dir", str(tmp_path), "--exit-after-setup"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "The demo is ready." in out
    assert "/admin/" in out and "user admin   password " in out
    assert "1 order(s)" in out


def test_a_missing_fixture_set_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["demo", "--port", "0", "--fixtures", str(tmp_path), "--exit-after-setup"])
    assert code == 2
    assert f"no import.xml in {tmp_path}" in capsys.readouterr().err
