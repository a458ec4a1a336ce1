"""The legacy CRM face: UPPER_CASE fields, string ids, ``{"error": ""}`` errors — one generic entity.

No I/O. ``LegacyEntity`` gives ``crm.<name>.add/update/get/list/delete/fields`` over one table with
the conventions of bitrix24.md §1.2, §1.5, §5.1: unknown fields ignored, ``add`` answers an int,
``get``/``list`` answer strings, multi-fields (PHONE/EMAIL/WEB/IM) only when selected by name, items
with ``ID`` update a multi-field value (empty ``VALUE`` deletes it) and items without ``ID`` add one.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from b24_bridge.fake.query import order_rows, page_rows, parse_filter, select_rows
from b24_bridge.fake.registry import Call, Result, method
from b24_bridge.fake.store import RestError, legacy_value, param, to_int

__all__ = ["MULTI_FIELDS", "LegacyEntity", "legacy_error", "legacy_fields", "legacy_getter"]

MULTI_FIELDS: Final = ("PHONE", "EMAIL", "WEB", "IM")
NOT_FOUND: Final = "Not found"
BAD_ID: Final = "ID is not defined or invalid."


def legacy_error(description: str) -> RestError:
    """Legacy crm.* throw message-only exceptions: empty code, HTTP 400 (bitrix24.md §1.5)."""
    return RestError("", description)


def legacy_fields(call: Call) -> dict[str, Any]:
    fields = param(call.params, "fields")
    if not isinstance(fields, Mapping):
        raise legacy_error("The parameter 'fields' must be array.")
    return {str(k).upper() if not str(k).startswith("UF_") else str(k): v for k, v in fields.items()}


def legacy_getter(row: Mapping[str, Any], name: str) -> Any:
    value = row.get(name.upper()) if name.upper() in row else row.get(name)
    if isinstance(value, list) and value and isinstance(value[0], Mapping) and "VALUE" in value[0]:
        return [v["VALUE"] for v in value]
    return value


@dataclass
class LegacyEntity:
    """``crm.<name>.*`` over table ``table``; ``event`` is the event prefix (``ONCRMCOMPANY``)."""

    name: str
    table: str
    event: str
    fields: tuple[str, ...]
    required: tuple[str, ...] = ()
    money: frozenset[str] = frozenset()
    dates: frozenset[str] = frozenset({"DATE_CREATE", "DATE_MODIFY"})
    defaults: dict[str, Any] = field(default_factory=dict)
    validate: Callable[[Call, dict[str, Any], dict[str, Any] | None], None] | None = None
    after_write: Callable[[Call, dict[str, Any], dict[str, Any]], None] | None = None
    extra_get: Callable[[Call, dict[str, Any], dict[str, Any]], None] | None = None

    def register(self) -> None:
        prefix = f"crm.{self.name}"
        method(f"{prefix}.add", scope="crm")(self.add)
        method(f"{prefix}.update", scope="crm")(self.update)
        method(f"{prefix}.get", scope="crm")(self.get)
        method(f"{prefix}.list", scope="crm")(self.list)
        method(f"{prefix}.delete", scope="crm")(self.delete)
        method(f"{prefix}.fields", scope="crm")(self.describe)

    def _accept(self, call: Call, row: dict[str, Any], incoming: Mapping[str, Any]) -> None:
        for key, value in incoming.items():
            if key in MULTI_FIELDS and key in self.fields:
                row[key] = self._merge_multi(call, row.get(key) or [], value, key)
            elif key in self.fields or key.startswith("UF_"):
                row[key] = value
            # anything else is silently ignored (bitrix24.md §8.7 item 3)

    @staticmethod
    def _merge_multi(
        call: Call, current: list[dict[str, Any]], value: Any, type_id: str
    ) -> list[dict[str, Any]]:
        items = list(value.values()) if isinstance(value, Mapping) else list(value or [])
        out = [dict(v) for v in current]
        for item in items:
            if not isinstance(item, Mapping):
                continue
            if item.get("ID"):
                existing = next((v for v in out if str(v["ID"]) == str(item["ID"])), None)
                if existing is None:
                    continue
                if item.get("VALUE", existing["VALUE"]) in ("", None):
                    out.remove(existing)
                else:
                    existing["VALUE"] = item.get("VALUE", existing["VALUE"])
                    existing["VALUE_TYPE"] = item.get("VALUE_TYPE", existing["VALUE_TYPE"])
            elif item.get("VALUE") not in (None, ""):
                mf = call.portal.state.t("multifield").insert({}, id_key="ID")
                out.append(
                    {
                        "ID": mf["ID"],
                        "VALUE": str(item["VALUE"]),
                        "VALUE_TYPE": str(item.get("VALUE_TYPE") or "WORK"),
                        "TYPE_ID": type_id,
                    }
                )
        return out

    def _row(self, call: Call) -> dict[str, Any]:
        ident = param(call.params, "id")
        if to_int(ident) <= 0:
            raise legacy_error(BAD_ID)
        row = call.portal.state.t(self.table).get(ident)
        if row is None:
            raise legacy_error(NOT_FOUND)
        return row

    def add(self, call: Call) -> int:
        incoming = legacy_fields(call)
        for name in self.required:
            if incoming.get(name) in (None, ""):
                raise legacy_error(f"Required fields are not filled: {name}")
        if self.validate is not None:
            self.validate(call, incoming, None)
        row: dict[str, Any] = dict(self.defaults)
        self._accept(call, row, incoming)
        row.update(
            {
                "DATE_CREATE": call.now,
                "DATE_MODIFY": call.now,
                "CREATED_BY_ID": call.auth.user_id,
                "MODIFY_BY_ID": call.auth.user_id,
            }
        )
        call.portal.state.t(self.table).insert(row, id_key="ID")
        if self.after_write is not None:
            self.after_write(call, row, incoming)
        call.emit(f"{self.event}ADD", {"FIELDS": {"ID": row["ID"]}})
        return int(row["ID"])

    def update(self, call: Call) -> bool:
        row = self._row(call)
        incoming = legacy_fields(call)
        if self.validate is not None:
            self.validate(call, incoming, row)
        self._accept(call, row, incoming)
        row["DATE_MODIFY"] = call.now
        row["MODIFY_BY_ID"] = call.auth.user_id
        if self.after_write is not None:
            self.after_write(call, row, incoming)
        call.emit(f"{self.event}UPDATE", {"FIELDS": {"ID": row["ID"]}})
        return True

    def view(self, call: Call, row: Mapping[str, Any], select: list[str] | None) -> dict[str, Any]:
        names: list[str]
        if not select or "*" in select:
            names = [f for f in ("ID", *self.fields) if f not in MULTI_FIELDS]
            names += [s for s in (select or []) if s in MULTI_FIELDS]
            if "UF_*" in (select or []) or not select:
                names += sorted(k for k in row if k.startswith("UF_"))
        else:
            names = ["ID", *[s for s in select if s != "ID"]]
        out: dict[str, Any] = {}
        for name in names:
            value = row.get(name)
            if name in self.dates and isinstance(value, (int, float)):
                out[name] = call.portal.iso(value)
            elif name in MULTI_FIELDS:
                out[name] = [{k: legacy_value(v) for k, v in item.items()} for item in (value or [])]
            else:
                out[name] = legacy_value(value, money=name in self.money)
        return out

    def get(self, call: Call) -> dict[str, Any]:
        row = self._row(call)
        out = self.view(call, row, ["*", *[f for f in MULTI_FIELDS if f in self.fields], "UF_*"])
        if self.extra_get is not None:
            self.extra_get(call, row, out)
        return out

    def rows(self, call: Call) -> list[dict[str, Any]]:
        group = parse_filter(param(call.params, "filter"))
        rows = select_rows(call.portal.state.t(self.table), group, legacy_getter)
        return order_rows(rows, param(call.params, "order"), legacy_getter, "ID", rng=call.portal.list_rng())

    def list(self, call: Call) -> Result:
        select = param(call.params, "select")
        select_list = [str(s) for s in (select.values() if isinstance(select, Mapping) else select or [])]
        page = page_rows(self.rows(call), param(call.params, "start"), legacy=True)
        return Result([self.view(call, r, select_list) for r in page.rows], page.total, page.next)

    def delete(self, call: Call) -> bool:
        row = self._row(call)
        call.portal.state.t(self.table).delete(row["ID"])
        call.emit(f"{self.event}DELETE", {"FIELDS": {"ID": row["ID"]}})
        return True

    def describe(self, call: Call) -> dict[str, Any]:
        return {
            name: {
                "type": "crm_multifield" if name in MULTI_FIELDS else "string",
                "isRequired": name in self.required,
                "isReadOnly": False,
                "isMultiple": name in MULTI_FIELDS,
                "title": name,
            }
            for name in ("ID", *self.fields)
        }
