"""List semantics of the fake portal: filter operators, ordering, paging.

No I/O. Filter keys carry an operator prefix (bitrix24.md §2.5): none/``=`` equal (a list means IN),
``!``/``!=`` not equal, ``>`` ``>=`` ``<`` ``<=``, ``@`` IN, ``!@`` NOT IN, ``%`` substring,
``=%``/``%=`` LIKE with explicit ``%``, ``!%``, ``!=%``/``!%=``; engine filters also take
``{"logic": "OR", "0": {...}, "1": {...}}`` groups. Paging: 50 rows; legacy lists round ``start``
down to a multiple of 50; ``start=-1`` skips the count (``total`` 0, no ``next``).
"""

from __future__ import annotations

import functools
import random
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

__all__ = [
    "PAGE",
    "FilterError",
    "Page",
    "field_names",
    "matches",
    "order_rows",
    "page_rows",
    "parse_filter",
    "select_rows",
]

PAGE: Final = 50
_OPS: Final = ("!=%", "!%=", "=%", "%=", "!@", ">=", "<=", "!=", "!%", "=", "!", ">", "<", "@", "%")


class FilterError(ValueError):
    """A filter names a field the entity does not have (engine: INVALID_ARG_VALUE)."""

    def __init__(self, field: str) -> None:
        super().__init__(field)
        self.field = field


@dataclass(frozen=True, slots=True)
class Condition:
    op: str
    field: str
    value: Any


@dataclass(frozen=True, slots=True)
class Group:
    logic: str  # "AND" | "OR"
    items: tuple[Condition | Group, ...]


def parse_filter(raw: Any) -> Group:
    """A filter parameter as a condition tree (top level is AND)."""
    if not isinstance(raw, Mapping):
        return Group("AND", ())
    logic = str(raw.get("logic", raw.get("LOGIC", "AND"))).upper()
    items: list[Condition | Group] = []
    for key, value in raw.items():
        if str(key).lower() == "logic":
            continue
        if isinstance(value, Mapping) and (str(key).isdigit() or "logic" in value or "LOGIC" in value):
            items.append(parse_filter(value))
            continue
        key = str(key)
        op = next((o for o in _OPS if key.startswith(o)), "")
        items.append(Condition(op, key[len(op) :], value))
    return Group("OR" if logic == "OR" else "AND", tuple(items))


_NUMERIC = re.compile(r"-?\d+(\.\d+)?")


@functools.lru_cache(maxsize=65536)
def _number_text(value: str) -> float | None:
    text = value.strip()
    return float(text) if _NUMERIC.fullmatch(text) else None


def _number(value: Any) -> float | None:
    kind = type(value)
    if kind is int or kind is float:
        return float(value)
    if kind is str:
        return _number_text(value)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    return None


def _equal(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return (a is None or a == "") and (b is None or b == "")
    if a == b and type(a) is type(b):
        return True
    na, nb = _number(a), _number(b)
    if na is not None and nb is not None:
        return na == nb
    return str(a).casefold() == str(b).casefold()


def _compare(a: Any, b: Any) -> int | None:
    if a is None or b is None:
        return None
    na, nb = _number(a), _number(b)
    if na is not None and nb is not None:
        return (na > nb) - (na < nb)
    sa, sb = str(a), str(b)
    return (sa > sb) - (sa < sb)


def _like(value: Any, pattern: str) -> bool:
    regex = "^" + ".*".join(re.escape(p) for p in pattern.split("%")) + "$"
    return value is not None and re.match(regex, str(value), re.IGNORECASE | re.DOTALL) is not None


def _values(value: Any) -> list[Any]:
    if isinstance(value, Mapping):
        return list(value.values())
    if isinstance(value, (list, tuple)):
        return list(value)
    return [value]


def _check(cond: Condition, actual: Any) -> bool:
    op, want = cond.op, cond.value
    many = isinstance(want, (list, tuple, Mapping))
    actual_list = actual if isinstance(actual, list) else [actual]
    if op in ("", "=", "@"):
        options = _values(want) if many or op == "@" else [want]
        return any(_equal(a, w) for a in actual_list for w in options)
    if op in ("!", "!=", "!@"):
        options = _values(want) if many or op == "!@" else [want]
        return not any(_equal(a, w) for a in actual_list for w in options)
    if op in (">", ">=", "<", "<="):
        cmp = _compare(actual, want)
        if cmp is None:
            return False
        return {">": cmp > 0, ">=": cmp >= 0, "<": cmp < 0, "<=": cmp <= 0}[op]
    if op == "%":
        return actual is not None and str(want).casefold() in str(actual).casefold()
    if op == "!%":
        return actual is None or str(want).casefold() not in str(actual).casefold()
    if op in ("=%", "%="):
        return _like(actual, str(want))
    if op in ("!=%", "!%="):
        return not _like(actual, str(want))
    return False  # pragma: no cover - every prefix of _OPS is handled above


def field_names(group: Group) -> set[str]:
    """Every field a filter names (to refuse unknown fields even when no row is scanned)."""
    names: set[str] = set()
    for item in group.items:
        names |= field_names(item) if isinstance(item, Group) else {item.field}
    return names


def matches(row: Mapping[str, Any], group: Group, getter: Callable[[Mapping[str, Any], str], Any]) -> bool:
    """Whether ``row`` satisfies ``group``; ``getter`` resolves a field name or raises FilterError."""
    results = (
        matches(row, item, getter) if isinstance(item, Group) else _check(item, getter(row, item.field))
        for item in group.items
    )
    return any(results) if group.logic == "OR" else all(results)


def select_rows(
    rows: Iterable[dict[str, Any]], group: Group, getter: Callable[[Mapping[str, Any], str], Any]
) -> list[dict[str, Any]]:
    """The rows matching ``group``; a plain text equality narrows the scan first (same result, faster)."""
    candidates = list(rows)
    if group.logic == "AND":
        for item in group.items:
            if (
                isinstance(item, Condition)
                and item.op in ("", "=")
                and isinstance(item.value, str)
                and _number(item.value) is None
                and item.value
            ):
                want = item.value.casefold()
                candidates = [r for r in candidates if _text_is(getter(r, item.field), want)]
                break
    return [r for r in candidates if matches(r, group, getter)]


def _text_is(value: Any, want: str) -> bool:
    if isinstance(value, list):
        return any(_text_is(v, want) for v in value)
    return value is not None and str(value).casefold() == want


def order_rows(
    rows: list[dict[str, Any]],
    order: Any,
    getter: Callable[[Mapping[str, Any], str], Any],
    default: str,
    *,
    rng: random.Random | None = None,
) -> list[dict[str, Any]]:
    """Rows sorted by ``order`` (``{"FIELD": "ASC"|"DESC"}``), ties and default by id ascending.

    With ``rng`` (the portal's "unstable order" mode, bitrix24.md §8.7 item 4) rows without an
    ``order`` come back shuffled and ties are broken at random, as a real database may do.
    """
    keys: list[tuple[str, bool]] = []
    if isinstance(order, Mapping):
        keys = [(str(k), str(v).upper() == "DESC") for k, v in order.items()]
    if rng is not None:
        out = list(rows)
        rng.shuffle(out)
    else:
        out = sorted(rows, key=lambda r: _sort_key(getter(r, default)))
    for name, descending in reversed(keys):

        def key(row: dict[str, Any], field: str = name) -> tuple[int, float, str]:
            return _sort_key(getter(row, field))

        out.sort(key=key, reverse=descending)
    return out


def _sort_key(value: Any) -> tuple[int, float, str]:
    if value is None or value == "":
        return (0, 0.0, "")
    number = _number(value)
    if number is not None:
        return (1, number, "")
    return (2, 0.0, str(value))


@dataclass(frozen=True, slots=True)
class Page:
    rows: list[dict[str, Any]]
    total: int
    next: int | None


def page_rows(rows: Sequence[dict[str, Any]], start: Any, *, legacy: bool) -> Page:
    """One page of ``rows`` for ``start`` (bitrix24.md §2.5 paging arithmetic)."""
    try:
        offset = int(float(start)) if start not in (None, "") else 0
    except (TypeError, ValueError):
        offset = 0
    if offset < 0:
        return Page(list(rows[:PAGE]), 0, None)
    if legacy:
        offset = (offset // PAGE) * PAGE
    chunk = list(rows[offset : offset + PAGE])
    total = len(rows)
    nxt = offset + PAGE if offset + PAGE < total else None
    return Page(chunk, total, nxt)
