"""A server's collector pauses.

A web process holds a large heap it never frees: modules, the app, its routes, their schemas.
Python's full (generation 2) collection walks all of it: 242 ms in the web process of
`bench/speed_to_lead.py` at 50 forms a second, and every request waiting meanwhile took it as
latency (4-second windows with a p99 of 300+ ms two or three times in 40 s, 35 to 70 ms in the
others). `gc.freeze()` moves what is alive at that moment out of the collector's reach (the
gc module's documented answer for a pre-loaded server), so a later full collection walks only
what came after. One such window in 40 s remains, not from the collector (none ran in it).
"""

from __future__ import annotations

import gc

_frozen = False


def freeze_startup() -> None:
    """Collect once, then freeze what survives: everything alive now is kept for the process's
    life anyway. Once a process: a process that starts many apps (a test run) must not pin each
    one's leftovers."""
    global _frozen
    if _frozen:
        return
    _frozen = True
    gc.collect()
    gc.freeze()
