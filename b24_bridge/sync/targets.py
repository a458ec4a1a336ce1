"""The portal as the store wants it: one :class:`Target` per portal entity, with a content hash. No I/O.

A target is keyed by ``(kind, key)`` where ``key`` is the 1C ``Ид`` that becomes the entity's
``xmlId`` (``product#characteristic`` for variations, bitrix24.md Appendix A). Its ``payload`` holds
1C identifiers only; the pusher turns references into portal ids at push time. The ``hash`` covers the
kind and the payload, so "changed" means "something the portal would see changed".

Kinds and their phases (a phase starts once every lower phase is pushed):

======== ===== =========================================================================
kind     phase portal entity
======== ===== =========================================================================
pricetype    0 ``catalog.priceType`` (the base one is the portal's existing base type)
store        0 ``catalog.store`` (or an existing store named in ``[b24.stores]``)
section  10+d  ``catalog.section`` at depth ``d`` of the 1C group tree
product    100 ``catalog.product``; created with ``catalog.product.sku.add`` (a parent of
               variations) when the goods have characteristics. One kind for both, so goods that
               gain characteristics later stay one portal element (never a second one with the
               same ``xmlId``)
offer      110 ``catalog.product.offer`` (``xmlId`` = ``product#characteristic``)
prices     200 ``catalog.price.modify`` of one product or variation
stock      210 stores (inventory documents) or ``quantity`` of one product or variation
images     220 ``catalog.productImage.*`` of one product (files named by content digest)
======== ===== =========================================================================
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Final

from b24_bridge.sync.images import ImageFile
from b24_bridge.sync.mapping import AUTO, OFF, MappingConfig
from b24_bridge.sync.snapshot import CatalogSnapshot, GroupRow, OfferRow, ProductRow

__all__ = ["ELEMENT_KINDS", "KINDS", "PHASES", "Target", "build_targets", "content_hash", "decimal_text"]

PHASES: Final[dict[str, int]] = {
    "pricetype": 0,
    "store": 0,
    "section": 10,
    "product": 100,
    "offer": 110,
    "prices": 200,
    "stock": 210,
    "images": 220,
}
KINDS: Final = tuple(PHASES)
ELEMENT_KINDS: Final = ("product", "offer")
MAX_DEPTH: Final = 80


@dataclass(frozen=True, slots=True)
class Target:
    kind: str
    key: str
    phase: int
    payload: Mapping[str, Any]
    hash: str

    @property
    def ident(self) -> tuple[str, str]:
        return self.kind, self.key


def decimal_text(value: Decimal) -> str:
    """A canonical decimal: ``12.500`` and ``12.5`` hash alike; never an exponent."""
    text = format(value.normalize(), "f")
    return text if text not in ("-0",) else "0"


def content_hash(kind: str, payload: Mapping[str, Any]) -> str:
    body = json.dumps([kind, payload], sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def _target(kind: str, key: str, payload: dict[str, Any], phase: int | None = None) -> Target:
    # "paths" says where local files are, not what the portal holds: not part of the hash.
    hashed = {k: v for k, v in payload.items() if k != "paths"}
    return Target(kind, key, PHASES[kind] if phase is None else phase, payload, content_hash(kind, hashed))


def _images(product_id: str, files: tuple[ImageFile, ...]) -> Target | None:
    present = [f for f in files if f.sha256 is not None]
    if not present:
        return None  # nothing to send; the missing files are a plan warning of the resolver
    payload = {
        "files": [[f.name, f.sha256] for f in present],
        "missing": len(files) - len(present),
        "paths": {f.name: f.path for f in present},
    }
    return _target("images", product_id, payload)


def _depths(groups: Mapping[str, GroupRow]) -> dict[str, int]:
    depths: dict[str, int] = {}
    for start in groups:
        chain: list[str] = []
        node: str | None = start
        while node is not None and node in groups and node not in depths and node not in chain:
            chain.append(node)
            node = groups[node].parent_id
        base = depths.get(node, -1) if node is not None and node in depths else -1
        for offset, ident in enumerate(reversed(chain), start=1):
            depths[ident] = min(base + offset, MAX_DEPTH)
    return depths


def _sections(snapshot: CatalogSnapshot) -> Iterator[Target]:
    groups = {g.id: g for g in snapshot.groups}
    depths = _depths(groups)
    for group in snapshot.groups:
        parent = group.parent_id if group.parent_id in groups and group.parent_id != group.id else None
        if parent is not None and depths[parent] >= depths[group.id]:
            parent = None  # a cycle in the 1C tree: cut it here rather than loop
        payload = {
            "name": group.name,
            "parent": parent,
            "active": group.active,
            "description": group.description,
        }
        yield _target("section", group.id, payload, PHASES["section"] + depths[group.id])


def _price_types(snapshot: CatalogSnapshot, mapping: MappingConfig) -> tuple[list[Target], set[str]]:
    chosen = sorted(
        (p for p in snapshot.price_types if mapping.wants_price_type(p.id, p.name)), key=lambda p: p.id
    )
    base = None
    if mapping.base_price_type is not None:
        base = next((p.id for p in chosen if mapping.base_price_type in (p.id, p.name)), None)
    elif chosen:
        base = chosen[0].id
    out = [
        _target(
            "pricetype",
            p.id,
            {"name": p.name, "base": p.id == base, "currency": p.currency or mapping.currency},
        )
        for p in chosen
    ]
    return out, {p.id for p in chosen}


def _vat(product: ProductRow, mapping: MappingConfig) -> dict[str, Any]:
    for name, rate in product.tax_rates:
        if "ндс" in name.lower() or "vat" in name.lower() or len(product.tax_rates) == 1:
            known, value = mapping.vat_rate(rate)
            if not known:
                return {"vat_unknown": rate}
            return {"vat": value, "vat_included": mapping.vat_included}
    return {}


def _properties(
    product: ProductRow, mapping: MappingConfig, *, article: str | None, barcode: str | None
) -> dict[str, Any]:
    values: dict[str, list[str]] = defaultdict(list)
    for prop_id, value in product.properties:
        field = mapping.properties.get(prop_id)
        if field is not None:
            values[field].append(value)
    out: dict[str, Any] = {f: v[0] if len(v) == 1 else v for f, v in sorted(values.items())}
    for named, code in ((mapping.article_property, article), (mapping.barcode_property, barcode)):
        if named not in (AUTO, OFF) and code:
            out[named] = code  # a field the operator named
    return out


def _codes(mapping: MappingConfig, *, article: str | None, barcode: str | None) -> dict[str, Any]:
    """``"auto"`` mode: ``article``/``barcode`` (``None`` clears); the pusher finds the portal field."""
    out: dict[str, Any] = {}
    if mapping.article_property == AUTO:
        out["article"] = article or None
    if mapping.barcode_property == AUTO:
        out["barcode"] = barcode or None
    return out


def _element_payload(product: ProductRow, mapping: MappingConfig, sections: set[str]) -> dict[str, Any]:
    section = next((g for g in product.group_ids if g in sections), None)
    payload: dict[str, Any] = {
        "name": product.name,
        "active": product.active,
        "section": section,
        "description": product.description,
        "measure": mapping.okei(product.unit_code, product.unit_name),
        "measure_title": product.unit_name or product.unit_code,
        "fields": _properties(product, mapping, article=product.article, barcode=product.barcode),
    }
    payload.update(_codes(mapping, article=product.article, barcode=product.barcode))
    payload.update(_vat(product, mapping))
    return payload


def _offer_payload(product: ProductRow, offer: OfferRow, mapping: MappingConfig) -> dict[str, Any]:
    article, barcode = offer.article or product.article, offer.barcode or product.barcode
    payload: dict[str, Any] = {
        "parent": product.id,
        "name": offer.name or product.name,
        "active": offer.active and product.active,
        "measure": mapping.okei(product.unit_code, product.unit_name),
        "measure_title": product.unit_name or product.unit_code,
        "fields": _properties(
            ProductRow(product.id, product.name, properties=product.properties),
            mapping,
            article=article,
            barcode=barcode,
        ),
    }
    payload.update(_codes(mapping, article=article, barcode=barcode))
    payload.update(_vat(product, mapping))
    return payload


def _prices(
    offer: OfferRow, element: str, kind: str, types: set[str], mapping: MappingConfig
) -> Target | None:
    if offer.prices is None:
        return None
    rows = sorted(
        [p.price_type_id, decimal_text(p.value), (p.currency or mapping.currency)[:3].upper()]
        for p in offer.prices
        if p.price_type_id in types
    )
    return _target("prices", element, {"element": kind, "prices": rows})


def _stock(
    offer: OfferRow, element: str, kind: str, warehouses: set[str], mapping: MappingConfig
) -> Target | None:
    if mapping.stock_mode == "off" or (offer.stock is None and offer.quantity is None):
        return None
    stores: dict[str, Decimal] = defaultdict(Decimal)
    for row in offer.stock or ():
        if row.warehouse_id in warehouses:
            stores[row.warehouse_id] += row.quantity
    total = offer.quantity if offer.quantity is not None else sum(stores.values(), Decimal(0))
    payload: dict[str, Any] = {
        "element": kind,
        "stores": {w: decimal_text(q) for w, q in sorted(stores.items())},
        "total": decimal_text(total),
    }
    mapped = {w: mapping.stores[w] for w in sorted(stores) if w in mapping.stores}
    if mapped:  # a warehouse mapped or unmapped changes where the amounts go: send them again
        payload["into"] = mapped
    return _target("stock", element, payload)


def build_targets(
    snapshot: CatalogSnapshot,
    mapping: MappingConfig,
    images: Mapping[str, tuple[ImageFile, ...]] | None = None,
) -> list[Target]:
    """Every portal entity the snapshot calls for, in phase order (then kind, then key).

    ``images``: the resolved picture files per product (``ImageResolver``); none: no images.
    """
    out: list[Target] = []
    price_types, chosen_types = _price_types(snapshot, mapping)
    out.extend(price_types)
    warehouses = {w.id for w in snapshot.warehouses}
    if mapping.stock_mode != "off":
        out.extend(
            _target(
                "store",
                w.id,
                {"title": w.name or w.id, "active": w.active, "mapped": mapping.stores.get(w.id)},
            )
            for w in snapshot.warehouses
        )
    out.extend(_sections(snapshot))
    sections = {g.id for g in snapshot.groups}
    offers_of: dict[str, list[OfferRow]] = defaultdict(list)
    for offer in snapshot.offers:
        offers_of[offer.product_id].append(offer)
    for product in snapshot.products:
        offers = offers_of.get(product.id, [])
        variations = sorted((o for o in offers if o.characteristic_id), key=lambda o: o.id)
        payload = _element_payload(product, mapping, sections)
        payload["variations"] = bool(variations)
        if mapping.images and images and images.get(product.id):
            pictures = _images(product.id, images[product.id])
            if pictures is not None:
                out.append(pictures)
        if not variations:
            out.append(_target("product", product.id, payload))
            own = next((o for o in offers if o.id == product.id), None)
            if own is not None:
                for extra in (
                    _prices(own, product.id, "product", chosen_types, mapping),
                    _stock(own, product.id, "product", warehouses, mapping),
                ):
                    if extra is not None:
                        out.append(extra)
            continue
        out.append(_target("product", product.id, payload))
        for offer in variations:
            out.append(_target("offer", offer.id, _offer_payload(product, offer, mapping)))
            for extra in (
                _prices(offer, offer.id, "offer", chosen_types, mapping),
                _stock(offer, offer.id, "offer", warehouses, mapping),
            ):
                if extra is not None:
                    out.append(extra)
    out.sort(key=lambda t: (t.phase, t.kind, t.key))
    return out
