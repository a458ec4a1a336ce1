"""Pure parts: the status map's validation and diff, invoice -> Документ, 1C facts and the update plan."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from b24_bridge.invoices.mapping import InvoiceSnapshot, plan_update, read_facts, to_document
from b24_bridge.invoices.statusmap import (
    PortalStage,
    StatusMap,
    StatusRow,
    StatusRules,
    check,
    default_map,
    diff,
)
from commerceml.model import Document, OrderLine, Requisite

STAGES = [
    PortalStage("DT31_5:N", "Новый", 100, None),
    PortalStage("DT31_5:S", "Отправлен", 110, None),
    PortalStage("DT31_5:P", "Оплачен", 130, "S"),
    PortalStage("DT31_5:D", "Отклонён", 140, "F"),
]
MAP = default_map(STAGES, category_id=5)


def test_default_map_has_a_row_per_stage_and_checks_clean() -> None:
    assert [(r.stage, r.code) for r in MAP.rows] == [(s.id, s.id[-1]) for s in STAGES]
    assert check(MAP, STAGES) == []
    assert MAP.info_statuses()[2] == ("P", "Оплачен")


def test_check_reports_unknown_duplicate_and_unmapped() -> None:
    bad = StatusMap(
        rows=(
            StatusRow(stage="DT31_5:N", code="N", name="a"),
            StatusRow(stage="DT31_5:N", code="N", name="b"),
            StatusRow(stage="DT31_9:Q", code="Q", name="c"),
        ),
        rules=StatusRules(shipped_stage="DT31_5:X"),
    )
    messages = [(p.level, p.message) for p in check(bad, STAGES)]
    assert ("error", "row 2: stage 'DT31_5:N' is mapped twice") in messages
    assert any(level == "error" and "code 'N' is used twice" in m for level, m in messages)
    assert any(level == "error" and "unknown stage 'DT31_9:Q'" in m for level, m in messages)
    assert ("error", "rules.shipped_stage: unknown stage 'DT31_5:X'") in messages
    assert ("warning", "stage 'DT31_5:P' (Оплачен) is not mapped to a 1C status") in messages


def test_codes_are_validated() -> None:
    with pytest.raises(ValueError, match="latin letters"):
        StatusRow(stage="DT31_5:N", code="Н", name="cyrillic code")


def test_diff_names_rows_and_rules() -> None:
    changed = MAP.model_copy(update={"rules": StatusRules(shipped_stage="DT31_5:S"), "rows": MAP.rows[:3]})
    change = diff(MAP, changed)
    assert change["rules"] == {"shipped_stage": {"from": None, "to": "DT31_5:S"}}
    assert [r["stage"] for r in change["rows_removed"]] == ["DT31_5:D"]
    assert diff(MAP, MAP) == {}


def _snapshot(stage: str = "DT31_5:N") -> InvoiceSnapshot:
    return InvoiceSnapshot(
        item={
            "id": 7,
            "accountNumber": "7",
            "stageId": stage,
            "companyId": 3,
            "currencyId": "RUB",
            "begindate": "2026-11-23T00:00:00+03:00",
        },
        rows=[
            {
                "id": 1,
                "productId": 11,
                "productName": "Болт",
                "price": 120.0,
                "quantity": 2,
                "taxRate": 20,
                "taxIncluded": "Y",
                "discountSum": 0,
                "sort": 10,
            }
        ],
        company={"ID": 3, "TITLE": "Ромашка", "PHONE": [{"VALUE": "+7 900", "VALUE_TYPE": "WORK"}]},
        requisite={"ID": 4, "RQ_INN": "7707083893", "RQ_KPP": "770701001"},
        product_xml_ids={11: "guid-11"},
    )


def test_to_document_carries_inn_product_id_vat_and_status() -> None:
    doc = to_document(_snapshot(), MAP, STAGES, order_id="7")
    assert doc.amount == Decimal("240.00") and doc.lines[0].id == "guid-11"
    assert doc.counterparties[0].inn == "7707083893" and doc.counterparties[0].contacts[0].value == "+7 900"
    assert doc.lines[0].taxes[0].amount == Decimal("40.00")
    assert doc.requisite("Статус заказа") == "[N] Новый" and doc.requisite("Заказ оплачен") == "false"


def _doc(*requisites: tuple[str, str], amount: str = "240", deleted: bool | None = None) -> Document:
    return Document(
        id="7",
        number="7",
        amount=Decimal(amount),
        deleted=deleted,
        requisites=tuple(Requisite(n, (v,)) for n, v in requisites),
    )


def test_facts_full_partial_shipment_cancel_status() -> None:
    assert read_facts(_doc(("Дата оплаты по 1С", "2026-11-23"))).paid_full
    partial = read_facts(_doc(("Сумма оплаты по 1С", "72"), ("Дата оплаты по 1С", "2026-11-23")))
    assert not partial.paid_full and partial.paid_share == Decimal("30.00")
    assert read_facts(_doc(("Отгружен", "истина"))).shipped
    assert read_facts(_doc(deleted=True)).cancelled
    assert read_facts(_doc(("Статус заказа", "[S] Отправлен"))).status_code == "S"


def test_plan_precedence_and_locked_composition() -> None:
    rules = StatusRules(shipped_stage="DT31_5:S")
    status_map = MAP.model_copy(update={"rules": rules})
    both = _doc(("Дата оплаты по 1С", "2026-11-23"), ("Дата отгрузки по 1С", "2026-11-24"))
    assert plan_update(both, _snapshot(), status_map, STAGES, {}).fields["stageId"] == "DT31_5:S"
    cancelled = _doc(("Дата оплаты по 1С", "2026-11-23"), ("Отменен", "true"))
    assert plan_update(cancelled, _snapshot(), status_map, STAGES, {}).fields["stageId"] == "DT31_5:D"
    line = OrderLine(id="guid-11", name="Болт", price=Decimal(120), quantity=Decimal(5), amount=Decimal(600))
    new_rows = Document(id="7", number="7", amount=Decimal(600), lines=(line,))
    assert plan_update(new_rows, _snapshot(), MAP, STAGES, {"guid-11": 11}).rows is not None
    locked = plan_update(new_rows, _snapshot("DT31_5:P"), MAP, STAGES, {"guid-11": 11})
    assert locked.rows is None and "не может быть изменен" in locked.remarks[0]
    conflict = plan_update(new_rows, _snapshot(), MAP, STAGES, {"guid-11": 11}, portal_changed=True)
    assert conflict.rows is None and conflict.requeue


@given(
    st.decimals(min_value=Decimal("0.01"), max_value=Decimal("1000000"), places=2),
    st.integers(min_value=1, max_value=99),
)
def test_partial_share_is_the_paid_fraction(total: Decimal, percent: int) -> None:
    paid = (total * percent / 100).quantize(Decimal("0.01"))
    facts = read_facts(_doc(("Сумма оплаты по 1С", str(paid)), amount=str(total)))
    share = (paid * 100 / total).quantize(Decimal("0.01"))
    if share >= 100:
        assert facts.paid_full
    elif share > 0:
        assert facts.paid_share == share and not facts.paid_full
