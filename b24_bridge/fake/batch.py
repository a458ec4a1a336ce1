"""``batch`` as the rest module runs it (bitrix24.md §2.4, §8.6).

No I/O. Commands run in key order; each ``"method?query"`` is parsed with ``parse_str``; references
``$result|$next|$total|$time|$error[cmd][k]…`` are resolved in values and keys, stopping at the last
level that exists; commands past the 50th are refused one by one; ``halt`` stops at the first error.
The rate limiter saw one request; every nested call goes through the operating-time limiter.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final

from b24_bridge.fake.phpquery import listify, parse_str, php_json, php_list_map
from b24_bridge.fake.registry import AuthInfo

if TYPE_CHECKING:
    from b24_bridge.fake.portal import FakePortal

__all__ = ["MAX_COMMANDS", "resolve_references", "run_batch"]

MAX_COMMANDS: Final = 50
_NOT_IN_BATCH: Final = frozenset({"batch", "upload", "download"})
_REF: Final = re.compile(r"\$(result|next|total|time|error)((?:\[[^\]]*\])+)")
_PART: Final = re.compile(r"\[([^\]]*)\]")


def _walk(root: Any, path: list[str]) -> Any:
    node = root
    for key in path:
        if isinstance(node, Mapping) and key in node:
            node = node[key]
        elif isinstance(node, list) and key.isdigit() and int(key) < len(node):
            node = node[int(key)]
        else:
            break  # "stops at the last resolved level" (§2.4 item 3)
    return node


def _scalar_text(value: Any) -> str:
    if isinstance(value, (dict, list)):
        return "Array"
    if value is True:
        return "1"
    if value is None or value is False:
        return ""
    return str(value)


def _resolve_text(text: str, maps: Mapping[str, Any]) -> Any:
    whole = _REF.fullmatch(text)
    if whole is not None:
        return _walk(maps[whole.group(1)], _PART.findall(whole.group(2)))
    return _REF.sub(lambda m: _scalar_text(_walk(maps[m.group(1)], _PART.findall(m.group(2)))), text)


def resolve_references(value: Any, maps: Mapping[str, Any]) -> Any:
    """Replace references in every value and key of ``value`` (nested)."""
    if isinstance(value, str):
        return _resolve_text(value, maps) if "$" in value else value
    if isinstance(value, list):
        return [resolve_references(v, maps) for v in value]
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for key, item in value.items():
            new_key = _scalar_text(_resolve_text(key, maps)) if "$" in str(key) else str(key)
            out[new_key] = resolve_references(item, maps)
        return out
    return value


def _truthy(value: Any) -> bool:
    return str(value).strip().lower() in ("1", "true", "y", "yes") if value is not None else False


def run_batch(portal: FakePortal, auth: AuthInfo, params: Mapping[str, Any], now: float) -> dict[str, Any]:
    """Execute a batch; returns ``{"result": {"result", "result_error", ...}}`` (HTTP 200)."""
    cmd = params.get("cmd")
    halt = _truthy(params.get("halt"))
    items: list[tuple[str, Any]]
    if isinstance(cmd, Mapping):
        items = [(str(k), v) for k, v in cmd.items()]
    elif isinstance(cmd, list):
        items = [(str(i), v) for i, v in enumerate(cmd)]
    else:
        items = []
    results: dict[str, Any] = {}
    errors: dict[str, Any] = {}
    totals: dict[str, Any] = {}
    nexts: dict[str, Any] = {}
    times: dict[str, Any] = {}
    maps = {"result": results, "error": errors, "total": totals, "next": nexts, "time": times}
    executed = 0
    for key, command in items:
        if not isinstance(command, str):
            continue  # non-string values are skipped silently (§2.4 item 2)
        executed += 1
        if executed > MAX_COMMANDS:
            errors[key] = {
                "error": "ERROR_BATCH_LENGTH_EXCEEDED",
                "error_description": "Max batch length exceeded",
            }
            continue
        method, _, query = command.partition("?")
        method = method.strip().strip("/")
        if method.lower().endswith(".json"):
            method = method[:-5]
        if method.lower() in _NOT_IN_BATCH:
            errors[key] = {
                "error": "ERROR_BATCH_METHOD_NOT_ALLOWED",
                "error_description": "Method is not allowed for batch usage",
            }
            if halt:
                break
            continue
        sub_params = resolve_references(listify(parse_str(query)), maps)
        ok, body, _status, time_info = portal.execute(auth, method, sub_params, now, nested=True)
        if ok:
            results[key] = php_json(body["result"])
            if "total" in body:
                totals[key] = body["total"]
            if "next" in body:
                nexts[key] = body["next"]
            times[key] = time_info
        else:
            errors[key] = body
            if halt:
                break
    return {
        "result": {
            "result": php_list_map(results),
            "result_error": php_list_map(errors),
            "result_total": php_list_map(totals),
            "result_next": php_list_map(nexts),
            "result_time": php_list_map(times),
        }
    }
