"""Lockout policy: a doubling delay past the threshold, from the latest failure, capped."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from domain.policies.lockout import LockoutPolicy, locked_until

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
POLICY = LockoutPolicy(
    threshold=3,
    window=timedelta(minutes=15),
    base_delay=timedelta(seconds=30),
    max_delay=timedelta(minutes=4),
)


def failures(
    count: int, *, latest: datetime = NOW, every: timedelta = timedelta(seconds=1)
) -> list[datetime]:
    """`count` failures, the latest at `latest`, oldest first."""
    return [latest - every * n for n in reversed(range(count))]


def test_below_the_threshold_attempts_go_on() -> None:
    assert locked_until(POLICY, failures(2), NOW) is None


def test_at_the_threshold_the_base_delay_runs_from_the_latest_failure() -> None:
    latest = NOW - timedelta(seconds=10)
    shuffled = list(reversed(failures(3, latest=latest)))  # order does not matter
    assert locked_until(POLICY, shuffled, NOW) == latest + timedelta(seconds=30)


def test_each_failure_past_the_threshold_doubles_the_delay() -> None:
    assert locked_until(POLICY, failures(4), NOW) == NOW + timedelta(seconds=60)
    assert locked_until(POLICY, failures(5), NOW) == NOW + timedelta(seconds=120)


def test_the_delay_is_capped() -> None:
    assert locked_until(POLICY, failures(6), NOW) == NOW + timedelta(minutes=4)
    assert locked_until(POLICY, failures(200), NOW) == NOW + timedelta(minutes=4)


def test_failures_outside_the_window_are_forgotten() -> None:
    old = NOW - POLICY.window
    assert locked_until(POLICY, [old, old, *failures(2)], NOW) is None
    inside = old + timedelta(seconds=1)
    assert locked_until(POLICY, [inside, *failures(2)], NOW) == NOW + timedelta(seconds=30)


def test_the_lock_ends_once_its_time_has_passed() -> None:
    history = failures(3)
    until = NOW + timedelta(seconds=30)
    assert locked_until(POLICY, history, until - timedelta(microseconds=1)) == until
    assert locked_until(POLICY, history, until) is None
    assert locked_until(POLICY, history, until + timedelta(seconds=1)) is None
