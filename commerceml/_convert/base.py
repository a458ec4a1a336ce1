"""Shared pieces of the converters: local names, values read with their location, ``extra``. No I/O."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any, TypeVar

from commerceml import _values
from commerceml.errors import InvalidValue, MissingElement

Element = Any
T = TypeVar("T")


class _LocalNames(dict[Any, str]):
    """``LOCAL[el.tag]``: the local name of a tag, computed once per distinct tag (a C-level lookup
    on the hot path; comments and processing instructions, whose tag is not a string, map to '')."""

    def __missing__(self, tag: Any) -> str:
        if not isinstance(tag, str):
            return ""
        brace = tag.rfind("}")
        name = tag[brace + 1 :] if brace >= 0 else tag
        self[tag] = name
        return name


LOCAL = _LocalNames()


def ln(tag: Any) -> str:
    """Local name of a tag (``{urn:...}Товар`` -> ``Товар``)."""
    return LOCAL[tag]


def attr(el: Element, name: str) -> str | None:
    """An attribute by local name (attributes are unqualified in every real file), stripped."""
    value = el.get(name)
    if value is None:
        return None
    value = value.strip()
    return value or None


def read_value(parse: Callable[[str | None], T], raw: str | None, el: Element, path: str) -> T:
    try:
        return parse(raw)
    except ValueError as exc:
        raise InvalidValue(str(exc), line=el.sourceline, path=path) from None


PLAIN_NUMBER_MATCH = _values.PLAIN_NUMBER.fullmatch
TRUE_FALSE = {"true": True, "false": False}


def dec(el: Element, path: str) -> Decimal | None:
    """The element's number; the path for the error message is built only when there is one."""
    raw = el.text
    if raw is not None:
        value = raw.strip()
        if PLAIN_NUMBER_MATCH(value):  # the fast path: what 1C writes almost always
            return Decimal(value)
    try:
        return _values.parse_decimal(raw)
    except ValueError as exc:
        raise InvalidValue(str(exc), line=el.sourceline, path=f"{path}/{LOCAL[el.tag]}") from None


def flag(el: Element, path: str) -> bool | None:
    raw = el.text
    if raw is not None:
        value = TRUE_FALSE.get(raw.strip())
        if value is not None:
            return value
    try:
        return _values.parse_bool(raw)
    except ValueError as exc:
        raise InvalidValue(str(exc), line=el.sourceline, path=f"{path}/{LOCAL[el.tag]}") from None


def flatten(el: Element, prefix: str, out: list[tuple[str, str]]) -> None:
    """Append ``el`` as leaf ``(path, value)`` pairs: attributes as ``@name``, text of leaves."""
    for key, value in el.attrib.items():
        out.append((f"{prefix}/@{ln(key)}", value.strip()))
    children = [c for c in el if isinstance(c.tag, str)]
    if not children:
        if not el.attrib or (el.text or "").strip():
            out.append((prefix, (el.text or "").strip()))
        return
    for child in children:
        flatten(child, f"{prefix}/{LOCAL[child.tag]}", out)


def extra_attrs(el: Element, known: frozenset[str], out: list[tuple[str, str]]) -> None:
    for key, value in el.attrib.items():
        name = ln(key)
        if name not in known and not key.startswith("{http://www.w3.org/2001/XMLSchema-instance}"):
            out.append((f"@{name}", value.strip()))


def require(value: str | None, el: Element, path: str, what: str) -> str:
    if not value:
        raise MissingElement(f"{what} has no Ид", line=el.sourceline, path=path)
    return value


def ids(el: Element, spill: list[tuple[str, str]], prefix: str) -> tuple[str, ...]:
    """The ``Ид`` children of a list such as a product's ``Группы`` (3.1 may hold several)."""
    ids: list[str] = []
    for child in el:
        if LOCAL[child.tag] == "Ид":
            if value := (child.text or "").strip():
                ids.append(value)
        elif isinstance(child.tag, str):
            flatten(child, f"{prefix}/{LOCAL[child.tag]}", spill)
    return tuple(ids)


# --- small shared pieces --------------------------------------------------------------------


Spill = list[tuple[str, str]] | None
"""Where a sub-converter puts what it does not model: the entity's ``extra`` (or None: dropped on purpose)."""


def keep_extra(child: Element, prefix: str, spill: Spill) -> None:
    """Keep an unmodelled child of a nested structure in the owning entity's ``extra``."""
    if spill is not None and isinstance(child.tag, str):
        flatten(child, f"{prefix}/{LOCAL[child.tag]}", spill)
