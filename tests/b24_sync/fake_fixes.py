"""A workaround for a fake-portal defect, reported to issue 4; delete once the fake casts it itself.

Inside a ``batch`` every value arrives as a string (PHP's ``parse_str``), and the fake stores an
element's ``iblockId`` as ``"23"``; ``catalog.product.offer.add`` then refuses the parent product
(``"23" != 23``: "Parent product N does not exist"). The real portal casts the field. The wrapper
casts it after the fake's own ``_write``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from b24_bridge.fake import catalog as fake_catalog
from b24_bridge.fake.store import to_int

__all__ = ["string_iblock_fixed"]


@contextmanager
def string_iblock_fixed() -> Iterator[None]:
    original: Callable[..., None] = fake_catalog._write

    def write(call: Any, row: dict[str, Any], fields: Any) -> None:
        original(call, row, fields)
        if row.get("iblockId") not in (None, ""):
            row["iblockId"] = to_int(row["iblockId"])

    fake_catalog._write = write
    try:
        yield
    finally:
        fake_catalog._write = original
