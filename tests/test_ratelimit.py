from __future__ import annotations

from relay.ratelimit import RateLimiter


def test_burst_then_rate() -> None:
    limiter = RateLimiter(rate=1.0, burst=3)
    assert [limiter.allow("a", 0.0) for _ in range(4)] == [True, True, True, False]
    assert limiter.allow("b", 0.0)  # other keys are independent
    assert not limiter.allow("a", 0.5)
    assert limiter.allow("a", 1.6)
    assert not limiter.allow("a", 1.7)


def test_refill_is_capped_at_the_burst() -> None:
    limiter = RateLimiter(rate=10.0, burst=2)
    limiter.allow("a", 0.0)
    assert [limiter.allow("a", 100.0) for _ in range(3)] == [True, True, False]


def test_memory_is_bounded_by_evicting_the_least_recent_key() -> None:
    limiter = RateLimiter(rate=0.0, burst=1, max_keys=2)
    assert limiter.allow("a", 0.0) and limiter.allow("b", 0.0)
    assert limiter.allow("c", 0.0)
    assert len(limiter) == 2
    assert limiter.allow("a", 0.0)  # forgotten, so full again (errs towards letting in)
    assert not limiter.allow("c", 0.0)
