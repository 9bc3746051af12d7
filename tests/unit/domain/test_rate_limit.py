"""GCRA rate limits with an injected clock: bursts, sustained rates, one report per window."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.rate_limit import Rate, RateLimiter, Refusal, Report

# Powers of two keep every emission interval and instant exact in binary floating point.
FOUR_A_SECOND = Rate(per_second=4, burst=4)


def refused(refusal: Refusal | None) -> Refusal:
    assert refusal is not None
    return refusal


def test_a_burst_goes_through_then_the_next_request_waits_one_interval() -> None:
    limiter = RateLimiter(FOUR_A_SECOND)
    assert [limiter.take("c1", 0.0) for _ in range(4)] == [None] * 4
    assert refused(limiter.take("c1", 0.0)).retry_after == 0.25
    assert limiter.take("c1", 0.25) is None  # exactly when it was told to come back


def test_refused_requests_do_not_extend_the_wait() -> None:
    limiter = RateLimiter(Rate(per_second=1, burst=1))
    assert limiter.take("ip", 10.0) is None
    waits = [refused(limiter.take("ip", 10.0 + n / 8)).retry_after for n in range(1, 8)]
    assert waits == [1 - n / 8 for n in range(1, 8)]
    assert limiter.take("ip", 11.0) is None


def test_keys_are_limited_apart() -> None:
    limiter = RateLimiter(Rate(per_second=1, burst=1))
    assert limiter.take("a", 0.0) is None
    assert limiter.take("a", 0.0) is not None
    assert limiter.take("b", 0.0) is None


@given(
    start=st.floats(min_value=0, max_value=1e6, allow_nan=False),
    gaps=st.lists(st.floats(min_value=0.25, max_value=100, allow_nan=False), max_size=200),
)
def test_a_caller_within_the_rate_is_never_refused(start: float, gaps: list[float]) -> None:
    limiter = RateLimiter(FOUR_A_SECOND)
    now = start
    for _ in range(4):  # a full burst first: the sustained rate alone must still pass
        assert limiter.take("client", now) is None
    for gap in gaps:
        now += gap
        assert limiter.take("client", now) is None


@given(
    arrivals=st.lists(
        st.integers(min_value=0, max_value=4_000).map(lambda ms: ms / 1000), max_size=300
    )
)
def test_no_interval_admits_more_than_the_burst_plus_the_rate(arrivals: list[float]) -> None:
    limiter = RateLimiter(FOUR_A_SECOND)
    admitted = [t for t in sorted(arrivals) if limiter.take("flood", t) is None]
    for i, first in enumerate(admitted):
        for j in range(i, len(admitted)):
            span = admitted[j] - first
            assert j - i + 1 <= FOUR_A_SECOND.burst + span * FOUR_A_SECOND.per_second + 1e-6


def test_a_flood_is_reported_once_per_window_with_the_previous_windows_count() -> None:
    limiter = RateLimiter(Rate(per_second=1, burst=1), window_s=60)
    assert limiter.take("ip", 0.0) is None
    first = [refused(limiter.take("ip", 0.001 * n)).report for n in range(1, 101)]
    assert first[0] == Report(window=0, previous_window=None, previous_refused=0)
    assert first[1:] == [None] * 99
    # Next window: admitted once, then refused again; its first refusal carries the 100.
    assert limiter.take("ip", 60.0) is None
    second = [refused(limiter.take("ip", 60.5)).report for _ in range(3)]
    assert second == [Report(window=1, previous_window=0, previous_refused=100), None, None]
    # A quiet spell, then a new trip: the count of the last window with refusals.
    assert limiter.take("ip", 600.0) is None
    later = refused(limiter.take("ip", 600.0)).report
    assert later == Report(window=10, previous_window=1, previous_refused=3)


def test_each_key_has_its_own_reports() -> None:
    limiter = RateLimiter(Rate(per_second=1, burst=1))
    for key in ("a", "b"):
        assert limiter.take(key, 0.0) is None
        assert refused(limiter.take(key, 0.0)).report is not None
        assert refused(limiter.take(key, 0.0)).report is None


def test_idle_keys_are_forgotten_when_the_table_is_full_and_busy_ones_kept() -> None:
    limiter = RateLimiter(Rate(per_second=1, burst=1), max_keys=4)
    for key in ("b", "c"):
        assert limiter.take(key, 0.0) is None  # idle again from t=1
    assert limiter.take("a", 0.9) is None
    assert limiter.take("d", 1.5) is None
    assert len(limiter) == 4
    assert limiter.take("e", 1.6) is None  # full: b and c go, a and d stay
    assert len(limiter) == 3
    assert refused(limiter.take("a", 1.6)).retry_after == pytest.approx(0.3)


def test_a_flood_of_distinct_keys_never_holds_more_than_the_table() -> None:
    limiter = RateLimiter(Rate(per_second=1, burst=1), max_keys=100)
    for n in range(1_000):
        limiter.take(f"2001:db8::{n:x}", 0.0)
        limiter.take(f"2001:db8::{n:x}", 0.0)  # refused: a trip per key
        assert len(limiter) <= 100


def test_a_share_divides_the_rate_and_rounds_the_burst_up() -> None:
    assert Rate(per_second=10, burst=5).share(2) == Rate(per_second=5, burst=3)
    assert Rate(per_second=10, burst=1).share(4) == Rate(per_second=2.5, burst=1)


@pytest.mark.parametrize(("per_second", "burst"), [(0, 1), (-1, 1), (1, 0), (float("nan"), 1)])
def test_a_rate_needs_a_positive_rate_and_burst(per_second: float, burst: int) -> None:
    with pytest.raises(ValueError, match="rate"):
        Rate(per_second=per_second, burst=burst)
