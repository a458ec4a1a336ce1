"""Hostile and broken input: only CommerceMLError ever escapes, always located."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from commerceml import (
    CommerceMLError,
    ForbiddenXML,
    InvalidValue,
    MalformedXML,
    MissingElement,
    Reader,
    UnsupportedDocument,
    iter_file,
)
from tests.commerceml.helpers import FIXTURES, read_bytes

SAMPLES = sorted(FIXTURES.rglob("*.xml"))


def _read(data: bytes) -> None:
    read_bytes(data)


def test_xxe_is_refused_and_never_resolved(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    xml = (
        f'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY e SYSTEM "file://{secret}">]>'
        "<КоммерческаяИнформация><Каталог><Товары><Товар><Ид>1</Ид><Наименование>&e;</Наименование>"
        "</Товар></Товары></Каталог></КоммерческаяИнформация>"
    ).encode()
    with pytest.raises(ForbiddenXML) as info:
        _read(xml)
    assert "TOP-SECRET" not in str(info.value)
    assert info.value.line == 1


def test_billion_laughs_is_refused_quickly() -> None:
    decl = '<!ENTITY l0 "lol">' + "".join(
        f'<!ENTITY l{i} "{("&l" + str(i - 1) + ";") * 10}">' for i in range(1, 10)
    )
    xml = f'<?xml version="1.0"?><!DOCTYPE r [{decl}]><КоммерческаяИнформация>&l9;</КоммерческаяИнформация>'
    start = time.monotonic()
    with pytest.raises(ForbiddenXML):
        _read(xml.encode())
    assert time.monotonic() - start < 5  # no expansion happened (a generous bound, not a benchmark)


def test_external_dtd_is_refused_without_network() -> None:
    xml = b'<?xml version="1.0"?><!DOCTYPE r SYSTEM "http://203.0.113.1/x.dtd"><r/>'
    with pytest.raises(ForbiddenXML):
        _read(xml)


def test_wrong_root_is_unsupported() -> None:
    with pytest.raises(UnsupportedDocument) as info:
        _read(b"<?xml version='1.0'?>\n<html><body/></html>")
    assert info.value.line == 2
    assert "html" in str(info.value)


def test_truncated_file_names_line_and_path() -> None:
    data = (FIXTURES / "classic-2.08" / "offers.xml").read_bytes()
    cut = data[: data.index("<Количество>0".encode())]
    with pytest.raises(MalformedXML) as info:
        _read(cut)
    err = info.value
    assert err.line is not None and err.line >= 40
    assert err.path is not None and "Предложение" in err.path
    assert err.filename == "test.xml"
    assert "line" in str(err)


def test_bad_number_names_the_element() -> None:
    xml = """<КоммерческаяИнформация ВерсияСхемы="2.08"><ПакетПредложений><Предложения>
<Предложение><Ид>a</Ид><Цены><Цена><ИдТипаЦены>t</ИдТипаЦены><ЦенаЗаЕдиницу>1O0</ЦенаЗаЕдиницу></Цена></Цены></Предложение>
</Предложения></ПакетПредложений></КоммерческаяИнформация>""".encode()
    with pytest.raises(InvalidValue) as info:
        _read(xml)
    assert info.value.path == "ПакетПредложений/Предложения/Предложение[1]/Цены/Цена[1]/ЦенаЗаЕдиницу"
    assert info.value.line == 2
    assert "1O0" in str(info.value)


def test_bad_date_and_flag_name_the_element() -> None:
    doc = """<КоммерческаяИнформация ВерсияСхемы="2.08"><Документ><Ид>1</Ид>
<Дата>31.02.2024</Дата></Документ></КоммерческаяИнформация>""".encode()
    with pytest.raises(InvalidValue) as info:
        _read(doc)
    assert info.value.path == "Документ[1]/Дата" and info.value.line == 2
    flag = """<КоммерческаяИнформация><Каталог><Товары><Товар><Ид>1</Ид>
<ПометкаУдаления>может быть</ПометкаУдаления></Товар></Товары></Каталог></КоммерческаяИнформация>""".encode()
    with pytest.raises(InvalidValue) as info:
        _read(flag)
    assert info.value.path == "Каталог/Товары/Товар[1]/ПометкаУдаления"


def test_missing_id_is_reported_with_its_position() -> None:
    xml = """<КоммерческаяИнформация><Каталог><Товары>
<Товар><Ид>1</Ид></Товар>
<Товар><Наименование>без Ид</Наименование></Товар>
</Товары></Каталог></КоммерческаяИнформация>""".encode()
    with pytest.raises(MissingElement) as info:
        _read(xml)
    assert info.value.path == "Каталог/Товары/Товар[2]"
    assert info.value.line == 3


def test_wrong_declared_encoding_is_located() -> None:
    xml = '<?xml version="1.0" encoding="UTF-8"?>\n<КоммерческаяИнформация>\n<Каталог><Ид>Каталог</Ид></Каталог></КоммерческаяИнформация>'
    with pytest.raises(MalformedXML) as info:
        _read(xml.encode("cp1251"))
    assert info.value.line in (1, 2)


@pytest.mark.parametrize("data", [b"", b"   ", b"\xef\xbb\xbf"])
def test_empty_input(data: bytes) -> None:
    with pytest.raises(MalformedXML):
        _read(data)


def test_a_failed_reader_stays_failed() -> None:
    reader = Reader("x.xml")
    with pytest.raises(MalformedXML) as first:
        reader.feed(b"<a><b></a>")
    with pytest.raises(MalformedXML) as again:
        reader.feed(b"<c/>")
    assert again.value is first.value
    with pytest.raises(MalformedXML):
        reader.close()


def test_missing_file_is_a_commerceml_error(tmp_path: Path) -> None:
    with pytest.raises(MalformedXML) as info:
        list(iter_file(tmp_path / "nope.xml"))
    assert info.value.filename == str(tmp_path / "nope.xml")


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=2000))
def test_random_bytes_raise_only_commerceml_errors(data: bytes) -> None:
    try:
        _read(data)
    except CommerceMLError:
        pass


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(SAMPLES), st.floats(min_value=0.0, max_value=1.0, exclude_max=True))
def test_truncations_raise_only_located_errors(path: Path, fraction: float) -> None:
    data = path.read_bytes()
    cut = int(len(data.rstrip()) * fraction)
    try:
        _read(data[:cut])
    except CommerceMLError as exc:
        assert exc.line is not None or cut < 40  # only a near-empty prefix may lack a line
    else:
        pytest.fail(f"a truncated file ({cut} of {len(data)} bytes) was accepted")


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(SAMPLES), st.integers(min_value=0), st.binary(min_size=1, max_size=8))
def test_corrupted_bytes_raise_only_commerceml_errors(path: Path, position: int, junk: bytes) -> None:
    data = path.read_bytes()
    pos = position % len(data)
    try:
        _read(data[:pos] + junk + data[pos + len(junk) :])
    except CommerceMLError:
        pass
