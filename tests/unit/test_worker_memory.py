"""The engine worker's memory: the leak the soak found."""

from __future__ import annotations

import gc
import sys
import weakref

import procrastinate.utils

from leadloop.jobs.engine import _run_to_end


def test_the_engine_loop_runs_with_no_exception_in_hand() -> None:
    """The loop once ran inside `except RuntimeError` (no loop running yet): every sync job, run
    through asgiref's sync_to_async, had that exception re-raised around it, and each re-raise
    added the job's frames to its traceback, so the worker kept every job it ever ran."""
    seen: list[object] = []

    async def main() -> None:
        seen.append(sys.exc_info()[1])
        for _ in range(50):  # what a sync job sees, as procrastinate runs it
            seen.append(await procrastinate.utils.sync_to_async(lambda: sys.exc_info()[1]))

    _run_to_end(main)
    assert seen == [None] * 51


def test_jobs_run_through_the_engine_loop_are_not_kept() -> None:
    class Payload:  # a job's arguments (its timer, its message key)
        pass

    refs: list[weakref.ref[Payload]] = []

    def job(payload: Payload) -> None:
        refs.append(weakref.ref(payload))

    kept: list[int] = []

    async def main() -> None:
        for _ in range(200):
            await procrastinate.utils.sync_to_async(job, Payload())
        gc.collect()
        kept.append(sum(r() is not None for r in refs))  # while the worker still runs

    _run_to_end(main)
    assert len(refs) == 200 and kept == [0]
