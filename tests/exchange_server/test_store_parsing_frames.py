"""The parser process's frames: rows marshalled, everything else (and what marshal refuses) pickled."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from commerceml.reader import ReadSummary
from exchange_server.store import parsing
from exchange_server.store.rows import Kind
from tests.exchange_server.test_store_parsing import sample_batches


def _frames(*messages: tuple[Any, ...]) -> list[tuple[bytes, Any]]:
    out = io.BytesIO()
    for message in messages:
        parsing._frame(out, message)
    data, frames, at = out.getvalue(), [], 0
    while at < len(data):
        size = parsing._HEADER.unpack_from(data, at)[0]
        body = data[at + parsing._HEADER.size : at + parsing._HEADER.size + size]
        frames.append((body[:1], parsing._load(body)))
        at += parsing._HEADER.size + size
    return frames


def test_row_frames_are_marshalled_and_round_trip(tmp_path: Path) -> None:
    batches = sample_batches(tmp_path)
    assert {kind for kind, _ in batches} >= {Kind.PRODUCT, Kind.OFFER}
    for kind, rows in batches:
        message = (parsing._ROWS, str(kind), parsing._wire(kind, rows), True)
        [(codec, loaded)] = _frames(message)
        assert codec == parsing._MARSHAL
        assert loaded == message
        assert parsing._unwire(Kind(loaded[1]), loaded[2]) == rows
        for before, after in zip(rows, parsing._unwire(kind, loaded[2]), strict=True):
            if kind is not Kind.OFFER:  # the same columns in the same order
                assert list(after.values) == list(before.values)


class _Text(str):
    pass


def test_what_marshal_refuses_is_pickled() -> None:
    odd = (parsing._ROWS, "products", [("id", _Text("x"))], True)
    end = (parsing._END, ReadSummary(filename="f"), ["w"], 1)
    [(codec, loaded), (end_codec, end_loaded)] = _frames(odd, end)
    assert codec == parsing._PICKLE
    assert loaded == odd and type(loaded[2][0][1]) is _Text
    assert end_codec == parsing._PICKLE and end_loaded == end
