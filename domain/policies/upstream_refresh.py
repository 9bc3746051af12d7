"""When keyledger acts on a connection's upstream tokens, and what status it shows.

Pure: the scheduler hands in what it knows of a connection and the provider's policy, with
the time; the answer is the one next thing to do (or nothing) and the status a caller sees.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal

import msgspec
from schemas.events.connection import RefreshTrigger

__all__ = ["Action", "RefreshPolicy", "Schedule", "Status", "next_action", "status_of"]

Action = Literal["resolve_claim", "expire", "refresh", "health_check"]
Status = Literal[
    "pending", "failed", "healthy", "expiring", "expired", "revoked", "needs_reauthentication"
]


class RefreshPolicy(msgspec.Struct, frozen=True, kw_only=True):
    """A provider's: refresh `margin` before expiry, at least every `max_age`, and ask the
    provider whether the grant still works every `health_interval`."""

    margin: timedelta
    max_age: timedelta | None = None
    health_interval: timedelta | None = None
    # Whether a health check can be made at all (an introspection or userinfo endpoint).
    can_check: bool = False


class Schedule(msgspec.Struct, frozen=True, kw_only=True):
    """What the scheduler knows of one connection (its projection row)."""

    lifecycle: str
    access_expires_at: datetime | None
    refresh_expires_at: datetime | None
    has_refresh: bool
    # When the current tokens were obtained, and when the provider was last asked about them.
    obtained_at: datetime | None
    checked_at: datetime | None = None
    # An open claim's start, or an attempt in doubt: resolved before anything else.
    claim_started_at: datetime | None = None
    in_doubt: bool = False
    retry_at: datetime | None = None
    refresh_requested: bool = False


def _refresh_trigger(
    schedule: Schedule, policy: RefreshPolicy, now: datetime
) -> RefreshTrigger | None:
    if not schedule.has_refresh:
        return None
    if schedule.refresh_requested:
        return "health_check"
    for expiry in (schedule.access_expires_at, schedule.refresh_expires_at):
        if expiry is not None and expiry - policy.margin <= now:
            return "expiry"
    obtained = schedule.obtained_at
    if policy.max_age is not None and obtained is not None and obtained + policy.max_age <= now:
        return "max_age"
    return None


def _expired(schedule: Schedule, now: datetime) -> bool:
    """The access token is over and nothing can renew it."""
    access = schedule.access_expires_at
    if access is None or now < access:
        return False
    refresh = schedule.refresh_expires_at
    return not schedule.has_refresh or (refresh is not None and refresh <= now)


def next_action(
    schedule: Schedule, policy: RefreshPolicy, now: datetime, *, settle: timedelta
) -> tuple[Action, RefreshTrigger | None] | None:
    """The one thing due now. An open claim is resolved only once `settle` has passed since it
    was made: by then a request its dead worker sent has been answered or abandoned."""
    if schedule.lifecycle != "active":
        return None
    if schedule.claim_started_at is not None or schedule.in_doubt:
        started = schedule.claim_started_at
        if started is None or started + settle <= now:
            return "resolve_claim", None
        return None
    if _expired(schedule, now):
        return "expire", None
    if schedule.retry_at is not None and now < schedule.retry_at:
        return None  # a refresh failed: the provider is left alone until the retry time
    trigger = _refresh_trigger(schedule, policy, now)
    if trigger is not None:
        return "refresh", trigger
    access = schedule.access_expires_at
    if policy.can_check and policy.health_interval is not None and schedule.obtained_at:
        last = max(schedule.checked_at or schedule.obtained_at, schedule.obtained_at)
        if last + policy.health_interval <= now and (access is None or now < access):
            return "health_check", None
    return None


def status_of(schedule: Schedule, policy: RefreshPolicy, now: datetime) -> Status:
    """What the owner sees: the lifecycle, refined by the clock for an active connection."""
    match schedule.lifecycle:
        case "active":
            access = schedule.access_expires_at
            if access is not None and access <= now:
                return "expired"
            expiries = (access, schedule.refresh_expires_at if schedule.has_refresh else None)
            if any(e is not None and e - policy.margin <= now for e in expiries):
                return "expiring"
            return "healthy"
        case "new" | "pending":
            return "pending"
        case "failed" | "revoked" | "expired" | "needs_reauthentication":
            return schedule.lifecycle
        case _:
            raise ValueError(f"unknown lifecycle {schedule.lifecycle!r}")
