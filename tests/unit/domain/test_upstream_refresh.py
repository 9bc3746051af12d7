"""When the scheduler acts on a connection, and the status its owner sees."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import msgspec

from domain.policies.upstream_refresh import RefreshPolicy, Schedule, next_action, status_of

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
SETTLE = timedelta(seconds=20)
# Tokens for 30 days, refreshed 3 days before they expire, checked hourly.
POLICY = RefreshPolicy(margin=timedelta(days=3), health_interval=timedelta(hours=1), can_check=True)
ACTIVE = Schedule(
    lifecycle="active", access_expires_at=NOW + timedelta(days=30), refresh_expires_at=None,
    has_refresh=True, obtained_at=NOW, checked_at=NOW,
)  # fmt: skip


def at(schedule: Schedule, moment: timedelta, policy: RefreshPolicy = POLICY) -> object:
    return next_action(schedule, policy, NOW + moment, settle=SETTLE)


def test_a_refresh_comes_due_at_the_providers_margin_before_expiry() -> None:
    quiet = msgspec.structs.replace(POLICY, health_interval=None)
    assert at(ACTIVE, timedelta(days=27) - timedelta(seconds=1), quiet) is None
    assert at(ACTIVE, timedelta(days=27), quiet) == ("refresh", "expiry")


def test_a_maximum_age_refreshes_whatever_the_expiry_says() -> None:
    weekly = msgspec.structs.replace(POLICY, max_age=timedelta(days=7), health_interval=None)
    assert at(ACTIVE, timedelta(days=7), weekly) == ("refresh", "max_age")


def test_health_is_checked_at_its_interval_while_the_token_lives() -> None:
    assert at(ACTIVE, timedelta(minutes=59)) is None
    assert at(ACTIVE, timedelta(hours=1)) == ("health_check", None)
    unable = msgspec.structs.replace(POLICY, can_check=False)
    assert at(ACTIVE, timedelta(hours=1), unable) is None


def test_an_open_claim_is_resolved_first_and_only_once_it_has_settled() -> None:
    claimed = msgspec.structs.replace(ACTIVE, claim_started_at=NOW)
    assert at(claimed, SETTLE - timedelta(seconds=1)) is None
    assert at(claimed, timedelta(days=29)) == ("resolve_claim", None)


def test_a_failed_refresh_waits_for_its_retry_time() -> None:
    failed = msgspec.structs.replace(ACTIVE, retry_at=NOW + timedelta(days=28))
    assert at(failed, timedelta(days=27, hours=12)) is None
    assert at(failed, timedelta(days=28)) == ("refresh", "expiry")


def test_a_connection_with_nothing_to_renew_it_expires_with_its_token() -> None:
    alone = msgspec.structs.replace(ACTIVE, has_refresh=False)
    assert at(alone, timedelta(days=30)) == ("expire", None)


def test_the_status_follows_the_clock_and_the_lifecycle() -> None:
    assert status_of(ACTIVE, POLICY, NOW) == "healthy"
    assert status_of(ACTIVE, POLICY, NOW + timedelta(days=27)) == "expiring"
    assert status_of(ACTIVE, POLICY, NOW + timedelta(days=30)) == "expired"
    for lifecycle in ("revoked", "needs_reauthentication", "failed", "expired"):
        ended = msgspec.structs.replace(ACTIVE, lifecycle=lifecycle)
        assert status_of(ended, POLICY, NOW) == lifecycle
        assert next_action(ended, POLICY, NOW + timedelta(days=40), settle=SETTLE) is None
