"""core/heap.py: a server's startup heap is frozen once, out of the full collections' walk."""

from __future__ import annotations

import gc
import subprocess
import sys


def test_the_startup_heap_is_frozen_once_a_process() -> None:
    code = (
        "import gc\n"
        "from leadloop.core import heap\n"
        "keep = [[i] for i in range(10_000)]\n"
        "heap.freeze_startup()\n"
        "first = gc.get_freeze_count()\n"
        "more = [[i] for i in range(10_000)]\n"
        "heap.freeze_startup()\n"
        "print(first, gc.get_freeze_count())\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    first, second = map(int, out.stdout.split())
    assert first >= 10_000  # what was alive is frozen
    assert second == first  # and a second call freezes nothing more
    assert gc.isenabled()
