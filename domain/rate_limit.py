"""Rate limits: GCRA per key, and at most one report per key and window (DECISIONS 20).

GCRA (the generic cell rate algorithm, ITU-T I.371, the "leaky bucket as a meter") keeps one
number per key: the theoretical arrival time (TAT) of its next request. A request conforms
when TAT - now <= tolerance, and then pushes TAT on by one emission interval. It behaves as a
token bucket of `burst` tokens refilled at `per_second`, with no refill step and one float
per key, so a check is a dictionary lookup and a few float operations.

Refusals are counted per key in fixed windows: the first refusal of a key in a window returns
a `Report` (the caller records it once), the others only add to the count, which the key's
next report carries. The clock is the caller's: seconds from a monotonic clock.
"""

from __future__ import annotations

from typing import Final, NamedTuple

import msgspec

__all__ = ["Rate", "RateLimiter", "Refusal", "Report"]

# How many keys one limiter holds before it forgets the idle ones (a few MB at most).
MAX_KEYS: Final = 65_536
# A caller exactly at the rate must not be refused for a rounding error of the float clock.
_LEEWAY: Final = 1e-9


class Rate(msgspec.Struct, frozen=True, kw_only=True):
    """`per_second` sustained, `burst` at once after a quiet spell."""

    per_second: float
    burst: int

    def __post_init__(self) -> None:
        if not self.per_second > 0 or self.burst < 1:
            raise ValueError("a rate needs per_second > 0 and burst >= 1")

    def share(self, processes: int) -> Rate:
        """This process's part when `processes` serve the same callers (each at least 1)."""
        return Rate(
            per_second=self.per_second / processes,
            burst=max(1, -(-self.burst // processes)),
        )


class Report(msgspec.Struct, frozen=True, kw_only=True):
    """A key's first refusal in a window, with what its previous report left uncounted."""

    window: int  # floor(now / window_s): the window this refusal opened
    previous_window: int | None  # the last window the key was refused in, if remembered
    previous_refused: int  # requests refused to the key in that window


class Refusal(NamedTuple):
    retry_after: float  # seconds until the key's next request would conform
    report: Report | None  # set once per key and window


class _Trip:
    __slots__ = ("refused", "window")

    def __init__(self, window: int) -> None:
        self.window = window
        self.refused = 1


class RateLimiter:
    """One limit over many keys (client ids, source addresses), in one process's memory."""

    __slots__ = ("_interval", "_max_keys", "_tat", "_tolerance", "_trips", "_window_s", "rate")

    def __init__(self, rate: Rate, *, window_s: float = 60.0, max_keys: int = MAX_KEYS) -> None:
        if not window_s > 0 or max_keys < 1:
            raise ValueError("window_s must be positive and max_keys at least 1")
        self.rate = rate
        self._interval = 1.0 / rate.per_second
        self._tolerance = (rate.burst - 1) * self._interval
        self._window_s = window_s
        self._max_keys = max_keys
        self._tat: dict[str, float] = {}
        self._trips: dict[str, _Trip] = {}

    def __len__(self) -> int:
        """How many keys the limiter remembers (a bucket, refusals, or both)."""
        return len(self._tat.keys() | self._trips.keys())

    def take(self, key: str, now: float) -> Refusal | None:
        """Count one request of `key`: None if it conforms, else why and for how long not."""
        tat = max(self._tat.get(key, now), now)
        wait = tat - self._tolerance - now
        if wait > _LEEWAY:
            return Refusal(wait, self._refused(key, now))
        if len(self._tat) >= self._max_keys:
            self._forget_idle(now)
        self._tat[key] = tat + self._interval
        return None

    def _refused(self, key: str, now: float) -> Report | None:
        window = int(now // self._window_s)
        trip = self._trips.get(key)
        if trip is None:
            if len(self._trips) >= self._max_keys:
                self._forget_idle(now)
            self._trips[key] = _Trip(window)
            return Report(window=window, previous_window=None, previous_refused=0)
        if trip.window == window:
            trip.refused += 1
            return None
        report = Report(window=window, previous_window=trip.window, previous_refused=trip.refused)
        trip.window, trip.refused = window, 1
        return report

    def _forget_idle(self, now: float) -> None:
        """Drop keys whose bucket is full again (as good as unseen) and trips of past windows.

        Runs when a table is full, so its cost is spread over the insertions that filled it.
        If most keys are busy (a flood from very many sources), the tables start afresh:
        a bounded memory is worth more than the burst a few of those keys regain.
        """
        self._tat = {key: tat for key, tat in self._tat.items() if tat > now}
        window = int(now // self._window_s)
        self._trips = {key: trip for key, trip in self._trips.items() if trip.window == window}
        if len(self._tat) > self._max_keys * 3 // 4:
            self._tat.clear()
        if len(self._trips) > self._max_keys * 3 // 4:
            self._trips.clear()
