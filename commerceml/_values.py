"""Reading scalar values as 1C writes them: numbers, flags, dates, times. No I/O.

1C pads values with spaces (``"796 "``) and writes numbers with a ``.`` decimal point; some
configurations put a non-breaking space or a plain space between thousands, or use ``,``. Each
function returns ``None`` for an empty value and raises :class:`ValueError` for a value it cannot
read; the converter turns that into an :class:`~commerceml.errors.InvalidValue` naming the element.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal, InvalidOperation

__all__ = ["PLAIN_NUMBER", "parse_bool", "parse_date", "parse_decimal", "parse_time"]

_TRUE = frozenset({"true", "истина", "1", "да", "yes", "y"})
_FALSE = frozenset({"false", "ложь", "0", "нет", "no", "n"})
_SPACES = re.compile(r"[\s\u00a0\u202f]+")
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")
PLAIN_NUMBER = re.compile(r"-?\d+(\.\d+)?")  # what 1C writes almost always: the fast path
_DATE_FORMATS = ("%Y-%m-%d", "%d.%m.%Y", "%Y-%m-%dT%H:%M:%S", "%d.%m.%Y %H:%M:%S", "%Y-%m-%d %H:%M:%S")


def parse_decimal(text: str | None) -> Decimal | None:
    """``"1 719.50"`` -> ``Decimal("1719.50")``; ``""`` -> None; garbage -> ValueError."""
    if text is None:
        return None
    stripped = text.strip()
    if PLAIN_NUMBER.fullmatch(stripped):
        return Decimal(stripped)
    cleaned = _SPACES.sub("", stripped)
    if not cleaned:
        return None
    if "," in cleaned and "." not in cleaned:
        cleaned = cleaned.replace(",", ".")
    if not _NUMBER.fullmatch(cleaned):
        raise ValueError(f"not a number: {text.strip()!r}")
    try:
        return Decimal(cleaned)
    except InvalidOperation as exc:  # pragma: no cover - the regex admits only valid decimals
        raise ValueError(f"not a number: {text.strip()!r}") from exc


def parse_bool(text: str | None) -> bool | None:
    """``true/false/истина/ложь/1/0/да/нет`` (any case) -> bool; ``""`` -> None."""
    if text is None:
        return None
    value = text.strip().lower()
    if not value:
        return None
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ValueError(f"not a boolean: {text.strip()!r}")


def parse_date(text: str | None) -> dt.date | None:
    """``2024-06-10``, ``10.06.2024``, or either with a time part -> date; ``""`` -> None."""
    if text is None:
        return None
    value = text.strip()
    if not value:
        return None
    for fmt in _DATE_FORMATS:
        try:
            return dt.datetime.strptime(value, fmt).date()
        except ValueError:
            continue
    raise ValueError(f"not a date: {value!r}")


def parse_time(text: str | None) -> dt.time | None:
    """``12:30:00`` or ``9:05:07`` (Bitrix prints hours without a leading zero) -> time."""
    if text is None:
        return None
    value = text.strip()
    if not value:
        return None
    for fmt in ("%H:%M:%S", "%H:%M"):
        try:
            return dt.datetime.strptime(value, fmt).time()
        except ValueError:
            continue
    raise ValueError(f"not a time: {value!r}")
