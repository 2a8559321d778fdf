"""The form lander in a process of its own (issue 19, ADR 0040), for the one-process SQLite server.

The form lane as a thread shares one interpreter (the GIL) with the event loop: while it lands a
batch the answers wait. `leadloop serve` on SQLite therefore starts `leadloop lander` beside it:
that process lands the spool in batches on the other core, and tells the web process which
submissions landed over a Unix datagram socket, so a request can still wait for its own landing up
to `form_answer_ms`. The web process's event loop then only checks, spools and answers.

`RemoteLane` is the web side (the same face as `FormLane`); `run_lander` is the process's loop. The
lander stops when told to (SIGTERM: it lands what waits first) or when its parent has gone.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path

from leadloop.capture.spool import Spool, Submission, land_from, land_waiting
from leadloop.contract.custom import CustomLimits
from leadloop.core.clock import Clock
from leadloop.core.heap import freeze_startup
from leadloop.core.logging import get_logger
from leadloop.store.db import Database

MAX_WAITERS = 5_000
log = get_logger("leadloop.capture.lander")
MAX_DATAGRAM = 60_000
BATCH = 50  # submissions landed in one transaction


class RemoteLane:
    """The web process's side of a lander process."""

    def __init__(
        self,
        spool: Spool,
        db: Database,
        clock: Clock,
        database_url: str,
        *,
        custom: Callable[[], CustomLimits | None] = lambda: None,
    ) -> None:
        self.spool, self.db, self.clock, self.database_url = spool, db, clock, database_url
        self.custom = custom
        self._waiters: dict[str, Future[str]] = {}
        self._lock = threading.Lock()
        self._proc: subprocess.Popen[bytes] | None = None
        self._sock: socket.socket | None = None
        self._waker: socket.socket | None = None
        self._path = Path(tempfile.gettempdir()) / f"leadloop-lander-{os.getpid()}-{id(self)}.sock"

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    @property
    def quiet(self) -> bool:
        return False  # the event loop never lands: the lander's process does

    def note_lag(self, lag_s: float, *, limit_s: float = 0.0, hold_s: float = 0.0) -> None:
        pass

    @property
    def behind(self) -> bool:
        """More submissions wait for the lander than one batch: a new one would wait the whole
        answer budget, so its answer comes at once instead (graceful overload)."""
        return len(self._waiters) > BATCH

    def start(self) -> None:
        if self.running:
            return
        self._path.unlink(missing_ok=True)
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._sock.bind(str(self._path))
        self._waker = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._waker.setblocking(False)
        threading.Thread(
            target=self._listen, args=(self._sock,), name="leadloop-lander-replies", daemon=True
        ).start()
        self._proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "leadloop.cli",
                "lander",
                "--database-url",
                self.database_url,
                "--notify",
                str(self._path),
                "--parent",
                str(os.getpid()),
            ]
        )

    def stop(self, timeout: float = 15.0) -> None:
        if self._proc is not None:
            self._proc.terminate()  # it lands what waits, then exits
            try:
                self._proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self._proc.kill()
            self._proc = None
        for sock in (self._sock, self._waker):
            if sock is not None:
                sock.close()
        self._sock = self._waker = None
        self._path.unlink(missing_ok=True)
        # A lander stopped before it could land (still starting, or killed): what waits lands here,
        # so a graceful shutdown loses nothing.
        land_waiting(self.spool, self.db, now=self.clock(), custom=self.custom(), orphaned_after=None)

    def submit(self, sub: Submission) -> Future[str]:
        """Register the wait for `sub` (already in the spool) and wake the lander."""
        fut: Future[str] = Future()
        if self._waker is not None:
            # Never blocks the event loop: a full queue already wakes it; a gone one lands nothing.
            with contextlib.suppress(OSError):
                self._waker.sendto(b"!", _wake_path(self._path))
        with self._lock:
            self._waiters[sub.id] = fut
            while len(self._waiters) > MAX_WAITERS:  # landed elsewhere and never told: forget the oldest
                self._waiters.pop(next(iter(self._waiters)))
        return fut

    def _listen(self, sock: socket.socket) -> None:
        while True:
            try:
                data = sock.recv(MAX_DATAGRAM)
            except OSError:
                return  # closed: the server is stopping
            try:
                landed: dict[str, str] = json.loads(data)
            except ValueError:
                continue
            with self._lock:
                for sub_id, what in landed.items():
                    fut = self._waiters.pop(sub_id, None)
                    if fut is not None and not fut.done():
                        fut.set_result(what)


def _wake_path(notify: Path | str) -> str:
    return f"{notify}.wake"


def run_lander(
    db: Database,
    clock: Clock,
    *,
    notify: str | None,
    parent: int | None,
    custom: CustomLimits | None,
    batch: int = BATCH,
    idle_s: float = 1.0,
) -> None:
    spool = Spool.beside(db)
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    signal.signal(signal.SIGINT, lambda *_: stopping.set())
    out = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) if notify else None
    # Woken by the web process at each submission; without one it looks again every `idle_s`
    # (orphans, a parent gone): no polling while idle.
    wake = None
    if notify:
        Path(_wake_path(notify)).unlink(missing_ok=True)
        wake = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        wake.bind(_wake_path(notify))
        wake.settimeout(idle_s)
    frozen = False
    while True:
        try:
            subs = spool.claim(now=clock(), limit=batch)
        except Exception:  # the database may be briefly away: the spool keeps everything
            log.exception("lander.claim_failed")
            subs = []
            time.sleep(1)
        if subs:
            outcome = land_from(spool, db, subs, now=clock(), custom=custom)
            if not frozen:  # the first landing has loaded what every landing uses (core/heap.py)
                freeze_startup()
                frozen = True
            if out is not None and notify is not None:
                # The web process may be gone or busy: its requests answer anyway.
                with contextlib.suppress(OSError):
                    out.sendto(json.dumps(outcome).encode(), notify)
            continue
        if stopping.is_set() or (parent is not None and os.getppid() != parent):
            if wake is not None:
                wake.close()
                Path(_wake_path(notify or "")).unlink(missing_ok=True)
            return
        if wake is None:
            time.sleep(idle_s)
            continue
        with contextlib.suppress(TimeoutError, InterruptedError):
            wake.recv(16)
            wake.setblocking(False)  # take every other wake-up already queued: one claim serves them
            with contextlib.suppress(BlockingIOError):
                while wake.recv(16):
                    pass
        wake.settimeout(idle_s)
