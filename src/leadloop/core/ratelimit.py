"""A token bucket per key (the sender's IP). Pure: the caller passes the time in."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from threading import Lock
from typing import Protocol


@dataclass
class Decision:
    allowed: bool
    retry_after_s: float


class Limiter(Protocol):
    def take(self, key: str, now_s: float) -> Decision: ...


class TokenBuckets:
    """`rate` tokens a second up to `burst`. Bounded memory: the least recently seen keys go first."""

    def __init__(self, *, rate_per_s: float, burst: int, max_keys: int = 100_000) -> None:
        if rate_per_s <= 0 or burst < 1:
            raise ValueError("rate must be positive and burst at least 1")
        self.rate = rate_per_s
        self.burst = float(burst)
        self.max_keys = max_keys
        self._state: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._lock = Lock()

    def take(self, key: str, now_s: float) -> Decision:
        with self._lock:
            tokens, last = self._state.pop(key, (self.burst, now_s))
            tokens = min(self.burst, tokens + max(0.0, now_s - last) * self.rate)
            if tokens >= 1.0:
                self._state[key] = (tokens - 1.0, now_s)
                allowed, wait = True, 0.0
            else:
                self._state[key] = (tokens, now_s)
                allowed, wait = False, (1.0 - tokens) / self.rate
            while len(self._state) > self.max_keys:
                self._state.popitem(last=False)
            return Decision(allowed, wait)
