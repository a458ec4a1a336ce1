"""The sha256 of each uploaded file, kept up to date chunk by chunk while 1C uploads it.

The import journals every file with its sha256 and uses it to recognise a file sent again
(``store.reuse``). Hashing a 240 MB ``offers.xml`` when its import starts took 0.3 to 0.5 s
before every import, on the critical path of the exchange. The bytes pass through the upload
handler anyway, so :func:`~exchange_server.uploads.receive_chunk` feeds them to a running digest
of the whole file as well, and :meth:`FileDigests.hexdigest` hands the result to the import.

Only what this process saw is trusted. Each entry remembers the file's size, inode and
modification time right after the chunk this process appended; any other change (a chunk written by
another server process, a cut-back after a killed upload, a duplicate chunk rolled back, an unzip,
a restart of the server) leaves the stat different, and the caller hashes the file from disk as
before. The cache is bounded (least recently used entries go first) and holds no file data.
"""

from __future__ import annotations

import hashlib
import os
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

__all__ = ["DEFAULT_CAPACITY", "FileDigests"]

DEFAULT_CAPACITY: Final = 1024
"""Files whose running digest is kept (about 200 bytes each)."""


@dataclass(frozen=True, slots=True)
class _Entry:
    digest: Any  # a hashlib sha256 object (no public type)
    size: int
    inode: int
    mtime_ns: int


def _stamp(path: Path) -> tuple[int, int, int] | None:
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return stat.st_size, stat.st_ino, stat.st_mtime_ns


class FileDigests:
    """Running sha256 digests of the files being uploaded, keyed by path (see the module docstring)."""

    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        if capacity < 1:
            raise ValueError("capacity must be positive")
        self._capacity = capacity
        self._entries: OrderedDict[str, _Entry] = OrderedDict()

    def continue_from(self, path: Path, size_before: int) -> Any:
        """A digest to feed this chunk's bytes into: fresh for a new file (``size_before == 0``), the
        file's running digest when it provably holds exactly what this process hashed, else None.

        Call after the file was opened for the chunk and before anything is written to it.
        """
        key = str(path)
        if size_before == 0:
            self._entries.pop(key, None)
            return hashlib.sha256()
        entry = self._entries.pop(key, None)
        if entry is None or _stamp(path) != (size_before, entry.inode, entry.mtime_ns):
            return None
        return entry.digest.copy()

    def appended(self, path: Path, digest: Any) -> None:
        """Remember ``digest`` as the hash of ``path`` as it is now (after a chunk was written)."""
        stamp = _stamp(path)
        key = str(path)
        if stamp is None:
            self._entries.pop(key, None)
            return
        self._entries[key] = _Entry(digest, *stamp)
        self._entries.move_to_end(key)
        while len(self._entries) > self._capacity:
            self._entries.popitem(last=False)

    def hexdigest(self, path: Path) -> tuple[str, int] | None:
        """``(sha256, size)`` of ``path`` when the running digest still describes it, else None."""
        entry = self._entries.get(str(path))
        if entry is None or _stamp(path) != (entry.size, entry.inode, entry.mtime_ns):
            return None
        return entry.digest.hexdigest(), entry.size
