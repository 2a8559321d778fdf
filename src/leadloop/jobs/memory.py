"""A long-running worker's resident memory.

The worker's growth in the soak was a leak of Python objects (engine.py `_run_to_end` says
which), not the allocator: `malloc_trim(0)` each minute gave back nothing. What stays: fewer
malloc arenas for a process that runs jobs on a pool of threads."""

from __future__ import annotations

import ctypes

_M_ARENA_MAX = -8  # glibc's malloc.h


def _libc() -> ctypes.CDLL | None:
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt  # noqa: B018  (glibc only)
        return libc
    except (OSError, AttributeError):
        return None


def fewer_arenas(arenas: int = 2) -> None:
    """Two arenas (MALLOC_ARENA_MAX=2, set here because the environment variable is read only at
    start) instead of up to eight a core: freed memory spread over fewer heaps."""
    libc = _libc()
    if libc is not None:
        libc.mallopt(_M_ARENA_MAX, arenas)
