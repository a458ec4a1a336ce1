"""Portal fields of each target kind: from a target payload plus resolved portal ids. No I/O.

:class:`PortalDirectory` is what the pusher learns from the portal once per run (iblocks, VAT and
measure ids, the base price type, inventory management). :func:`element_fields` raises
:class:`Unresolved` with an operator-readable reason when a reference cannot be resolved yet.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

__all__ = [
    "ENTITY_METHODS",
    "EntityMethods",
    "PortalDirectory",
    "Unresolved",
    "element_fields",
    "references",
    "yn",
]


class Unresolved(Exception):
    """A reference of a job is not in the portal (yet): the job fails with this message."""


@dataclass(frozen=True, slots=True)
class EntityMethods:
    prefix: str
    add_key: str
    list_key: str
    iblock: str | None  # "product" / "offers": the list filter and add fields need iblockId

    @property
    def add(self) -> str:
        return f"{self.prefix}.add"

    @property
    def update(self) -> str:
        return f"{self.prefix}.update"

    @property
    def list(self) -> str:
        return f"{self.prefix}.list"


ENTITY_METHODS: Final[dict[str, EntityMethods]] = {
    "section": EntityMethods("catalog.section", "section", "sections", "product"),
    "product": EntityMethods("catalog.product", "element", "products", "product"),
    "sku": EntityMethods("catalog.product.sku", "sku", "units", "product"),
    "offer": EntityMethods("catalog.product.offer", "offer", "offers", "offers"),
    "pricetype": EntityMethods("catalog.priceType", "priceType", "priceTypes", None),
    "store": EntityMethods("catalog.store", "store", "stores", None),
}


@dataclass(frozen=True, slots=True)
class PortalDirectory:
    """The portal's own directories, read once per push run."""

    product_iblock: int
    offers_iblock: int | None
    vat_ids: Mapping[float | None, int] = field(default_factory=dict)
    measure_ids: Mapping[int, int] = field(default_factory=dict)
    base_price_type: int | None = None
    inventory: bool = False
    #: ``xmlId`` of the base price type: ``None``/``"BASE"`` while no 1C price type took it over.
    base_price_type_xml: str | None = None
    #: ``(catalog, what) -> "propertyN"``: where ``article``/``barcode`` go (catalog "product"/"offers").
    properties: Mapping[tuple[str, str], str] = field(default_factory=dict)

    def property_field(self, kind: str, what: str) -> str | None:
        return self.properties.get(("offers" if kind == "offer" else "product", what))

    def iblock(self, which: str | None) -> int | None:
        if which == "product":
            return self.product_iblock
        if which == "offers":
            if self.offers_iblock is None:
                raise Unresolved("the portal has no offers catalog (variations are not enabled)")
            return self.offers_iblock
        return None


def yn(value: object) -> str:
    return "Y" if value else "N"


def _vat(payload: Mapping[str, Any], directory: PortalDirectory) -> dict[str, Any]:
    if "vat" not in payload:
        return {}
    rate = payload["vat"]
    key = None if rate is None else float(rate)
    vat_id = directory.vat_ids.get(key)
    if vat_id is None:
        shown = "no VAT" if key is None else f"{key:g}%"
        raise Unresolved(
            f"VAT rate {shown} does not exist in the portal (catalog.vat.list); add it or map it in [b24.vat]"
        )
    return {"vatId": vat_id, "vatIncluded": yn(payload.get("vat_included", True))}


def _measure(payload: Mapping[str, Any], directory: PortalDirectory) -> dict[str, Any]:
    code = payload.get("measure")
    if code is None:
        return {}
    measure = directory.measure_ids.get(int(code))
    if measure is None:
        raise Unresolved(
            f"unit with OKEI code {code} is not among the portal's measures (catalog.measure.list); "
            "add it there or map the 1C unit in [b24.measures]"
        )
    return {"measure": measure}


def element_fields(
    kind: str,
    key: str,
    payload: Mapping[str, Any],
    directory: PortalDirectory,
    refs: Mapping[tuple[str, str], int],
) -> dict[str, Any]:
    """The ``fields`` of an add/update of ``kind`` (``refs``: portal ids of referenced entities)."""
    if payload.get("retired"):
        return {"active": "N"}  # left the plan: deactivated, never deleted
    if kind == "pricetype":
        # Only the base is flagged: making a type the base demotes the previous one in the portal,
        # which refuses a catalog without a base type (so "base": "N" is never sent).
        named: dict[str, Any] = {"name": payload["name"], "xmlId": key}
        return {**named, "base": "Y"} if payload.get("base") else named
    if kind == "store":
        title = str(payload["title"])
        return {"title": title, "address": title, "xmlId": key, "active": yn(payload.get("active", True))}
    if kind == "section":
        parent = payload.get("parent")
        parent_id = None
        if parent is not None:
            parent_id = refs.get(("section", str(parent)))
            if parent_id is None:
                raise Unresolved(f"parent section {parent} is not in the portal yet")
        return {
            "iblockId": directory.product_iblock,
            "name": payload["name"],
            "xmlId": key,
            "iblockSectionId": parent_id,
            "active": yn(payload.get("active", True)),
            "description": payload.get("description") or "",
        }
    fields: dict[str, Any] = {
        "name": payload["name"],
        "xmlId": key,
        "active": yn(payload.get("active", True)),
    }
    if kind == "offer":
        fields["iblockId"] = directory.iblock("offers")
        parent = refs.get(("product", str(payload["parent"])))
        if parent is None:
            raise Unresolved(f"parent product {payload['parent']} is not in the portal yet")
        fields["parentId"] = parent
    elif kind == "product":
        fields["iblockId"] = directory.product_iblock
        section = payload.get("section")
        if section is not None:
            section_id = refs.get(("section", str(section)))
            if section_id is None:
                raise Unresolved(f"section {section} is not in the portal yet")
            fields["iblockSectionId"] = section_id
        fields["detailText"] = payload.get("description") or ""
    else:
        raise ValueError(f"not an element kind: {kind!r}")
    fields.update(_measure(payload, directory))
    fields.update(_vat(payload, directory))
    fields.update(payload.get("fields") or {})
    fields.update(_codes(kind, payload, directory))
    return fields


def _codes(kind: str, payload: Mapping[str, Any], directory: PortalDirectory) -> dict[str, Any]:
    """``article``/``barcode`` of the ``"auto"`` mode into the portal's property fields."""
    out: dict[str, Any] = {}
    for what in ("article", "barcode"):
        if what not in payload:
            continue
        value = payload[what]
        field_name = directory.property_field(kind, what)
        if field_name is None:
            if value in (None, ""):
                continue  # nothing to write, nothing to clear
            catalog = "offers" if kind == "offer" else "products"
            raise Unresolved(
                f"the portal's {catalog} catalog has no {what} property (catalog.productProperty.list); "
                f"add one, set create_properties = true, name a field in [b24] {what}_property, "
                f'or set {what}_property = "off"'
            )
        out[field_name] = "" if value is None else value
    return out


def references(kind: str, key: str, payload: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The ``(kind, key)`` entities a job of ``kind`` needs the portal ids of."""
    if payload.get("retired"):
        element = payload.get("element")
        return [(str(element), key)] if element is not None else []
    if kind == "section" and payload.get("parent") is not None:
        return [("section", str(payload["parent"]))]
    if kind == "product" and payload.get("section") is not None:
        return [("section", str(payload["section"]))]
    if kind == "offer":
        return [("product", str(payload["parent"]))]
    if kind == "prices":
        return [(str(payload["element"]), key)] + [
            ("pricetype", str(r[0])) for r in payload.get("prices", [])
        ]
    if kind == "images":
        return [("product", key)]
    if kind == "stock":
        return [(str(payload["element"]), key)] + [("store", str(w)) for w in payload.get("stores", {})]
    return []
