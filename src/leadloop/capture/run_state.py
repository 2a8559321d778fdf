"""Where an import run stands, from its row and the clock. Pure.

A run is written by one runner (the app's import thread or `leadloop import`), which commits its
counters and a heartbeat with every batch. A runner that died (a killed server, a closed laptop)
stops beating: its run reads as interrupted, never "running" forever, and may be resumed from the
last batch that landed.
"""

from __future__ import annotations

from datetime import datetime, timedelta

# Far longer than a batch ever takes (2,000 rows in well under a second, or a wait of up to the
# SQLite busy timeout of 30 s behind another writer), yet short enough that a person sees a dead
# run for what it is within minutes.
STALE_AFTER = timedelta(minutes=2)

LABELS = {
    "draft": "Not started",
    "running": "Running",
    "done": "Done",
    "failed": "Failed",
    "interrupted": "Interrupted",
}


def state(status: str, heartbeat_at: datetime | None, now: datetime) -> str:
    """draft | running | done | failed | interrupted (a running row whose runner stopped beating)."""
    if status == "running" and (heartbeat_at is None or now - heartbeat_at > STALE_AFTER):
        return "interrupted"
    return status


def resumable(current: str) -> bool:
    """Only a run nobody is running may be taken up again: a resumed run goes on from its last batch."""
    return current in ("interrupted", "failed")


def percent(done: int, total: int, current: str) -> int:
    """For the progress bar. The total is counted from the file's lines before the run, so it may be
    an over-estimate (a quoted cell with a line break): only a finished run shows 100."""
    if current == "done":
        return 100
    if total <= 0:
        return 0
    return min(99, done * 100 // total)


def label(current: str) -> str:
    return LABELS.get(current, current.title())
