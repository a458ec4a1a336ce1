"""Turn fuzzer bytes into choices (the part of atheris' FuzzedDataProvider the harnesses need).

Plain Python so the same harness runs under atheris, under Hypothesis (``st.binary()``) and from a
saved crash file, with or without atheris installed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

T = TypeVar("T")


class ByteSource:
    """Consume ``data`` front to back; once it is used up every choice is the first option."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    @property
    def left(self) -> int:
        return len(self.data) - self.pos

    def byte(self) -> int:
        if self.pos >= len(self.data):
            return 0
        self.pos += 1
        return self.data[self.pos - 1]

    def pick(self, options: Sequence[T]) -> T:
        return options[self.byte() % len(options)]

    def chance(self, percent: int) -> bool:
        return self.byte() * 100 < percent * 256

    def raw(self, limit: int = 64) -> bytes:
        size = min(self.byte() % (limit + 1), self.left)
        chunk = self.data[self.pos : self.pos + size]
        self.pos += size
        return chunk

    def text(self, limit: int = 64) -> str:
        """Bytes as UTF-8 where they are, else as Latin-1 (so every code point 0-255 can occur)."""
        chunk = self.raw(limit)
        try:
            return chunk.decode("utf-8")
        except UnicodeDecodeError:
            return chunk.decode("latin-1")
