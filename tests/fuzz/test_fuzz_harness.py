"""The fuzz harness itself works: its seeds go through ``feed`` and only CommerceMLError is swallowed."""

from __future__ import annotations

from pathlib import Path

import pytest

from commerceml import CommerceMLError
from tests.fuzz import fuzz_reader


def test_seed_corpus_passes_through_the_harness(tmp_path: Path) -> None:
    fuzz_reader.seed_corpus(tmp_path)
    seeds = sorted(tmp_path.iterdir())
    assert len(seeds) >= 10
    for seed in seeds:
        fuzz_reader.feed(seed.read_bytes())


def test_the_harness_lets_other_exceptions_through(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken_feed(self: object, data: bytes) -> list[object]:
        raise KeyError("a bug")

    monkeypatch.setattr("commerceml.reader.Reader.feed", broken_feed)
    with pytest.raises(KeyError):
        fuzz_reader.feed(b"\x01\x01\x01\x01<a/>")


def test_the_harness_swallows_reader_errors() -> None:
    fuzz_reader.feed(b"\x01\x01\x01\x01<not-commerceml/>")  # UnsupportedDocument: swallowed
    with pytest.raises(CommerceMLError):  # while the reader itself does raise on that input
        from commerceml.reader import Reader

        reader = Reader()
        reader.feed(b"<not-commerceml/>")
        reader.close()
