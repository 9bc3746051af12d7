"""Low-latency wake-ups for log followers over LISTEN/NOTIFY.

A group commit carries its own NOTIFY (infra/postgres/event_store.py). Appends inside a
caller's transaction poke a Notifier instead, which sends one coalesced NOTIFY after their
commit, so they do not all queue on the notification lock. Followers still poll as a
fallback for a missed wake-up.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Final

import asyncpg
import structlog

from infra.postgres.outage import OUTAGE_ERRORS

__all__ = ["CHANNEL", "HeldBack", "Notifier", "Wakeup"]

CHANNEL: Final = "keyledger_events"
# Under continuous appends, at most one NOTIFY per interval per process: a wake-up is a
# round trip, and followers read everything committed by then anyway. An urgent poke (a
# revocation) does not wait out the interval: resource servers should hear of it at once.
_MIN_INTERVAL_S: Final = 0.005

log = structlog.get_logger(__name__)


class Notifier:
    """Sends at most one NOTIFY at a time; pokes during a send cause exactly one more."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool
        self._dirty = False
        self._urgent = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def poke(self, urgent: bool = False) -> None:
        self._dirty = True
        if urgent:
            self._urgent.set()
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._send())

    async def _send(self) -> None:
        while self._dirty:
            self._dirty = False
            try:
                async with self._pool.acquire() as conn:
                    await conn.execute("SELECT pg_notify($1, '')", CHANNEL)
            except OUTAGE_ERRORS as error:
                # Followers poll anyway; a lost wake-up only costs latency.
                log.warning("notify_failed", error=str(error))
                return
            self._urgent.clear()
            await wait(self._urgent, _MIN_INTERVAL_S)

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
