"""The form lane: one thread per web process that lands the spooled form submissions in batches
(group commit, capture/spool.py). A posted form is written to the spool and handed here; the request
waits for its landing up to a budget (`form_answer_ms`) and answers either way: landed (the owner is
set) or waiting (landed moments later). Whatever a burst brings, a visitor waits for one small write
and at most the budget, and the warehouse does one transaction per batch instead of one per form.

When the server is quiet (the event loop keeps time and nothing waits for the lane), a form lands
in its own request instead, through the same spool: the quickest answer at a low rate.

The lane also lands what other processes left behind (a process that died after writing): every
`idle_s` it looks for unclaimed submissions.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from datetime import datetime
from typing import Protocol

from starlette.requests import Request

from leadloop.capture.spool import Spool, Submission, land_from
from leadloop.contract.custom import CustomLimits
from leadloop.core.clock import Clock
from leadloop.core.logging import get_logger
from leadloop.store.db import Database

MAX_WAITERS = 5_000
log = get_logger("leadloop.capture.lane")


class Lane(Protocol):
    """What a web process lands its forms with: this thread (`FormLane`) or a process of its own
    (capture/lander.py's `RemoteLane`)."""

    spool: Spool

    @property
    def running(self) -> bool: ...
    @property
    def quiet(self) -> bool: ...
    @property
    def behind(self) -> bool: ...
    def start(self) -> None: ...
    def stop(self, timeout: float = ...) -> None: ...
    def submit(self, sub: Submission) -> Future[str]: ...
    def note_lag(self, lag_s: float, *, limit_s: float = ..., hold_s: float = ...) -> None: ...


class FormLane:
    def __init__(
        self,
        spool: Spool,
        db: Database,
        clock: Clock,
        *,
        custom: Callable[[], CustomLimits | None] = lambda: None,
        batch: int = 50,
        idle_s: float = 1.0,
        share_pause: float = 0.5,
    ) -> None:
        self.spool, self.db, self.clock, self.custom = spool, db, clock, custom
        self.batch, self.idle_s, self.share_pause = batch, idle_s, share_pause
        self._waiters: dict[str, Future[str]] = {}
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._congested_until = 0.0

    def note_lag(self, lag_s: float, *, limit_s: float = 0.02, hold_s: float = 1.0) -> None:
        """The event loop ran late by `lag_s` (web/app.py watches it): past `limit_s`, forms go to
        the lane for the next `hold_s` instead of landing in their own request."""
        if lag_s > limit_s:
            self._congested_until = time.monotonic() + hold_s

    @property
    def behind(self) -> bool:
        """More submissions wait than one batch: a new one answers at once (graceful overload)."""
        return len(self._waiters) > self.batch

    @property
    def quiet(self) -> bool:
        """Nothing waits for the lane and the event loop keeps time: a form may land in its own
        request (the quickest answer when the server is not busy)."""
        return not self._waiters and time.monotonic() >= self._congested_until

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        if self.running:
            return
        self._stop.clear()
        # The lane's batches are Python work that holds the GIL; the event loop's requests each
        # need it back after every SQLite call. At the default 5 ms switch interval a request
        # waits up to 5 ms at each of those; at 0.5 ms the loop stays quick while a batch runs.
        sys.setswitchinterval(min(sys.getswitchinterval(), 0.0005))
        self._thread = threading.Thread(target=self._run, name="leadloop-form-lane", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Land what is waiting, then stop (a graceful shutdown loses nothing; what is left, if the
        time runs out, stays in the spool for the next start or another process)."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
        self._thread = None

    def submit(self, sub: Submission) -> Future[str]:
        """`sub` is already in the spool; the future resolves to its outcome once it has landed."""
        fut: Future[str] = Future()
        with self._lock:
            self._waiters[sub.id] = fut
            while len(self._waiters) > MAX_WAITERS:  # landed elsewhere and never told: forget the oldest
                self._waiters.pop(next(iter(self._waiters)))
        self._wake.set()
        return fut

    def _run(self) -> None:
        while True:
            self._wake.wait(self.idle_s)
            self._wake.clear()
            try:
                while True:
                    began = time.monotonic()
                    if not self._land_some(self.clock()):
                        break
                    # At most two thirds of the process's one interpreter: the web requests keep the
                    # rest, so a burst beyond what the lane can land fills the spool
                    # (drained after the burst) instead of stalling every answer.
                    if self._stop.wait(self.share_pause * (time.monotonic() - began)):
                        break
            except Exception:  # the database may be briefly away: the spool keeps everything
                log.exception("form_lane.failed")
            if self._stop.is_set():
                return

    def _land_some(self, now: datetime) -> bool:
        subs = self.spool.claim(now=now, limit=self.batch)
        if not subs:
            return False
        outcome = land_from(self.spool, self.db, subs, now=now, custom=self.custom())
        with self._lock:
            for sub in subs:
                fut = self._waiters.pop(sub.id, None)
                if fut is not None:
                    fut.set_result(outcome.get(sub.id, "waiting"))
        return True


def form_lane(request: Request) -> Lane:
    """The web process's lane (made by the app, web/app.py): its spool is where forms are put."""
    lane: Lane = request.app.state.form_lane
    return lane
