"""Batch commands: PHP-style query encoding of parameters, and splitting a batch answer per command.

No I/O. A ``batch`` command is a string ``"method?query"`` whose query the portal parses with PHP's
``parse_str``, so nested parameters become ``fields[PHONE][0][VALUE]=…`` and every scalar arrives as
a string (bitrix24.md §1.2, §2.4). References to earlier commands (``$result[cmd][item][id]``) are
plain values here; the portal resolves them.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final
from urllib.parse import quote

__all__ = [
    "MAX_BATCH",
    "BatchCommand",
    "BatchOutcome",
    "build_batch",
    "encode_command",
    "encode_query",
    "php_pairs",
    "split_batch_result",
]

#: Commands past the 50th are refused with ERROR_BATCH_LENGTH_EXCEEDED (bitrix24.md §2.4 item 4).
MAX_BATCH: Final = 50


@dataclass(frozen=True, slots=True)
class BatchCommand:
    """One command of a batch: an id (its key in the answer), a method and its parameters."""

    id: str
    method: str
    params: Mapping[str, Any] = field(default_factory=dict)


def _scalar(value: Any) -> str:
    # PHP's http_build_query writes true/false as 1/0; None becomes the empty string (it clears a
    # field) rather than the text "None" (fast_bitrix24 #156, bitrix24.md §2.4 pitfalls).
    if value is None:
        return ""
    if value is True:
        return "1"
    if value is False:
        return "0"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def php_pairs(params: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, str]]:
    """Flatten nested parameters into PHP-style ``(key, value)`` pairs.

    Mappings become ``key[sub]``, sequences ``key[0]``, ``key[1]``. Empty mappings and sequences
    cannot be expressed in a query string and are left out (bitrix24.md §1.2).

    Raises:
        TypeError: a value is neither a scalar, a mapping nor a sequence.
    """
    for raw_key, value in params.items():
        key = f"{prefix}[{raw_key}]" if prefix else str(raw_key)
        yield from _pairs_of(key, value)


def _pairs_of(key: str, value: Any) -> Iterator[tuple[str, str]]:
    if isinstance(value, Mapping):
        yield from php_pairs(value, key)
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            yield from _pairs_of(f"{key}[{index}]", item)
    elif value is None or isinstance(value, (str, int, float, bool)):
        yield key, _scalar(value)
    else:
        raise TypeError(f"cannot encode {type(value).__name__} for parameter {key!r}")


def encode_query(params: Mapping[str, Any]) -> str:
    """``http_build_query`` as PHP does it; brackets are kept readable, everything else escaped."""
    return "&".join(f"{quote(k, safe='[]')}={quote(v, safe='')}" for k, v in php_pairs(params))


def encode_command(method: str, params: Mapping[str, Any]) -> str:
    """``"method?query"`` for the ``cmd`` map of ``batch``."""
    query = encode_query(params)
    return f"{method}?{query}" if query else method


def build_batch(commands: Sequence[BatchCommand], *, halt: bool = False) -> dict[str, Any]:
    """The JSON parameters of one ``batch`` call.

    Raises:
        ValueError: more than 50 commands, an empty batch, a nested batch, or duplicate ids.
    """
    if not commands:
        raise ValueError("a batch needs at least one command")
    if len(commands) > MAX_BATCH:
        raise ValueError(f"a batch holds at most {MAX_BATCH} commands, got {len(commands)}")
    cmd: dict[str, str] = {}
    for command in commands:
        if command.id in cmd:
            raise ValueError(f"duplicate batch command id {command.id!r}")
        if command.method.lower() == "batch":
            raise ValueError("batch cannot be nested (ERROR_BATCH_METHOD_NOT_ALLOWED)")
        cmd[command.id] = encode_command(command.method, command.params)
    return {"halt": 1 if halt else 0, "cmd": cmd}


@dataclass(frozen=True, slots=True)
class BatchOutcome:
    """A batch answer split per command id. Commands skipped by ``halt`` appear in none of the maps."""

    results: dict[str, Any]
    errors: dict[str, dict[str, Any]]
    totals: dict[str, int]
    nexts: dict[str, int]
    times: dict[str, dict[str, Any]]


def _as_map(value: Any) -> dict[str, Any]:
    # PHP serialises an empty map as [] and a map keyed 0..n-1 as a JSON array (bitrix24.md §2.4).
    if isinstance(value, Mapping):
        return {str(k): v for k, v in value.items()}
    if isinstance(value, list):
        return {str(i): v for i, v in enumerate(value)}
    return {}


def split_batch_result(result: Any) -> BatchOutcome:
    """Split the ``result`` of a batch answer into per-command maps.

    Raises:
        ValueError: ``result`` is not the batch shape.
    """
    if not isinstance(result, Mapping) or "result" not in result:
        raise ValueError(f"not a batch result: {str(result)[:200]}")
    errors = {
        k: v if isinstance(v, dict) else {"error": "", "error_description": str(v)}
        for k, v in _as_map(result.get("result_error")).items()
    }
    return BatchOutcome(
        results=_as_map(result.get("result")),
        errors=errors,
        totals={k: int(v) for k, v in _as_map(result.get("result_total")).items()},
        nexts={k: int(v) for k, v in _as_map(result.get("result_next")).items()},
        times={k: v for k, v in _as_map(result.get("result_time")).items() if isinstance(v, dict)},
    )


def chunk(items: Iterable[Any], size: int = MAX_BATCH) -> Iterator[list[Any]]:
    """Consecutive lists of at most ``size`` items."""
    block: list[Any] = []
    for item in items:
        block.append(item)
        if len(block) == size:
            yield block
            block = []
    if block:
        yield block
