from hypothesis import given
from hypothesis import strategies as st

from leadloop.core.ratelimit import TokenBuckets


def test_burst_then_refuse_then_refill() -> None:
    b = TokenBuckets(rate_per_s=1.0, burst=3)
    assert [b.take("ip", 0.0).allowed for _ in range(4)] == [True, True, True, False]
    refused = b.take("ip", 0.0)
    assert not refused.allowed and 0 < refused.retry_after_s <= 1.0
    assert b.take("ip", 1.0).allowed
    assert b.take("other", 0.0).allowed  # buckets are per key


@given(
    rate=st.floats(0.1, 50),
    burst=st.integers(1, 50),
    gaps=st.lists(st.floats(0, 2), min_size=1, max_size=200),
)
def test_never_more_than_burst_plus_rate_times_elapsed(rate: float, burst: int, gaps: list[float]) -> None:
    b = TokenBuckets(rate_per_s=rate, burst=burst)
    t = 0.0
    allowed = 0
    for gap in gaps:
        t += gap
        allowed += b.take("k", t).allowed
    assert allowed <= burst + rate * t + 1e-9


def test_memory_is_bounded() -> None:
    b = TokenBuckets(rate_per_s=1, burst=1, max_keys=10)
    for i in range(100):
        b.take(str(i), 0.0)
    assert len(b._state) == 10
