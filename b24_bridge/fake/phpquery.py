"""PHP's view of request parameters, as the fake portal needs it.

No I/O. ``parse_str`` of form bodies, query strings and batch commands (``a[b][0]=x`` nests, every
scalar a string), and the JSON quirks of PHP arrays on the way out (empty map -> ``[]``, a map keyed
0..n-1 -> list). Written independently of the client's encoder (``b24_bridge.batch``) so the two can
check each other (bitrix24.md §1.2, §2.4, §8.1 item 2, §8.2 item 4).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote_plus

__all__ = ["merge_params", "parse_str", "php_json", "php_list_map"]

_KEY = re.compile(r"^([^\[]*)((?:\[[^\]]*\])*)")
_PART = re.compile(r"\[([^\]]*)\]")


def parse_str(query: str) -> dict[str, Any]:
    """Parse ``query`` like PHP's ``parse_str``: nested keys, ``[]`` appends, later keys win."""
    out: dict[str, Any] = {}
    for pair in query.split("&"):
        if not pair:
            continue
        raw_key, _, raw_value = pair.partition("=")
        key = unquote_plus(raw_key)
        value = unquote_plus(raw_value)
        match = _KEY.match(key)
        if match is None or not match.group(1):
            continue
        parts = [match.group(1), *_PART.findall(match.group(2))]
        _assign(out, parts, value)
    return out


def _assign(target: dict[str, Any], parts: list[str], value: str) -> None:
    node = target
    for index, part in enumerate(parts):
        last = index == len(parts) - 1
        if part == "":
            numeric = [int(k) for k in node if k.lstrip("-").isdigit()]
            part = str(max(numeric) + 1 if numeric else 0)
        if last:
            node[part] = value
            return
        child = node.get(part)
        if not isinstance(child, dict):
            child = node[part] = {}
        node = child


def _listify(value: Any) -> Any:
    """Maps keyed "0".."n-1" (as parse_str builds them) become lists, recursively."""
    if isinstance(value, dict):
        converted = {k: _listify(v) for k, v in value.items()}
        keys = list(converted)
        if keys and keys == [str(i) for i in range(len(keys))]:
            return list(converted.values())
        return converted
    return value


def merge_params(query: Mapping[str, Any], body: Mapping[str, Any]) -> dict[str, Any]:
    """Query string parameters with the body merged over them (PHP ``array_replace``)."""
    merged = dict(query)
    merged.update(body)
    return merged


def php_list_map(value: Mapping[str, Any]) -> Any:
    """How PHP serialises an array: ``[]`` when empty, a list when keyed 0..n-1, else an object."""
    keys = list(value)
    if not keys:
        return []
    if [str(k) for k in keys] == [str(i) for i in range(len(keys))]:
        return list(value.values())
    return dict(value)


def php_json(value: Any) -> Any:
    """Apply PHP's empty-array rule everywhere in an answer: ``{}`` serialises as ``[]``."""
    if isinstance(value, dict):
        if not value:
            return []
        return {k: php_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [php_json(v) for v in value]
    return value


listify = _listify
