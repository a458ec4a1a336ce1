"""Shared helpers for reader tests: feed a document every way (h11's ``tr()`` idea)."""

from __future__ import annotations

import random
from collections.abc import Iterable
from pathlib import Path

from commerceml import Entity, Reader, ReadSummary

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "commerceml"


def read_bytes(data: bytes, chunks: Iterable[int] | None = None) -> tuple[list[Entity], ReadSummary]:
    """Read ``data`` fed in the given chunk sizes (the whole buffer at once by default)."""
    reader = Reader("test.xml")
    entities: list[Entity] = []
    if chunks is None:
        entities.extend(reader.feed(data))
    else:
        pos = 0
        sizes = iter(chunks)
        while pos < len(data):
            size = max(1, next(sizes, len(data)))
            entities.extend(reader.feed(data[pos : pos + size]))
            pos += size
    entities.extend(reader.close())
    return entities, reader.summary


def read_every_way(data: bytes, *, seed: int = 7) -> tuple[list[Entity], ReadSummary]:
    """Read ``data`` whole, byte by byte (if small), in 7-byte and in random chunks; all must agree."""
    whole, summary = read_bytes(data)
    rng = random.Random(seed)
    ways: list[Iterable[int] | None] = [
        iter(lambda: 7, None),
        (rng.randint(1, 4096) for _ in range(len(data))),
    ]
    if len(data) <= 20_000:
        ways.append(iter(lambda: 1, None))
    for chunks in ways:
        again, other = read_bytes(data, chunks)
        assert again == whole
        assert other.counts == summary.counts
        assert other.role == summary.role
    return whole, summary


def of_type(entities: Iterable[Entity], kind: type) -> list:  # type: ignore[type-arg]
    return [e for e in entities if isinstance(e, kind)]


def by_id(entities: Iterable[Entity], kind: type, entity_id: str):  # type: ignore[no-untyped-def]
    found = [e for e in entities if isinstance(e, kind) and getattr(e, "id", None) == entity_id]
    assert len(found) == 1, f"{kind.__name__} {entity_id!r}: found {len(found)}"
    return found[0]
