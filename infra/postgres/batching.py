"""Batching concurrent requests into shared round trips: group commit and grouped lookups.

While one batch is in flight, new requests queue; when it returns, everything queued goes
in the next one. A lone request goes at once (no added latency when idle), and under load
one transaction or query serves many requests, which leaves CPU for the rest.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Hashable, Iterator, Mapping, Sequence
from contextvars import ContextVar
from typing import Final, Generic, TypeVar

from infra.postgres.event_store import EventStore, StreamAppend
from infra.postgres.outage import is_outage

__all__ = ["Arrivals", "Batcher", "GroupCommit", "GroupedLookup"]

T = TypeVar("T")
R = TypeVar("R")
K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


# A batch that ended this recently means requests are streaming in.
_BUSY_S: Final = 0.005


class _Ticket:
    __slots__ = ("arrived",)

    def __init__(self) -> None:
        self.arrived = False


# The ticket of the request this task serves, while it is on its way to a batcher.
_TICKET: ContextVar[_Ticket | None] = ContextVar("batching_ticket", default=None)


class Arrivals:
    """The requests on their way to a batcher: a lingering batch waits for them, no longer.

    A request that will (probably) submit says so as it starts (`expecting`); it counts as
    arrived once it submits, or once it ends without submitting. When none is on its way,
    waiting longer could only gather requests that have not reached the process yet: the
    batch goes at once instead of leaving the CPU idle until its linger runs out.
    """

    __slots__ = ("_all_here", "_on_the_way")

    def __init__(self) -> None:
        self._on_the_way = 0
        self._all_here: asyncio.Future[None] | None = None

    @contextlib.contextmanager
    def expecting(self) -> Iterator[None]:
        """Count the current request as on its way until it submits or ends."""
        ticket = _Ticket()
        self._on_the_way += 1
        reset = _TICKET.set(ticket)
        try:
            yield
        finally:
            _TICKET.reset(reset)
            self._arrive(ticket)

    def arrived(self) -> None:
        """The current request (if it was expected) has reached the batcher, or will not
        come after all: a gathering batch waits for it no longer."""
        ticket = _TICKET.get()
        if ticket is not None:
            self._arrive(ticket)

    def _arrive(self, ticket: _Ticket) -> None:
        if ticket.arrived:
            return
        ticket.arrived = True
        self._on_the_way -= 1
        waiter = self._all_here
        if self._on_the_way <= 0 and waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def wait(self, timeout: float) -> None:
        """Until no expected request is on its way, or `timeout` seconds."""
        if self._on_the_way <= 0:
            return
        loop = asyncio.get_running_loop()
        waiter = self._all_here = loop.create_future()
        timer = loop.call_later(timeout, _settle, waiter)
        try:
            await waiter
        finally:
            timer.cancel()
            self._all_here = None


def _settle(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)


class Batcher(Generic[T, R]):
    """Runs `run(items)` over whatever is queued; each caller gets its own result back.

    Up to `in_flight` batches run at once, so one slow round trip does not hold up the
    next; batches form only when every slot is busy. A round trip costs far more CPU than
    the work of one item, so while requests keep coming (the last batch ended moments
    ago) a batch waits up to `linger` seconds for company: with `arrivals`, only as long
    as some expected request is still on its way. An idle caller never waits.
    """

    def __init__(
        self,
        run: Callable[[Sequence[T]], Awaitable[Sequence[R | BaseException]]],
        max_batch: int,
        in_flight: int = 2,
        linger: float = 0.0,
        arrivals: Arrivals | None = None,
    ) -> None:
        self._run = run
        self._max_batch = max_batch
        self._in_flight = in_flight
        self._linger = linger
        self._arrivals = arrivals
        self._last_end = -1.0
        self._gathering = False
        self._pending: list[tuple[T, asyncio.Future[R]]] = []
        self._running: set[asyncio.Task[None]] = set()

    async def submit(self, item: T) -> R:
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._pending.append((item, future))
        if self._arrivals is not None:
            self._arrivals.arrived()
        self._start()
        return await future

    def _start(self) -> None:
        # At most one batch is gathering at a time; it takes what is queued when it starts.
        if self._gathering or not self._pending or len(self._running) >= self._in_flight:
            return
        busy = time.monotonic() - self._last_end < _BUSY_S
        self._gathering = True
        task = asyncio.create_task(self._flush(self._linger if busy else 0.0))
        self._running.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._running.discard(task)
        self._last_end = time.monotonic()
        self._start()

    async def _company(self, linger: float) -> None:
        if self._arrivals is None:
            await asyncio.sleep(linger)
        else:
            await self._arrivals.wait(linger)

    async def _flush(self, linger: float) -> None:
        if linger:
            try:
                await self._company(linger)
            except BaseException:
                self._gathering = False
                for _, future in self._pending:  # shutting down: nobody waiting may hang
                    future.cancel()
                raise
        batch = self._pending[: self._max_batch]
        del self._pending[: self._max_batch]
        self._gathering = False
        self._start()  # more than a batch's worth queued: another slot may take it
        try:
            results = await self._run([item for item, _ in batch])
        except Exception as error:  # noqa: BLE001 (handed to every waiting caller)
            results = [error] * len(batch)
        except BaseException:
            # Cancelled (shutdown): nobody waiting may hang.
            for _, future in batch:
                future.cancel()
            raise
        for (_, future), result in zip(batch, results, strict=True):
            if future.done():
                continue  # the caller went away; the work was done regardless
            if isinstance(result, BaseException):
                future.set_exception(result)
            else:
                future.set_result(result)


class GroupCommit:
    """Appends to fresh streams from concurrent requests commit in one transaction.

    Only for appends that cannot conflict (new streams with unique ids): if a batch fails
    anyway, its members are retried alone so one bad append fails only its own request.
    """

    def __init__(self, store: EventStore, max_batch: int = 256, linger: float = 0.005) -> None:
        self._store = store
        self._arrivals = Arrivals()
        # One commit in flight: the next batch gathers everything that arrived meanwhile, and
        # an append's fixed cost (a round trip, a statement) is shared by more requests.
        self._batcher: Batcher[Sequence[StreamAppend], None] = Batcher(
            self._commit, max_batch, in_flight=1, linger=linger, arrivals=self._arrivals
        )

    def expecting(self) -> contextlib.AbstractContextManager[None]:
        """Around a request that will probably append: a gathering batch waits for it."""
        return self._arrivals.expecting()

    def not_coming(self) -> None:
        """The current request turned out not to append soon: stop waiting for it."""
        self._arrivals.arrived()

    async def append(self, appends: Sequence[StreamAppend]) -> None:
        await self._batcher.submit(appends)

    async def _commit(self, batch: Sequence[Sequence[StreamAppend]]) -> list[BaseException | None]:
        try:
            await self._store.append_all([append for appends in batch for append in appends])
        except Exception as error:
            # An outage fails every member alike: retrying them one by one would only hold
            # the callers (and the next batch) longer before they hear it.
            if len(batch) == 1 or is_outage(error):
                raise
            return [await self._alone(appends) for appends in batch]
        return [None] * len(batch)

    async def _alone(self, appends: Sequence[StreamAppend]) -> BaseException | None:
        try:
            await self._store.append_all(appends)
        except Exception as error:  # noqa: BLE001 (reported to its own caller)
            return error
        return None


class GroupedLookup(Generic[K, V]):
    """Concurrent lookups by key share one query (`fetch` returns the rows it found)."""

    def __init__(
        self,
        fetch: Callable[[Sequence[K]], Awaitable[Mapping[K, V]]],
        max_batch: int = 256,
        linger: float = 0.0005,
    ) -> None:
        self._fetch = fetch
        self._batcher: Batcher[K, V | None] = Batcher(self._lookup, max_batch, linger=linger)

    async def get(self, key: K) -> V | None:
        return await self._batcher.submit(key)

    async def _lookup(self, keys: Sequence[K]) -> list[V | BaseException | None]:
        found = await self._fetch(list(dict.fromkeys(keys)))
        return [found.get(key) for key in keys]
