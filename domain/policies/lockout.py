"""Brute-force protection: after repeated failures, attempts must wait (OWASP guidance).

Counted per account and per source address over a sliding window. The delay doubles with
each failure past the threshold, up to a cap, and runs from the latest failure; one success
clears an account's count.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

import msgspec

__all__ = ["ACCOUNT", "SOURCE", "LockoutPolicy", "locked_until"]


class LockoutPolicy(msgspec.Struct, frozen=True, kw_only=True):
    threshold: int
    window: timedelta
    base_delay: timedelta
    max_delay: timedelta


# An account can be guessed at from many addresses, an address can try many accounts.
ACCOUNT = LockoutPolicy(
    threshold=5,
    window=timedelta(minutes=15),
    base_delay=timedelta(seconds=30),
    max_delay=timedelta(minutes=15),
)
SOURCE = LockoutPolicy(
    threshold=20,
    window=timedelta(minutes=15),
    base_delay=timedelta(seconds=30),
    max_delay=timedelta(minutes=15),
)


def locked_until(
    policy: LockoutPolicy, failures: Sequence[datetime], now: datetime
) -> datetime | None:
    """When attempts may resume, or None if they may go on now. `failures` in any order."""
    recent = [at for at in failures if now - at < policy.window]
    excess = len(recent) - policy.threshold
    if excess < 0:
        return None
    delay = min(policy.base_delay * (2 ** min(excess, 16)), policy.max_delay)
    until = max(recent) + delay
    return until if until > now else None
