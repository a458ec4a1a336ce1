"""Process-wide memory settings of the server. One knob: glibc's malloc arenas.

glibc gives every thread that allocates its own malloc arena (up to 8 per core) and rarely hands freed
memory in them back to the system. The server allocates from many threads (the SQLite driver's, the
executor's that write uploads and hash files): on the 100,000-product catalog the arenas alone added
about 40 MB to the peak (250 MB against 213 MB with two arenas; docs/performance.md). Two arenas cost
no measurable speed there. ``MALLOC_ARENA_MAX`` in the environment, when set, wins.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys
from typing import Final

__all__ = ["MALLOC_ARENAS", "limit_malloc_arenas"]

MALLOC_ARENAS: Final = 2
_M_ARENA_MAX: Final = -8  # from glibc's malloc.h


def limit_malloc_arenas(arenas: int = MALLOC_ARENAS) -> bool:
    """Cap glibc's malloc arenas (call before threads start); False when not glibc or set by the env."""
    if not sys.platform.startswith("linux") or "MALLOC_ARENA_MAX" in os.environ:
        return False
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # not glibc (musl has no mallopt)
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    return bool(mallopt(_M_ARENA_MAX, arenas))
