"""This process's rate limiters, and the event that records a key going over one.

Each API worker holds its own limiters in memory (no round trip on the hot path) and enforces
its share of each configured limit: the replica's limit divided by its workers. A refusal is
recorded as a `rate_limit_exceeded` event only when it opens a window for its key
(domain/rate_limit.py); the others are counted into the key's next event (DECISIONS 20).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta
from typing import Final

from domain.rate_limit import Rate, RateLimiter, Refusal, Report
from infra.config import RATE_LIMITS, Settings
from infra.postgres.batching import GroupCommit
from schemas.envelope import Metadata
from schemas.events import RateLimitExceeded
from schemas.events.rate_limit import RateLimitName
from services.commands import append_to_new_stream, utcnow

__all__ = ["RateLimits"]

STREAM_TYPE: Final = "rate_limit"


class RateLimits:
    """The limits of one API process; `take` is synchronous and O(1), `record` appends."""

    __slots__ = ("_clock", "_group", "_limiters", "_window_s")

    def __init__(
        self,
        settings: Settings,
        group: GroupCommit,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._group = group
        self._clock = clock
        self._window_s = settings.rate_limit_window_s
        self._limiters: dict[RateLimitName, RateLimiter | None] = {}
        for name in RATE_LIMITS:
            per_second, burst = settings.rate_limit(name)
            self._limiters[name] = (
                RateLimiter(
                    Rate(per_second=per_second, burst=burst).share(settings.workers),
                    window_s=self._window_s,
                )
                if per_second > 0
                else None
            )

    def take(self, limit: RateLimitName, key: str) -> Refusal | None:
        """Count one request of `key` against `limit`: None if it may go on."""
        limiter = self._limiters[limit]
        return None if limiter is None else limiter.take(key, self._clock())

    async def record(self, limit: RateLimitName, refusal: Refusal, metadata: Metadata) -> None:
        """Append the refusal's report, if it opened a window (the caller then answers 429)."""
        limiter = self._limiters[limit]
        if refusal.report is None or limiter is None:
            return
        event = self._event(limit, limiter.rate, refusal.report)
        await append_to_new_stream(self._group, STREAM_TYPE, [event], metadata)

    def _event(self, limit: RateLimitName, rate: Rate, report: Report) -> RateLimitExceeded:
        # Windows count on the monotonic clock; the event dates them on the wall clock.
        now, wall = self._clock(), utcnow()

        def started(window: int) -> timedelta:
            return timedelta(seconds=now - window * self._window_s)

        previous = report.previous_window
        return RateLimitExceeded(
            limit=limit,
            per_second=rate.per_second,
            burst=rate.burst,
            window_started_at=wall - started(report.window),
            window_s=self._window_s,
            previous_window_started_at=None if previous is None else wall - started(previous),
            previous_refused=report.previous_refused,
        )
