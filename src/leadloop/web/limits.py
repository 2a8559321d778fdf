"""Token buckets shared by every process through Redis, when LEADLOOP_REDIS_URL is set. Without
it each process counts alone (core/ratelimit.py), and N workers allow N times the rate."""

from __future__ import annotations

from typing import Any

from leadloop.core.ratelimit import Decision, Limiter, TokenBuckets

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


def make_limiter(redis_url: str | None, *, name: str, rate_per_s: float, burst: int) -> Limiter:
    if not redis_url:
        return TokenBuckets(rate_per_s=rate_per_s, burst=burst)
    import redis

    client = redis.Redis.from_url(redis_url, socket_timeout=1.0, decode_responses=True)
    return RedisBuckets(client, name=name, rate_per_s=rate_per_s, burst=burst)
