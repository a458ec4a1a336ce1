"""Element -> model converters, one function per CommerceML element. No I/O.

Each converter walks the children of one complete element once, matching them by local name
(namespace-agnostic) and stripping every value. Children it does not model are flattened into
``extra`` as ``(path, value)`` pairs, so nothing is dropped silently. Child order is never relied
upon: 1C configurations disagree on it (protocol.md §9.9).

``path`` arguments are the element's location for error messages, e.g. ``Каталог/Товары/Товар[12]``.
"""

from commerceml._convert.base import LOCAL, attr, flatten, ln
from commerceml._convert.catalog import (
    catalog_info,
    classifier_info,
    group_tree,
    offer_package_info,
    price_type,
    product,
    property_def,
    warehouse,
)
from commerceml._convert.documents import document, order_line
from commerceml._convert.offers import offer, prices
from commerceml._convert.parties import counterparty
from commerceml._convert.parts import base_unit, requisites, unit_element

__all__ = [
    "LOCAL",
    "attr",
    "base_unit",
    "catalog_info",
    "classifier_info",
    "counterparty",
    "document",
    "flatten",
    "group_tree",
    "ln",
    "offer",
    "offer_package_info",
    "order_line",
    "price_type",
    "prices",
    "product",
    "property_def",
    "requisites",
    "unit_element",
    "warehouse",
]
