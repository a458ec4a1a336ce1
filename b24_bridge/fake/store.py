"""Tables of the fake portal and the two faces of its data: legacy UPPER_CASE strings, engine camelCase.

No I/O. Every entity table has its own id sequence that never reuses ids (bitrix24.md §8.7 item 1).
Legacy families answer ids and numbers as strings and take ``Y``/``N``; engine families answer ints
and floats (§1.2, §8.2 item 3).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

__all__ = [
    "RestError",
    "Table",
    "camel_to_upper",
    "iso",
    "legacy_value",
    "param",
    "upper_to_camel",
]


class RestError(Exception):
    """A method-level error: ``{"error": code, "error_description": description}`` with ``status``."""

    def __init__(
        self, code: str | int, description: str, *, status: int = 400, argument: str | None = None
    ) -> None:
        super().__init__(f"{code}: {description}")
        self.code = code
        self.description = description
        self.status = status
        self.argument = argument

    def body(self) -> dict[str, Any]:
        out: dict[str, Any] = {"error": self.code, "error_description": self.description}
        if self.argument is not None:
            out["argument"] = self.argument
        return out


@dataclass
class Table:
    """Rows by id with an auto-increment that survives deletes."""

    name: str
    next_id: int = 1
    rows: dict[int, dict[str, Any]] = field(default_factory=dict)

    def insert(self, row: dict[str, Any], *, id_key: str = "id") -> dict[str, Any]:
        row[id_key] = self.next_id
        self.rows[self.next_id] = row
        self.next_id += 1
        return row

    def get(self, ident: Any) -> dict[str, Any] | None:
        try:
            return self.rows.get(int(str(ident).strip()))
        except (TypeError, ValueError):
            return None

    def delete(self, ident: int) -> None:
        self.rows.pop(ident, None)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(list(self.rows.values()))

    def __len__(self) -> int:
        return len(self.rows)


def param(params: Mapping[str, Any], name: str, *, lenient: bool = True) -> Any:
    """A top-level parameter; legacy methods accept ``fields``/``FIELDS``/``Fields`` (§1.2)."""
    if name in params:
        return params[name]
    if lenient:
        for variant in (name.upper(), name.lower(), name.capitalize()):
            if variant in params:
                return params[variant]
    return None


def iso(ts: float, offset_hours: float) -> str:
    """ISO-8601 with the portal's offset, e.g. ``2026-08-21T12:00:14+03:00``."""
    tz = timezone(timedelta(hours=offset_hours))
    return datetime.fromtimestamp(ts, UTC).astimezone(tz).isoformat(timespec="seconds")


def legacy_value(value: Any, *, money: bool = False) -> Any:
    """How legacy CRM answers a stored value: strings for numbers and ids, ``Y``/``N`` for booleans."""
    if value is None or isinstance(value, (dict, list)):
        return value
    if isinstance(value, bool):
        return "Y" if value else "N"
    if money and isinstance(value, (int, float)):
        return f"{float(value):.2f}"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


_CAMEL_SPLIT = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


def camel_to_upper(name: str) -> str:
    """``stageId`` -> ``STAGE_ID``; ``parentId2`` -> ``PARENT_ID_2`` is not needed and not produced."""
    return _CAMEL_SPLIT.sub("_", name).upper()


def upper_to_camel(name: str) -> str:
    """``STAGE_ID`` -> ``stageId``; ``UF_CRM_1`` -> ``ufCrm1``."""
    head, *rest = name.lower().split("_")
    return head + "".join(part.capitalize() for part in rest)


def to_number(value: Any, default: float = 0.0) -> float:
    if value is None or value == "":
        return default
    try:
        return float(value)
    except (TypeError, ValueError):
        return default


def to_int(value: Any, default: int = 0) -> int:
    if value is None or value == "" or isinstance(value, (dict, list)):
        return default
    try:
        return int(float(str(value)))
    except (TypeError, ValueError):
        return default


def yn(value: Any, default: str = "N") -> str:
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        return "Y" if value else "N"
    return "Y" if str(value).upper() in ("Y", "1", "TRUE") else "N"


Getter = Callable[[Mapping[str, Any], str], Any]
