"""Token buckets shared by every process through Redis, when LEADLOOP_REDIS_URL is set. Without
it each process counts alone (core/ratelimit.py), and N workers allow N times the rate. While Redis
cannot be reached, each process counts alone again (with a log line when it goes and when it comes
back): a limiter that is down must not take the sign-in page and the public form down with it."""

from __future__ import annotations

from threading import Lock
from typing import Any

from leadloop.core.logging import get_logger
from leadloop.core.ratelimit import Decision, Limiter, TokenBuckets

log = get_logger(__name__)
RETRY_S = 5.0  # while Redis is unreachable, try it again this often (not on every request)

# The whole read-refill-take-write in one script, so two processes cannot both take the last
# token. The time comes from Redis (TIME), not the caller: processes on different hosts do not
# share a monotonic clock.
_TAKE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1e6
local rate, burst = tonumber(ARGV[1]), tonumber(ARGV[2])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1]) or burst
local at = tonumber(state[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - at) * rate)
local allowed = 0
local wait = 0
if tokens >= 1 then
  tokens = tokens - 1
  allowed = 1
else
  wait = (1 - tokens) / rate
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('EXPIRE', KEYS[1], math.ceil(burst / rate) + 1)
return {allowed, tostring(wait)}
"""


class RedisBuckets:
    def __init__(self, client: Any, *, name: str, rate_per_s: float, burst: int) -> None:
        if rate_per_s <= 0 or burst < 1:
            raise ValueError("rate must be positive and burst at least 1")
        self.client = client
        self.name = name
        self.rate = rate_per_s
        self.burst = burst
        self._script = client.register_script(_TAKE)

    def take(self, key: str, now_s: float) -> Decision:
        allowed, wait = self._script(keys=[f"leadloop:rl:{self.name}:{key}"], args=[self.rate, self.burst])
        return Decision(bool(int(allowed)), float(wait))


class SharedBuckets:
    """Redis's buckets, or this process's own while Redis is unreachable. `now_s` is the caller's
    monotonic clock: it paces the retries; the buckets in Redis keep Redis's time."""

    def __init__(self, shared: RedisBuckets, *, retry_s: float = RETRY_S) -> None:
        self.shared = shared
        self.local = TokenBuckets(rate_per_s=shared.rate, burst=shared.burst)
        self.retry_s = retry_s
        self.down_since: float | None = None
        self._next_try = 0.0
        self._lock = Lock()

    def take(self, key: str, now_s: float) -> Decision:
        import redis

        if self.down_since is not None and now_s < self._next_try:
            return self.local.take(key, now_s)
        try:
            decision = self.shared.take(key, now_s)
        except redis.RedisError as exc:
            with self._lock:
                if self.down_since is None:
                    self.down_since = now_s
                    log.warning(
                        "ratelimit.redis_unreachable",
                        limiter=self.shared.name,
                        error=str(exc)[:200],
                        fallback="per-process buckets until Redis answers",
                    )
                self._next_try = now_s + self.retry_s
            return self.local.take(key, now_s)
        if self.down_since is not None:
            with self._lock:
                if self.down_since is not None:
                    log.info(
                        "ratelimit.redis_back",
                        limiter=self.shared.name,
                        down_s=round(now_s - self.down_since, 1),
                    )
                    self.down_since = None
        return decision


def make_limiter(redis_url: str | None, *, name: str, rate_per_s: float, burst: int) -> Limiter:
    if not redis_url:
        return TokenBuckets(rate_per_s=rate_per_s, burst=burst)
    import redis

    client = redis.Redis.from_url(
        redis_url, socket_timeout=0.5, socket_connect_timeout=0.5, decode_responses=True
    )
    return SharedBuckets(RedisBuckets(client, name=name, rate_per_s=rate_per_s, burst=burst))
