"""Every orders document the writer produces is checked against the official XSD of its version.

The official schemas come from 1C and are read in place (the real-fixtures folder holds 2.05-2.10).
The 2.05 schema declares the namespace ``urn:1C.ru:commerceml 2`` (with a space): the validator
loads it with the namespace corrected and says so in a note, which is asserted here.

``bitrix_extensions=False`` output must be valid with no violation at all. The default (1C-Bitrix
exact) output differs from the schema by exactly the documented 1C-Bitrix additions, and by nothing
else: that is asserted too, so a new deviation cannot slip in.
"""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from commerceml import (
    Address,
    AddressField,
    BankAccount,
    Contact,
    Counterparty,
    Discount,
    Document,
    OrderLine,
    Representative,
    Requisite,
    TaxRate,
    TaxSum,
    Unit,
    Warehouse,
)
from commerceml.schema import assert_valid_orders_document, find_schemas, validate
from commerceml.writer import write_orders
from tests.commerceml.conftest import require_real_fixtures

SCHEMA_VERSIONS = ["2.05", "2.06", "2.07", "2.08", "2.09", "2.10"]


@pytest.fixture(scope="module")
def schema_dir() -> Path:
    folder = require_real_fixtures()
    found = set(find_schemas(folder))
    missing = sorted(set(SCHEMA_VERSIONS) - found)
    assert not missing, f"official XSDs missing from {folder}: {missing}"
    return folder


def _order(**changes: object) -> Document:
    base: dict[str, object] = dict(
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
        number_1c="УТ-000123",
        comment="Позвонить заранее",
        counterparties=(
            Counterparty(
                id="c-77",
                name='ООО "Ромашка"',
                official_name='Общество с ограниченной ответственностью "Ромашка"',
                legal_address=Address(
                    "101000, Москва, ул. Мясницкая, д. 1",
                    (AddressField("Почтовый индекс", "101000"), AddressField("Город", "Москва")),
                ),
                inn="7701234567",
                kpp="770101001",
                okpo="12345678",
                bank_accounts=(
                    BankAccount(
                        "40702810900000000001", "ПАО Банк", "044525225", "Москва", "30101810400000000225"
                    ),
                ),
                contacts=(
                    Contact("Почта", "buh@romashka.example"),
                    Contact("Телефон рабочий", "+7 495 000-00-00"),
                ),
                representatives=(Representative("Контактное лицо", "rep-1", "Петров Пётр"),),
                role="Покупатель",
            ),
        ),
        taxes=(TaxSum("НДС", True, Decimal("806.67")),),
        discounts=(Discount("Скидка на заказ", Decimal("10.00"), Decimal(1), False),),
        warehouses=(Warehouse("wh-1", "Основной склад", address=Address("Москва, Складская, 1")),),
        lines=(
            OrderLine(
                "a1b2#c0ff",
                "Кроссовки Runner (42)",
                catalog_id="cat-1",
                article="RUN-42",
                unit=Unit(code="796", name="шт", full_name="Штука", international="PCE"),
                ratio=Decimal(1),
                price=Decimal("4490.00"),
                quantity=Decimal(1),
                amount=Decimal("4490.00"),
                tax_rates=(TaxRate("НДС", "20"),),
                taxes=(TaxSum("НДС", True, Decimal("748.33"), "20"),),
                discounts=(Discount("Скидка на товар", Decimal("500.00"), None, True),),
                requisites=(
                    Requisite("ВидНоменклатуры", ("Товар",)),
                    Requisite("ТипНоменклатуры", ("Товар",)),
                ),
            ),
            OrderLine(
                "ORDER_DELIVERY",
                "Доставка заказа",
                unit=Unit(code="796", name="шт"),
                price=Decimal(350),
                quantity=Decimal(1),
                amount=Decimal(350),
                requisites=(Requisite("ТипНоменклатуры", ("Услуга",)),),
            ),
        ),
        requisites=(
            Requisite("Заказ оплачен", ("false",)),
            Requisite("Статус заказа", ("[N] Принят",)),
            Requisite("Статуса заказа ИД", ("N",)),
        ),
    )
    base.update(changes)
    return Document(**base)  # type: ignore[arg-type]


def _write(docs: list[Document], version: str, extensions: bool) -> bytes:
    out = io.BytesIO()
    write_orders(
        out, docs, schema_version=version, bitrix_extensions=extensions, created=dt.datetime(2024, 6, 10)
    )
    return out.getvalue()


@pytest.mark.parametrize("version", SCHEMA_VERSIONS)
def test_strict_output_is_valid_against_the_official_schema(schema_dir: Path, version: str) -> None:
    person = Counterparty(
        id="c-1",
        name="Иванов Иван",
        full_name="Иванов Иван Иванович",
        last_name="Иванов",
        first_name="Иван",
        middle_name="Иванович",
        inn="500100732259",
        registration_address=Address("Москва", (AddressField("Город", "Москва"),)),
        role="Покупатель",
    )
    docs = [_order(), _order(id="1058", number="CRM_1058", counterparties=(person,), lines=())]
    result = assert_valid_orders_document(_write(docs, version, extensions=False), schema_dir)
    assert result.schema_version == version
    assert any("validated as if in 'urn:1C.ru:commerceml_2'" in note for note in result.notes)
    if version == "2.05":
        assert any("commerceml 2" in note for note in result.notes)  # the broken namespace, handled


@pytest.mark.parametrize("version", ["2.08", "2.10"])
def test_bitrix_output_differs_from_the_schema_only_by_the_documented_additions(
    schema_dir: Path, version: str
) -> None:
    result = validate(_write([_order()], version, extensions=True), schema_dir)
    offending = {(v.path.rsplit("/", 1)[-1], v.line) for v in result.violations}
    names = {name for name, _line in offending}
    # The root's format hints and the document's НомерВерсии (the first of the additions; the
    # validator stops reading a sequence at its first unexpected child).
    assert names <= {"КоммерческаяИнформация", "ФорматДаты", "НомерВерсии", "Номер1С"}, result.violations
    assert "НомерВерсии" in names


# --- hypothesis: random orders within the schema's value space are always valid -------------------

digits = st.text("0123456789", min_size=1, max_size=1)
inn = st.integers(10**9, 10**12 - 1).map(str)
kpp = st.integers(10**8, 10**9 - 1).map(str)
name = (
    st.text(st.characters(exclude_categories=("Cs", "Cc", "Cn")), min_size=1, max_size=30)
    .map(str.strip)
    .filter(bool)
)
money = st.decimals(min_value=0, max_value=10**9, places=2, allow_nan=False, allow_infinity=False)
contact_types = st.sampled_from(["Телефон рабочий", "Телефон мобильный", "Почта", "Факс"])  # "Прочее" is 2.06+
address_types = st.sampled_from(["Почтовый индекс", "Страна", "Регион", "Город", "Улица", "Дом", "Квартира"])
addresses = st.builds(
    Address,
    presentation=name,
    fields=st.lists(st.builds(AddressField, address_types, name), max_size=3).map(tuple),
)
parties = st.builds(
    Counterparty,
    id=st.none() | st.uuids().map(str),
    name=st.none() | name,
    full_name=name,
    inn=st.none() | inn,
    kpp=st.none() | kpp,
    registration_address=st.none() | addresses,
    contacts=st.lists(st.builds(Contact, contact_types, name), max_size=2).map(tuple),
    role=st.sampled_from(["Покупатель", "Плательщик", "Получатель"]),
) | st.builds(
    Counterparty,
    id=st.none() | st.uuids().map(str),
    name=st.none() | name,
    official_name=name,
    legal_address=st.none() | addresses,
    inn=st.none() | inn,
    kpp=st.none() | kpp,
    role=st.just("Покупатель"),
)
order_lines = st.builds(
    OrderLine,
    id=st.uuids().map(str) | st.just("ORDER_DELIVERY"),
    name=name,
    unit=st.builds(Unit, code=st.sampled_from(["796", "715", "166"]), name=st.none() | name),
    price=st.none() | money,
    quantity=st.none() | money,
    amount=st.none() | money,
    tax_rates=st.lists(
        st.builds(TaxRate, st.just("НДС"), st.sampled_from(["20", "10", "0", "Без налога"])), max_size=1
    ).map(tuple),
    taxes=st.lists(st.builds(TaxSum, st.just("НДС"), st.booleans(), money), max_size=1).map(tuple),
    requisites=st.lists(st.builds(Requisite, name, st.tuples(name)), max_size=2).map(tuple),
)
orders = st.builds(
    Document,
    id=st.uuids().map(str) | st.integers(1, 10**9).map(str),
    number=name,
    date=st.dates(dt.date(2000, 1, 1), dt.date(2100, 1, 1)),
    time=st.none() | st.times().map(lambda t: t.replace(microsecond=0)),
    operation=st.sampled_from(["Заказ товара", "Отпуск товара", "Выплата безналичных денег"]),
    role=st.just("Продавец"),
    currency=st.sampled_from(["RUB", "руб", "USD"]),
    rate=st.just(Decimal(1)),
    amount=money,
    comment=st.none() | name,
    counterparties=st.lists(parties, min_size=1, max_size=2).map(tuple),
    lines=st.lists(order_lines, max_size=3).map(tuple),
    requisites=st.lists(st.builds(Requisite, name, st.tuples(name)), max_size=3).map(tuple),
)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(docs=st.lists(orders, min_size=1, max_size=3), version=st.sampled_from(SCHEMA_VERSIONS))
def test_any_order_in_the_schema_value_space_is_written_valid(
    schema_dir: Path, docs: list[Document], version: str
) -> None:
    assert_valid_orders_document(_write(docs, version, extensions=False), schema_dir)
