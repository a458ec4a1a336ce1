"""The fake portal's data: one table per entity and the seeded directories of a fresh RU portal.

No I/O. Seeds follow bitrix24.md §8.7 item 2: admin user 1, RUB, VAT rates (none, 0, 10, 20, 22 %),
OKEI measures with 796 "шт" as default, price type 1 BASE, one store, the product and offers catalogs,
requisite presets, person types, a pay system, deal stages, the smart-invoice category with stages
``DT31_<cat>:N/S/P/D`` and the old ``INVOICE_STATUS`` list.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from b24_bridge.fake.store import Table

__all__ = ["PRODUCT_IBLOCK", "OFFERS_IBLOCK", "SKU_PROPERTY", "PortalState", "STAGE_SUFFIXES"]

PRODUCT_IBLOCK = 23
OFFERS_IBLOCK = 24
SKU_PROPERTY = 97

# (suffix, name, sort, semantics, color) — CCrmStatus::GetDefaultInvoiceStatuses (bitrix24.md §4.1).
STAGE_SUFFIXES: tuple[tuple[str, str, int, str | None, str], ...] = (
    ("N", "Новый", 100, None, "#39A8EF"),
    ("S", "Отправлен клиенту", 110, None, "#2FC6F6"),
    ("P", "Оплачен", 130, "S", "#7BD500"),
    ("D", "Отклонён", 140, "F", "#FF5752"),
)
_DEAL_STAGES = (
    ("NEW", "Новая", 10, None),
    ("PREPARATION", "Подготовка документов", 20, None),
    ("EXECUTING", "В работе", 30, None),
    ("WON", "Сделка успешна", 60, "S"),
    ("LOSE", "Сделка провалена", 70, "F"),
)
TABLES = (
    "company",
    "contact",
    "deal",
    "requisite",
    "bankdetail",
    "element",
    "section",
    "price",
    "pricetype",
    "vat",
    "measure",
    "store",
    "storeproduct",
    "document",
    "docelement",
    "productrow",
    "item",
    "invoice",
    "payment",
    "handler",
    "offline",
    "stagehistory",
    "image",
    "status",
    "multifield",
    "address",
    "productproperty",
)


@dataclass
class PortalState:
    """Every entity of one portal, by table name."""

    smart_invoice_category: int = 5
    id_base: int = 1
    tables: dict[str, Table] = field(default_factory=dict)
    categories: list[dict[str, Any]] = field(default_factory=list)
    presets: list[dict[str, Any]] = field(default_factory=list)
    person_types: list[dict[str, Any]] = field(default_factory=list)
    pay_systems: list[dict[str, Any]] = field(default_factory=list)
    inventory_mode: bool = False
    features: dict[str, str] = field(default_factory=lambda: {"rest_offline_extended": "Y"})
    #: productrows owned by old invoices live inside the invoice (PRODUCT_ROWS), not in productrow.
    addresses: dict[tuple[int, int, int], dict[str, Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in TABLES:
            self.tables[name] = Table(name, next_id=self.id_base)
        self._seed()

    def t(self, name: str) -> Table:
        return self.tables[name]

    def _seed(self) -> None:
        for name, rate, sort in (
            ("Без НДС", None, 100),
            ("НДС 0%", 0.0, 200),
            ("НДС 10%", 10.0, 300),
            ("НДС 20%", 20.0, 400),
            ("НДС 22%", 22.0, 500),
        ):
            self.t("vat").insert({"name": name, "rate": rate, "active": "Y", "sort": sort, "timestampX": 0.0})
        for code, title, sym, intl, letter in (
            (6, "Метр", "м", "m", "MTR"),
            (112, "Литр", "л", "l", "LTR"),
            (163, "Грамм", "г", "g", "GRM"),
            (166, "Килограмм", "кг", "kg", "KGM"),
            (796, "Штука", "шт", "pc. 1", "PCE"),
        ):
            self.t("measure").insert(
                {
                    "code": code,
                    "measureTitle": title,
                    "symbol": sym,
                    "symbolIntl": intl,
                    "symbolLetterIntl": letter,
                    "isDefault": "Y" if code == 796 else "N",
                }
            )
        self.t("pricetype").insert({"name": "BASE", "base": "Y", "sort": 100, "xmlId": "BASE"})
        self.t("store").insert(
            {
                "title": "Основной склад",
                "code": None,
                "xmlId": None,
                "active": "Y",
                "address": "Москва",
                "sort": 100,
            }
        )
        cat = self.smart_invoice_category
        self.categories = [
            {
                "id": cat,
                "name": "Счета",
                "sort": 500,
                "entityTypeId": 31,
                "isDefault": "Y",
                "originId": "",
                "originatorId": "",
            },
            {
                "id": 0,
                "name": "Общая",
                "sort": 100,
                "entityTypeId": 2,
                "isDefault": "Y",
                "originId": "",
                "originatorId": "",
            },
        ]
        for suffix, name, sort, semantics, color in STAGE_SUFFIXES:
            self._status("INVOICE_STATUS", suffix, name, sort, semantics, color, None)
        for suffix, name, sort, semantics, color in STAGE_SUFFIXES:
            self._status(
                f"SMART_INVOICE_STAGE_{cat}", f"DT31_{cat}:{suffix}", name, sort, semantics, color, cat
            )
        for status_id, name, sort, semantics in _DEAL_STAGES:
            self._status("DEAL_STAGE", status_id, name, sort, semantics, "#39A8EF", 0)
        for index, status_id in enumerate(("CUSTOMER", "SUPPLIER", "COMPETITOR", "PARTNER", "OTHER")):
            self._status("COMPANY_TYPE", status_id, status_id.capitalize(), 10 * (index + 1), None, "", None)
        self.presets = [
            {
                "ID": 1,
                "ENTITY_TYPE_ID": 8,
                "COUNTRY_ID": 1,
                "NAME": "Организация",
                "XML_ID": "#CRM_REQUISITE_PRESET_DEF_RU_COMPANY#",
                "ACTIVE": "Y",
                "SORT": 500,
            },
            {
                "ID": 2,
                "ENTITY_TYPE_ID": 8,
                "COUNTRY_ID": 1,
                "NAME": "ИП",
                "XML_ID": "#CRM_REQUISITE_PRESET_DEF_RU_INDIVIDUAL#",
                "ACTIVE": "Y",
                "SORT": 510,
            },
            {
                "ID": 3,
                "ENTITY_TYPE_ID": 8,
                "COUNTRY_ID": 1,
                "NAME": "Физ. лицо",
                "XML_ID": "#CRM_REQUISITE_PRESET_DEF_RU_PERSON#",
                "ACTIVE": "Y",
                "SORT": 520,
            },
        ]
        self.person_types = [{"ID": 1, "NAME": "CRM_CONTACT"}, {"ID": 2, "NAME": "CRM_COMPANY"}]
        self.pay_systems = [{"ID": 6, "NAME": "Cash", "ACTIVE": "Y", "PERSON_TYPE_ID": 2}]

    def _status(
        self,
        entity: str,
        status_id: str,
        name: str,
        sort: int,
        semantics: str | None,
        color: str,
        category: int | None,
    ) -> None:
        extra = {
            "SEMANTICS": {"S": "success", "F": "failure"}.get(semantics or "", "process"),
            "COLOR": color,
        }
        self.t("status").insert(
            {
                "ENTITY_ID": entity,
                "STATUS_ID": status_id,
                "NAME": name,
                "NAME_INIT": name,
                "SORT": sort,
                "SYSTEM": "Y",
                "CATEGORY_ID": category,
                "COLOR": color,
                "SEMANTICS": semantics,
                "EXTRA": extra,
            },
            id_key="ID",
        )

    def stage_ids(self, category: int) -> list[str]:
        entity = f"SMART_INVOICE_STAGE_{category}"
        return [row["STATUS_ID"] for row in self.t("status") if row["ENTITY_ID"] == entity]

    def stage_semantics(self, stage_id: str) -> str | None:
        for row in self.t("status"):
            if row["STATUS_ID"] == stage_id:
                return row["SEMANTICS"]  # type: ignore[no-any-return]
        return None
