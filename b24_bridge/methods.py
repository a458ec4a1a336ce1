"""What the client knows about REST methods: reads vs writes, legacy vs engine families, and how to
find what a create made.

No I/O. REST v2 has no idempotency key, so a create whose answer was lost may or may not have run
(bitrix24.md §7.4 item 4). ``CREATE_KEYS`` says, per create method, which field identifies the entity
(the 1C GUID kept in ``XML_ID``/``xmlId``/``ORIGIN_ID``) and which list call finds it, so the client
looks before it creates again instead of retrying blindly.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

__all__ = [
    "CREATE_KEYS",
    "CreateKey",
    "Lookup",
    "MethodKind",
    "classify",
    "id_field",
    "is_engine",
    "lookup_for",
]


class MethodKind(enum.Enum):
    READ = "read"  # repeat freely
    IDEMPOTENT = "idempotent"  # update/set/delete: repeating leaves the same state
    CREATE = "create"  # repeating may create a second entity: never blindly


_READ_SUFFIXES: Final = (
    ".get",
    ".list",
    ".fields",
    ".getfields",
    ".getfieldsbyfilter",
    ".status",
    ".countries",
    ".findbycomm",
    ".isoffers",
    ".getavailableforpayment",
    ".download",
    ".entity.types",
)
_READ_METHODS: Final = frozenset(
    {"events", "feature.get", "event.get", "profile", "scope", "methods", "app.info"}
)
_IDEMPOTENT_SUFFIXES: Final = (
    ".update",
    ".delete",
    ".set",
    ".modify",
    ".conduct",
    ".cancel",
    ".pay",
    ".unpay",
    ".clear",
    ".error",
    ".unbind",
    ".register",
    ".unregister",
    ".setquantity",
    ".conductlist",
    ".cancellist",
    ".deletelist",
)
# event.offline.get with clear=1 deletes what it returns: repeating it loses events.
_DESTRUCTIVE_READS: Final = frozenset({"event.offline.get"})


def classify(method: str, params: Mapping[str, Any] | None = None) -> MethodKind:
    """Whether ``method`` may be repeated after an answer was lost. Unknown methods count as creates."""
    name = method.lower()
    if name in _DESTRUCTIVE_READS:
        clear = (params or {}).get("clear", 1)
        return MethodKind.READ if str(clear) in ("0", "N", "False", "false") else MethodKind.CREATE
    if name in _READ_METHODS or name.endswith(_READ_SUFFIXES):
        return MethodKind.READ
    if name.endswith(_IDEMPOTENT_SUFFIXES):
        return MethodKind.IDEMPOTENT
    return MethodKind.CREATE


def is_engine(method: str) -> bool:
    """Engine families speak camelCase and int ids; legacy ``crm.*`` speak UPPER_CASE (bitrix24.md §1.2)."""
    name = method.lower()
    return name.startswith(("catalog.", "crm.item.", "crm.category.", "crm.stagehistory."))


def id_field(method: str) -> str:
    return "id" if is_engine(method) else "ID"


@dataclass(frozen=True, slots=True)
class CreateKey:
    """How to find the entity a create call made."""

    list_method: str
    key_fields: tuple[str, ...]  # all required in params["fields"], filtered by equality
    optional_fields: tuple[str, ...] = ()  # added to the filter when present
    scope_params: tuple[str, ...] = ()  # top-level params copied as-is (entityTypeId)
    scope_fields: tuple[str, ...] = ()  # fields copied into the filter (iblockId)
    wrapper: str | None = None  # list answer key of engine methods
    get_method: str | None = None  # engine creates answer with the full object: fetch it
    get_key: str | None = None
    result_key: str | None = None  # key of the create answer ("item", "element", ...)


def _engine(
    list_method: str,
    wrapper: str,
    get_key: str,
    result_key: str,
    *,
    scope_fields: tuple[str, ...] = (),
    scope_params: tuple[str, ...] = (),
    keys: tuple[str, ...] = ("xmlId",),
) -> CreateKey:
    base = list_method.rsplit(".", 1)[0]
    return CreateKey(
        list_method,
        keys,
        scope_params=scope_params,
        scope_fields=scope_fields,
        wrapper=wrapper,
        get_method=f"{base}.get",
        get_key=get_key,
        result_key=result_key,
    )


CREATE_KEYS: Final[Mapping[str, CreateKey]] = {
    "crm.product.add": CreateKey("crm.product.list", ("XML_ID",)),
    "crm.productsection.add": CreateKey("crm.productsection.list", ("XML_ID",)),
    "crm.company.add": CreateKey("crm.company.list", ("ORIGIN_ID",), ("ORIGINATOR_ID",)),
    "crm.contact.add": CreateKey("crm.contact.list", ("ORIGIN_ID",), ("ORIGINATOR_ID",)),
    "crm.deal.add": CreateKey("crm.deal.list", ("ORIGIN_ID",), ("ORIGINATOR_ID",)),
    "crm.requisite.add": CreateKey("crm.requisite.list", ("XML_ID",), ("ENTITY_TYPE_ID", "ENTITY_ID")),
    "crm.invoice.add": CreateKey("crm.invoice.list", ("XML_ID",)),
    "crm.item.add": _engine("crm.item.list", "items", "item", "item", scope_params=("entityTypeId",)),
    "catalog.product.add": _engine(
        "catalog.product.list", "products", "product", "element", scope_fields=("iblockId",)
    ),
    "catalog.product.sku.add": _engine(
        "catalog.product.sku.list", "units", "sku", "sku", scope_fields=("iblockId",)
    ),
    "catalog.product.offer.add": _engine(
        "catalog.product.offer.list", "offers", "offer", "offer", scope_fields=("iblockId",)
    ),
    "catalog.product.service.add": _engine(
        "catalog.product.service.list", "services", "service", "service", scope_fields=("iblockId",)
    ),
    "catalog.section.add": _engine(
        "catalog.section.list", "sections", "section", "section", scope_fields=("iblockId",)
    ),
    "catalog.store.add": _engine("catalog.store.list", "stores", "store", "store"),
    "catalog.priceType.add": _engine("catalog.priceType.list", "priceTypes", "priceType", "priceType"),
    "catalog.price.add": _engine(
        "catalog.price.list", "prices", "price", "price", keys=("productId", "catalogGroupId")
    ),
}


@dataclass(frozen=True, slots=True)
class Lookup:
    """A ready list call that finds what a create made, and how to shape its answer like the create's."""

    key: CreateKey
    params: dict[str, Any]
    scope: dict[str, Any]


def _fields(params: Mapping[str, Any]) -> Mapping[str, Any] | None:
    for name in ("fields", "FIELDS", "Fields"):
        value = params.get(name)
        if isinstance(value, Mapping):
            return value
    return None


def lookup_for(method: str, params: Mapping[str, Any]) -> Lookup | None:
    """The lookup that can tell whether ``method(params)`` created its entity, or ``None``.

    ``None`` when the method is not in :data:`CREATE_KEYS` or the call carries no key value (no
    ``XML_ID``): such a create cannot be reconciled and is never retried after a lost answer.
    """
    key = next((v for k, v in CREATE_KEYS.items() if k.lower() == method.lower()), None)
    fields = _fields(params)
    if key is None or fields is None:
        return None
    flt: dict[str, Any] = {}
    for name in key.key_fields:
        value = fields.get(name)
        if value is None or value == "":
            return None
        flt[name] = value
    for name in key.optional_fields + key.scope_fields:
        if fields.get(name) not in (None, ""):
            flt[name] = fields[name]
    scope = {name: params[name] for name in key.scope_params if name in params}
    ident = id_field(key.list_method)
    list_params: dict[str, Any] = {**scope, "filter": flt, "order": {ident: "DESC"}, "start": -1}
    select = [ident, *key.scope_fields]
    list_params["select"] = select
    return Lookup(key, list_params, scope)
