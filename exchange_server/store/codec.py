"""Lossless JSON encoding of the CommerceML model (frozen dataclasses) and back. No I/O.

Used for the ``data`` column of every stored entity and for the content hash that lets an unchanged
entity be skipped. ``Decimal`` becomes a string (never a float), dates and times ISO strings, tuples
lists; ``None`` fields and empty tuples are left out so the encoding stays small and stable when the
model grows optional fields (an empty tuple whose default is ``None`` is kept: ``Offer.stock == ()``
is an empty stock section, not an absent one). :func:`decode` rebuilds the dataclass from its type hints.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import functools
import hashlib
import json
import types
import typing
from collections.abc import Callable
from decimal import Decimal
from typing import Any, Final, TypeVar, cast

import orjson

__all__ = [
    "CodecError",
    "content_hash",
    "decode",
    "dumps",
    "dumps_and_hash",
    "encode",
    "encode_without",
    "text_hash",
]

T = TypeVar("T")

Json = dict[str, Any]


class CodecError(ValueError):
    """Stored JSON does not fit the model class it is decoded into."""


def encode(obj: Any) -> Json:
    """The JSON object of a model dataclass (only fields that hold something)."""
    return encode_without(obj, ())


Encoder = Callable[[Any], Json]
_ENCODERS: dict[tuple[type, tuple[str, ...]], Encoder] = {}


def encode_without(obj: Any, exclude: tuple[str, ...]) -> Json:
    """:func:`encode`, leaving out the fields named in ``exclude`` (the hot path of row building)."""
    try:
        encoder = _ENCODERS[type(obj), exclude]
    except KeyError:
        if not dataclasses.is_dataclass(obj) or isinstance(obj, type):
            raise TypeError(f"not a dataclass instance: {obj!r}") from None
        encoder = _ENCODERS[type(obj), exclude] = _compile_encoder(type(obj), exclude)
    return encoder(obj)


def _compile_encoder(cls: type, exclude: tuple[str, ...]) -> Encoder:
    """A function encoding instances of ``cls``, its field loop unrolled (built once per class).

    Same rules as the generic walk: ``None`` is left out, an empty tuple is left out where the field's
    default is the empty tuple (kept where the default is None: an empty section), str/int/bool kept as
    they are, anything else through :func:`_encode_value`.
    """
    lines = ["def encode_fields(obj):", "    out = {}"]
    for f in dataclasses.fields(cls):
        if f.name in exclude:
            continue
        name = f.name
        keep_empty = "" if f.default == () else " or True"
        lines += [
            f"    v = obj.{name}",
            "    if v is not None:",
            "        t = type(v)",
            "        if t is str or t is bool or t is int:",
            f"            out[{name!r}] = v",
            "        elif t is tuple:",
            f"            if v{keep_empty}:",
            f"                out[{name!r}] = [encode_value(x) for x in v]",
            "        else:",
            f"            out[{name!r}] = encode_value(v)",
        ]
    lines.append("    return out")
    namespace: dict[str, Any] = {"encode_value": _encode_value}
    exec("\n".join(lines), namespace)  # noqa: S102  # source built above from field names only
    return cast(Encoder, namespace["encode_fields"])


def _encode_value(value: Any) -> Any:
    kind = type(value)
    if kind is str or kind is int or kind is bool:
        return value
    if kind is Decimal:
        return format(value, "f")
    if kind is tuple:
        return [_encode_value(item) for item in value]
    encoder = _ENCODERS.get((kind, ()))
    if encoder is not None:
        return encoder(value)
    return _encode_other(value)


def _encode_other(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, bool | int | str):
        return value
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, tuple | list):
        return [_encode_value(item) for item in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return encode_without(value, ())
    raise TypeError(f"cannot encode {type(value).__name__}: {value!r}")


def dumps(payload: Any) -> str:
    """The canonical JSON text of a payload (sorted keys, no spaces): what is stored and hashed."""
    try:
        return orjson.dumps(payload, option=_ORJSON_OPTIONS).decode("utf-8")
    except orjson.JSONEncodeError:
        return _DUMPS(payload)


def dumps_and_hash(payload: Any) -> tuple[str, str]:
    """:func:`dumps` and the :func:`text_hash` of that text, encoding it to UTF-8 only once."""
    try:
        raw = orjson.dumps(payload, option=_ORJSON_OPTIONS)
    except orjson.JSONEncodeError:
        text = _DUMPS(payload)
        return text, text_hash(text)
    return raw.decode("utf-8"), hashlib.blake2b(raw, digest_size=16).hexdigest()


_DUMPS: Final = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode
"""The reference encoder. orjson writes the same bytes for the payloads built here (str keys; str, int,
bool, None, lists and dicts; a test holds it to that) about three times as fast; what orjson refuses
(an int beyond 64 bits, a lone surrogate) goes through this one, as before."""

_ORJSON_OPTIONS: Final = orjson.OPT_SORT_KEYS


def text_hash(text: str) -> str:
    """The digest of a canonical JSON text (:func:`dumps`)."""
    return hashlib.blake2b(text.encode("utf-8"), digest_size=16).hexdigest()


def content_hash(payload: Any) -> str:
    """A stable digest of a JSON-able payload (key order does not matter)."""
    return dumps_and_hash(payload)[1]


def decode(cls: type[T], data: Json) -> T:
    """Rebuild a model dataclass from :func:`encode` output.

    Raises:
        CodecError: a value does not fit its field's type (the row was written by something else).
    """
    if not isinstance(data, dict):
        raise CodecError(f"{cls.__name__}: expected an object, got {type(data).__name__}")
    hints = _hints(cls)  # type: ignore[arg-type]  # classes are hashable
    kwargs: dict[str, Any] = {}
    for f in dataclasses.fields(cls):  # type: ignore[arg-type]
        if f.name in data:
            kwargs[f.name] = _decode_value(hints[f.name], data[f.name], f"{cls.__name__}.{f.name}")
    try:
        return cls(**kwargs)
    except TypeError as exc:
        raise CodecError(f"{cls.__name__}: {exc}") from exc


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _decode_value(hint: Any, value: Any, where: str) -> Any:
    origin = typing.get_origin(hint)
    if origin is typing.Union or origin is types.UnionType:
        options = [a for a in typing.get_args(hint) if a is not type(None)]
        if value is None:
            return None
        if len(options) == 1:
            return _decode_value(options[0], value, where)
        for option in options:  # e.g. bool | None handled above; several real types are rare
            try:
                return _decode_value(option, value, where)
            except CodecError:
                continue
        raise CodecError(f"{where}: {value!r} fits none of {options}")
    if origin is tuple:
        args = typing.get_args(hint)
        if not isinstance(value, list):
            raise CodecError(f"{where}: expected a list, got {value!r}")
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_decode_value(args[0], item, where) for item in value)
        if len(args) != len(value):
            raise CodecError(f"{where}: expected {len(args)} items, got {len(value)}")
        return tuple(_decode_value(a, item, where) for a, item in zip(args, value, strict=True))
    if hint is Any:
        return value
    if isinstance(hint, type):
        return _decode_scalar(hint, value, where)
    raise CodecError(f"{where}: unsupported type {hint!r}")


def _decode_scalar(hint: type, value: Any, where: str) -> Any:
    try:
        if dataclasses.is_dataclass(hint):
            return decode(hint, value)
        if hint is bool:
            if not isinstance(value, bool):
                raise CodecError(f"{where}: expected a boolean, got {value!r}")
            return value
        if hint is int:
            if not isinstance(value, int) or isinstance(value, bool):
                raise CodecError(f"{where}: expected an integer, got {value!r}")
            return value
        if hint is str:
            if not isinstance(value, str):
                raise CodecError(f"{where}: expected a string, got {value!r}")
            return value
        if hint is Decimal:
            return Decimal(str(value))
        if hint is dt.datetime:
            return dt.datetime.fromisoformat(value)
        if hint is dt.date:
            return dt.date.fromisoformat(value)
        if hint is dt.time:
            return dt.time.fromisoformat(value)
        if issubclass(hint, enum.Enum):
            return hint(value)
    except CodecError:
        raise
    except (ArithmeticError, ValueError, TypeError) as exc:
        raise CodecError(f"{where}: {value!r} is not a {hint.__name__}") from exc
    raise CodecError(f"{where}: unsupported type {hint.__name__}")
