"""Image files of the goods: found in the package directories the exchange keeps, hashed by content.

I/O (reads files). The planner gets plain :class:`ImageFile` rows: the portal file name carries the
first 12 hex digits of the content's SHA-256 (``<sha12>-<name>``), so an image is identified by its
content: a re-sent package with the same pictures plans nothing, and a lost answer after an upload
never uploads the same picture twice (the pusher skips names the portal already lists).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

__all__ = ["ImageFile", "ImageResolver"]


@dataclass(frozen=True, slots=True)
class ImageFile:
    """One picture: its name in the portal, content digest (None: file missing) and local path."""

    name: str
    sha256: str | None
    path: str


class ImageResolver:
    """Finds ``<root>/<package>/<relative path>`` and hashes it, caching by (path, size, mtime)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._cache: dict[tuple[str, int, int], str] = {}

    def _digest(self, path: Path) -> str | None:
        try:
            stat = path.stat()
        except OSError:
            return None
        key = (str(path), stat.st_size, stat.st_mtime_ns)
        digest = self._cache.get(key)
        if digest is None:
            sha = hashlib.sha256()
            with path.open("rb") as handle:
                for block in iter(lambda: handle.read(1 << 20), b""):
                    sha.update(block)
            digest = self._cache[key] = sha.hexdigest()
        return digest

    def resolve(self, package: str | None, paths: Sequence[str]) -> tuple[ImageFile, ...]:
        out = []
        for relative in paths:
            name = PurePosixPath(relative).name
            local = self.root / (package or "") / relative if package else None
            digest = self._digest(local) if local is not None else None
            shown = f"{digest[:12]}-{name}" if digest else name
            out.append(ImageFile(shown, digest, os.fspath(local) if local is not None else relative))
        return tuple(out)

    def resolve_all(
        self, products: Mapping[str, tuple[str | None, Sequence[str]]]
    ) -> dict[str, tuple[ImageFile, ...]]:
        """``product id -> (package, relative paths)`` to the image files of each product."""
        return {pid: self.resolve(package, paths) for pid, (package, paths) in products.items() if paths}
