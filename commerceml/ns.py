"""CommerceML names: namespaces, schema versions and the Russian tag names (as data).

The reader is namespace-agnostic: it matches elements by local name, whatever namespace (none,
``urn:1C.ru:commerceml_2``, ``commerceml_210``, ``commerceml_208``, ``commerceml_3``) a file declares.
"""

from __future__ import annotations

from typing import Final

__all__ = [
    "CML2",
    "CML3",
    "KNOWN_NAMESPACES",
    "KNOWN_VERSIONS",
    "ROOT",
    "any_ns",
    "local_name",
]

CML2: Final = "urn:1C.ru:commerceml_2"
CML3: Final = "urn:1C.ru:commerceml_3"
KNOWN_NAMESPACES: Final = (
    "",
    CML2,
    "urn:1C.ru:commerceml_205",
    "urn:1C.ru:commerceml_208",
    "urn:1C.ru:commerceml_210",
    CML3,
)
KNOWN_VERSIONS: Final = ("2.03", "2.04", "2.05", "2.06", "2.07", "2.08", "2.09", "2.10", "3.1")

ROOT: Final = "КоммерческаяИнформация"

# Element names (local names; data, not identifiers).
CLASSIFIER: Final = "Классификатор"
CATALOG: Final = "Каталог"
OFFERS_PACKAGE: Final = "ПакетПредложений"
OFFERS_CHANGES: Final = "ИзмененияПакетаПредложений"
DOCUMENT: Final = "Документ"
CONTAINER: Final = "Контейнер"
COUNTERPARTIES: Final = "Контрагенты"
COUNTERPARTY: Final = "Контрагент"
GROUPS: Final = "Группы"
GROUP: Final = "Группа"
PROPERTIES: Final = "Свойства"
PROPERTY: Final = "Свойство"
PROPERTY_OLD: Final = "СвойствоНоменклатуры"
PRICE_TYPES: Final = "ТипыЦен"
PRICE_TYPE: Final = "ТипЦены"
WAREHOUSES: Final = "Склады"
WAREHOUSE: Final = "Склад"
UNITS: Final = "ЕдиницыИзмерения"
UNIT: Final = "ЕдиницаИзмерения"
PRODUCTS: Final = "Товары"
PRODUCT: Final = "Товар"
OFFERS: Final = "Предложения"
OFFER: Final = "Предложение"
PRICES: Final = "Цены"
PRICE: Final = "Цена"
CHANGES_ONLY: Final = "СодержитТолькоИзменения"


def any_ns(name: str) -> str:
    """lxml tag pattern matching ``name`` in any namespace or none: ``{*}Товар``."""
    return "{*}" + name


def local_name(tag: object) -> str:
    """The local part of an lxml tag (``{urn:...}Товар`` -> ``Товар``); '' for comments/PIs."""
    if not isinstance(tag, str):
        return ""
    brace = tag.rfind("}")
    return tag[brace + 1 :] if brace >= 0 else tag
