"""The orders writer: round trips through the reader, encodings, element order, the character rule."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from commerceml import (
    Address,
    AddressField,
    BankAccount,
    Characteristic,
    Contact,
    Counterparty,
    Discount,
    Document,
    DocumentHeader,
    OrderLine,
    Representative,
    Requisite,
    TaxRate,
    TaxSum,
    Unit,
    Warehouse,
    WriteError,
)
from commerceml.writer import write_orders, xml_safe
from tests.commerceml.helpers import read_bytes

# --- strategies: every value the writer can carry and the reader gives back unchanged ----------

# Stripped, non-empty text of any Unicode (emoji and all, outside windows-1251 too) except
# control characters and non-characters, which the writer's one rule replaces (tested apart).
text = (
    st.text(st.characters(exclude_categories=("Cs", "Cc", "Cn")), min_size=1, max_size=12)
    .map(str.strip)
    .filter(bool)
)
maybe_text = st.none() | text
money = st.decimals(min_value=-(10**9), max_value=10**9, places=2, allow_nan=False, allow_infinity=False)
maybe_money = st.none() | money
flag = st.none() | st.booleans()
times = st.times().map(lambda t: t.replace(microsecond=0))
dates = st.dates(min_value=dt.date(1990, 1, 1), max_value=dt.date(2100, 12, 31))

addresses = st.builds(
    Address,
    presentation=maybe_text,
    fields=st.lists(st.builds(AddressField, type=text, value=text), max_size=3).map(tuple),
)
contacts = st.lists(st.builds(Contact, type=text, value=text, comment=maybe_text), max_size=2).map(tuple)
representatives = st.lists(
    st.builds(Representative, relation=text, id=maybe_text, name=text), max_size=2
).map(tuple)
bank_accounts = st.lists(
    st.builds(
        BankAccount,
        number=text,
        bank_name=maybe_text,
        bik=text,
        bank_address=maybe_text,
        correspondent_account=maybe_text,
    ),
    max_size=2,
).map(tuple)

_party_common = dict(
    id=maybe_text,
    name=maybe_text,
    inn=maybe_text,
    kpp=maybe_text,
    role=text,
    address=st.none() | addresses,
    contacts=contacts,
    representatives=representatives,
)
legal_parties = st.builds(
    Counterparty,
    official_name=text,
    legal_address=st.none() | addresses,
    okpo=maybe_text,
    bank_accounts=bank_accounts,
    **_party_common,
)
people = st.builds(
    Counterparty,
    full_name=text,
    last_name=maybe_text,
    first_name=maybe_text,
    middle_name=maybe_text,
    registration_address=st.none() | addresses,
    **_party_common,
)
units = st.builds(Unit, code=text, name=maybe_text, full_name=maybe_text, international=maybe_text)
requisites = st.lists(
    st.builds(Requisite, name=text, values=st.lists(st.just("") | text, min_size=1, max_size=2).map(tuple)),
    max_size=3,
).map(tuple)
tax_sums = st.lists(
    st.builds(TaxSum, name=text, included=flag, amount=money, rate=maybe_text), max_size=2
).map(tuple)
discounts = st.lists(
    st.builds(Discount, name=maybe_text, amount=money, percent=maybe_money, included=flag), max_size=2
).map(tuple)
lines = st.builds(
    OrderLine,
    id=text,
    name=maybe_text,
    article=maybe_text,
    catalog_id=maybe_text,
    unit=units,
    ratio=maybe_money,
    price=maybe_money,
    quantity=maybe_money,
    amount=maybe_money,
    discounts=discounts,
    tax_rates=st.lists(st.builds(TaxRate, name=text, rate=text), max_size=2).map(tuple),
    taxes=tax_sums,
    characteristics=st.lists(st.builds(Characteristic, name=text, value=text, id=maybe_text), max_size=2).map(
        tuple
    ),
    requisites=requisites,
)
stores = st.lists(
    st.builds(Warehouse, id=text, name=maybe_text, comment=maybe_text, address=st.none() | addresses),
    max_size=2,
).map(tuple)


def documents(*, version_fields: bool, extensions: bool, old_schema: bool) -> st.SearchStrategy[Document]:
    optional = st.none() | text if extensions else st.none()
    return st.builds(
        Document,
        id=text,
        number=text,
        date=dates,
        time=st.none() | times,
        operation=text,
        role=text,
        currency=text,
        rate=money,
        amount=money,
        version=optional if version_fields else st.none(),
        number_1c=optional if version_fields else st.none(),
        date_1c=(st.none() | dates) if version_fields and extensions else st.none(),
        deleted=flag if extensions else st.none(),
        basis=optional,
        comment=maybe_text,
        counterparties=st.lists(legal_parties | people, min_size=1, max_size=2).map(tuple),
        taxes=tax_sums,
        discounts=discounts,
        warehouses=stores if extensions or not old_schema else st.just(()),
        lines=st.lists(lines, max_size=3).map(tuple),
        requisites=requisites,
    )


VERSIONS = ["2.03", "2.05", "2.08", "2.10", "3.1"]


def _write(docs: list[Document], **kwargs: object) -> bytes:
    out = io.BytesIO()
    write_orders(out, docs, created=dt.datetime(2024, 6, 10, 9, 5, 7), **kwargs)  # type: ignore[arg-type]
    return out.getvalue()


def _read_documents(data: bytes, chunks: list[int] | None = None) -> list[Document]:
    entities, _ = read_bytes(data, chunks)
    return [e for e in entities if isinstance(e, Document)]


def _with_containers(docs: list[Document], version: str) -> list[Document]:
    """3.x wraps documents in Контейнер: number them the way the reader will (0, 1, 2 ...)."""
    if float(version) < 3:
        return docs
    return [
        Document(**{**{f: getattr(d, f) for f in Document.__dataclass_fields__}, "container": i // 2})
        for i, d in enumerate(docs)
    ]


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=st.data(),
    version=st.sampled_from(VERSIONS),
    encoding=st.sampled_from(["windows-1251", "utf-8"]),
    extensions=st.booleans(),
)
def test_orders_written_then_read_back_are_equal(
    data: st.DataObject, version: str, encoding: str, extensions: bool
) -> None:
    strategy = documents(
        version_fields=float(version) > 2.05, extensions=extensions, old_schema=float(version) < 2.07
    )
    docs = _with_containers(data.draw(st.lists(strategy, max_size=4)), version)
    written = _write(docs, schema_version=version, encoding=encoding, bitrix_extensions=extensions)
    chunks = data.draw(st.lists(st.integers(min_value=1, max_value=512), min_size=1, max_size=50))
    assert _read_documents(written, chunks) == docs


def test_envelope_is_bitrix_exact() -> None:
    written = _write([], schema_version="2.08")
    assert written.startswith(b'<?xml version="1.0" encoding="windows-1251"?>\n<')
    root = etree.fromstring(written)
    assert root.tag == "КоммерческаяИнформация"  # no namespace, as 1C-Bitrix sends it
    assert root.attrib == {
        "ВерсияСхемы": "2.08",
        "ДатаФормирования": "2024-06-10T09:05:07",
        "ФорматДаты": "ДФ=yyyy-MM-dd; ДЛФ=DT",
        "ФорматВремени": "ДФ=ЧЧ:мм:сс; ДЛФ=T",
        "РазделительДатаВремя": "T",
        "ФорматСуммы": "ЧЦ=18; ЧДЦ=2; ЧРД=.",
        "ФорматКоличества": "ЧЦ=18; ЧДЦ=2; ЧРД=.",
    }
    entities, summary = read_bytes(written)
    assert summary.encoding == "windows-1251"
    assert entities == [
        DocumentHeader(
            "2.08",
            "2024-06-10T09:05:07",
            tuple((k, v) for k, v in root.attrib.items() if k not in ("ВерсияСхемы", "ДатаФормирования")),
        )
    ]


FULL_ORDER = Document(
    id="1057",
    number="CRM_1057",
    date=dt.date(2024, 6, 10),
    time=dt.time(12, 30),
    operation="Заказ товара",
    role="Продавец",
    currency="RUB",
    rate=Decimal(1),
    amount=Decimal("4840.00"),
    version="3",
    number_1c=None,
    comment="Позвонить заранее",
    counterparties=(
        Counterparty(
            id="c1",
            name="ООО Ромашка",
            official_name="ООО Ромашка",
            inn="7701234567",
            kpp="770101001",
            role="Покупатель",
        ),
    ),
    taxes=(TaxSum("НДС", True, Decimal("806.67")),),
    discounts=(Discount("Скидка на заказ", Decimal(10)),),
    warehouses=(Warehouse("wh-1", "Склад"),),
    lines=(
        OrderLine(
            "p#c",
            "Кроссовки",
            unit=Unit(code="796", name="шт"),
            price=Decimal("4490.00"),
            quantity=Decimal(1),
            amount=Decimal("4490.00"),
        ),
    ),
    requisites=(Requisite("Статус заказа", ("[N] Принят",)),),
)


def test_document_children_in_the_order_of_protocol_section_9_2() -> None:
    root = etree.fromstring(_write([FULL_ORDER], schema_version="2.08"))
    order = [child.tag for child in root[0]]
    assert order == [
        "Ид", "Номер", "Дата", "ХозОперация", "Роль", "Валюта", "Курс", "Сумма", "НомерВерсии", "Номер1С",
        "Контрагенты", "Время", "Комментарий", "Налоги", "Скидки", "Склады", "Товары", "ЗначенияРеквизитов",
    ]  # fmt: skip
    strict = etree.fromstring(_write([FULL_ORDER], schema_version="2.08", bitrix_extensions=False))
    assert [c.tag for c in strict[0]] == [t for t in order if t not in ("НомерВерсии", "Номер1С")]
    old = etree.fromstring(_write([FULL_ORDER], schema_version="2.05"))
    assert "НомерВерсии" not in [c.tag for c in old[0]]  # Bitrix adds them only above 2.05


def test_characters_windows_1251_cannot_hold_become_references() -> None:
    doc = _fields(FULL_ORDER, comment="Ура 😀 — Ñandú ẞ")
    written = _write([doc])
    assert b"&#128512;" in written and b"&#7838;" in written
    assert "—".encode("cp1251") in written  # the em dash exists in windows-1251: written as a byte
    assert _read_documents(written) == [doc]


def test_control_characters_follow_the_one_rule() -> None:
    doc = _fields(FULL_ORDER, comment="a\x08b\x00c\ufffed")
    written = _write([doc])
    back = _read_documents(written)[0]
    assert back.comment == "a\ufffdb\ufffdc\ufffdd" == xml_safe("a\x08b\x00c\ufffed")
    assert back.lines == doc.lines


def test_utf8_with_bom_option() -> None:
    written = _write([FULL_ORDER], encoding="utf-8", bom=True)
    assert written.startswith(b'\xef\xbb\xbf<?xml version="1.0" encoding="utf-8"?>')
    assert _read_documents(written) == [FULL_ORDER]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"encoding": "koi8-r"}, "unsupported encoding"),
        ({"encoding": "windows-1251", "bom": True}, "byte-order mark"),
        ({"schema_version": "two"}, "not a number"),
    ],
)
def test_bad_options_are_write_errors(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(WriteError, match=message):
        _write([FULL_ORDER], **kwargs)


def test_document_without_id_is_refused() -> None:
    with pytest.raises(WriteError, match="without Ид"):
        _write([_fields(FULL_ORDER, id="")])


def test_streams_many_documents_one_by_one() -> None:
    def generate() -> object:
        for i in range(2000):
            yield _fields(FULL_ORDER, id=str(i), number=str(i))

    out = io.BytesIO()
    assert write_orders(out, generate()) == 2000  # type: ignore[arg-type]
    docs = _read_documents(out.getvalue())
    assert [d.id for d in docs] == [str(i) for i in range(2000)]


def test_containers_for_version_3() -> None:
    docs = [_fields(FULL_ORDER, id="1", container=0), _fields(FULL_ORDER, id="p1", container=0),
            _fields(FULL_ORDER, id="2", container=1)]  # fmt: skip
    root = etree.fromstring(_write(docs, schema_version="3.1"))
    assert [(c.tag, [d[0].text for d in c]) for c in root] == [
        ("Контейнер", ["1", "p1"]),
        ("Контейнер", ["2"]),
    ]


def _fields(doc: Document, **changes: object) -> Document:
    values = {f: getattr(doc, f) for f in Document.__dataclass_fields__}
    values.update(changes)
    return Document(**values)  # type: ignore[arg-type]
