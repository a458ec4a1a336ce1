"""Model objects as JSON-ready dictionaries (for ``inspect --records``, logs and the API). No I/O."""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
from decimal import Decimal
from typing import Any

__all__ = ["entity_kind", "to_jsonable"]


def entity_kind(entity: object) -> str:
    """``Product`` -> ``product``, ``OfferPackageInfo`` -> ``offer_package_info``."""
    name = type(entity).__name__
    return "".join(("_" + c.lower()) if c.isupper() and i else c.lower() for i, c in enumerate(name))


def to_jsonable(value: Any) -> Any:
    """Dataclasses to dicts (with a ``kind`` key at the top), Decimal to str, dates to ISO strings."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        out: dict[str, Any] = {}
        for field in dataclasses.fields(value):
            out[field.name] = to_jsonable(getattr(value, field.name))
        return out
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, tuple | list):
        return [to_jsonable(v) for v in value]
    return value
