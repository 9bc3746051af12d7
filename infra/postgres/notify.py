"""Low-latency wake-ups for log followers over LISTEN/NOTIFY.

Each process's Notifier wakes the followers at most once per interval under steady appends,
and at once for an urgent append (a revocation). A group commit carries the NOTIFY in its own
statement when one is due (`Notifier.carry`, infra/postgres/event_store.py); a commit that
carried none pokes the Notifier, which sends one when the interval is up unless a later
commit has carried one meanwhile. A commit holding a NOTIFY queues on the notification lock
until it is flushed, so few commits carry one. Followers still poll as a fallback for a
missed wake-up.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from typing import Final

import asyncpg
import structlog

from infra.postgres.outage import OUTAGE_ERRORS

__all__ = ["CHANNEL", "HeldBack", "Notifier", "Wakeup"]

CHANNEL: Final = "keyledger_events"
# Under continuous appends, at most one NOTIFY per interval per process: a wake-up costs a
# round trip or a commit queued on the notification lock, and followers read everything
# committed by then anyway (they linger longer than this to gather a batch). An urgent append
# (a revocation) does not wait out the interval: resource servers should hear of it at once.
_MIN_INTERVAL_S: Final = 0.02

log = structlog.get_logger(__name__)


class Notifier:
    """Wakes the followers after commits: at most one NOTIFY per interval, sent or carried by
    a commit, and at once for an urgent one. Pokes during a send cause exactly one more."""

    def __init__(self, pool: asyncpg.Pool, interval_s: float = _MIN_INTERVAL_S) -> None:
        self._pool = pool
        self._interval_s = interval_s
        # Monotonic times: the last NOTIFY sent or carried by a commit, and the last commit
        # that carried none. A poke later than the last NOTIFY is still to be announced.
        self._last = -float("inf")
        self._poked = -float("inf")
        self._urgent = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def carry(self, urgent: bool = False) -> bool:
        """Whether the commit about to be sent should carry a NOTIFY in its own statement:
        urgent, or none went for an interval. If so, it counts as sent from now on."""
        now = time.monotonic()
        if urgent or now - self._last >= self._interval_s:
            self._last = now
            return True
        return False

    def poke(self, urgent: bool = False) -> None:
        """A commit that carried no NOTIFY is done: the followers are to hear of it."""
        self._poked = time.monotonic()
        if urgent:
            self._urgent.set()
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._send())

    async def _send(self) -> None:
        while self._poked > self._last:
            await wait(self._urgent, self._last + self._interval_s - time.monotonic())
            if self._poked < self._last and not self._urgent.is_set():
                return  # a commit decided after the last poke carried one: it covers them
            self._urgent.clear()
            self._last = time.monotonic()
            try:
                async with self._pool.acquire() as conn:
                    await conn.execute("SELECT pg_notify($1, '')", CHANNEL)
            except OUTAGE_ERRORS as error:
                # Followers poll anyway; a lost wake-up only costs latency.
                log.warning("notify_failed", error=str(error))
                return

    async def close(self) -> None:
        if self._task is not None:
            with contextlib.suppress(Exception):
                await self._task


class Wakeup:
    """Listens on the channel and sets every subscriber's event when the log grows."""

    def __init__(self) -> None:
        self._events: list[asyncio.Event] = []
        self._conn: asyncpg.Connection | None = None

    def subscribe(self) -> asyncio.Event:
        event = asyncio.Event()
        self._events.append(event)
        return event

    async def listen(self, dsn: str) -> None:
        self._conn = await asyncpg.connect(dsn)
        await self._conn.add_listener(CHANNEL, self._on_notify)

    async def keep_listening(self, dsn: str, retry_s: float = 1.0) -> None:
        """Listen, and listen again whenever the connection is lost (a Postgres restart)."""
        while True:
            try:
                await self.listen(dsn)
                closed = asyncio.Event()
                assert self._conn is not None
                self._conn.add_termination_listener(_setter(closed))
                self._on_notify()  # something may have been appended while we were away
                await closed.wait()
            except OUTAGE_ERRORS as error:
                log.warning("listen_failed", error=str(error))
            await asyncio.sleep(retry_s)

    def _on_notify(self, *_args: object) -> None:
        for event in self._events:
            event.set()

    @property
    def listening(self) -> bool:
        return self._conn is not None and not self._conn.is_closed()

    async def close(self) -> None:
        if self._conn is not None and not self._conn.is_closed():
            await self._conn.close()


def _setter(event: asyncio.Event) -> Callable[[object], None]:
    return lambda _conn: event.set()


async def wait(event: asyncio.Event, timeout: float) -> None:
    """Wait for a wake-up or the poll interval, whichever comes first."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(timeout):
            await event.wait()


class HeldBack:
    """How long a follower waits before looking again while committed events wait behind an
    older open transaction: it commits without a NOTIFY of its own (DECISIONS.md 5).
    1 ms first, doubling up to the poll interval; `reset` once the follower reads again."""

    _FIRST_S: Final = 0.001

    def __init__(self, poll_interval: float) -> None:
        self._ceiling = poll_interval
        self._next = self._FIRST_S

    async def pause(self) -> None:
        await asyncio.sleep(self._next)
        self._next = min(2 * self._next, self._ceiling)

    def reset(self) -> None:
        self._next = self._FIRST_S
