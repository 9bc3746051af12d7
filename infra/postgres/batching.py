"""Batching concurrent requests into shared round trips: group commit and grouped lookups.

While one batch is in flight, new requests queue; when it returns, everything queued goes
in the next one. A lone request goes at once (no added latency when idle), and under load
one transaction or query serves many requests, which leaves CPU for the rest.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable, Mapping, Sequence
from typing import Generic, TypeVar

from infra.postgres.event_store import EventStore, StreamAppend

__all__ = ["Batcher", "GroupCommit", "GroupedLookup"]

T = TypeVar("T")
R = TypeVar("R")
K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class Batcher(Generic[T, R]):
    """Runs `run(items)` over whatever is queued; each caller gets its own result back.

    Up to `in_flight` batches run at once, so one slow round trip does not hold up the
    next; batches form only when every slot is busy.
    """

    def __init__(
        self,
        run: Callable[[Sequence[T]], Awaitable[Sequence[R | BaseException]]],
        max_batch: int,
        in_flight: int = 2,
    ) -> None:
        self._run = run
        self._max_batch = max_batch
        self._in_flight = in_flight
        self._pending: list[tuple[T, asyncio.Future[R]]] = []
        self._running: set[asyncio.Task[None]] = set()

    async def submit(self, item: T) -> R:
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._pending.append((item, future))
        self._start()
        return await future

    def _start(self) -> None:
        while self._pending and len(self._running) < self._in_flight:
            batch = self._pending[: self._max_batch]
            del self._pending[: self._max_batch]
            task = asyncio.create_task(self._flush(batch))
            self._running.add(task)
            task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._running.discard(task)
        self._start()

    async def _flush(self, batch: list[tuple[T, asyncio.Future[R]]]) -> None:
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

    def __init__(self, store: EventStore, max_batch: int = 256) -> None:
        self._store = store
        # One commit in flight: the next batch gathers everything that arrived meanwhile, and
        # an append's fixed cost (a round trip, a statement) is shared by more requests.
        self._batcher: Batcher[Sequence[StreamAppend], None] = Batcher(
            self._commit, max_batch, in_flight=1
        )

    async def append(self, appends: Sequence[StreamAppend]) -> None:
        await self._batcher.submit(appends)

    async def _commit(self, batch: Sequence[Sequence[StreamAppend]]) -> list[BaseException | None]:
        try:
            await self._store.append_all([append for appends in batch for append in appends])
        except Exception:
            if len(batch) == 1:
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
        self, fetch: Callable[[Sequence[K]], Awaitable[Mapping[K, V]]], max_batch: int = 256
    ) -> None:
        self._fetch = fetch
        self._batcher: Batcher[K, V | None] = Batcher(self._lookup, max_batch)

    async def get(self, key: K) -> V | None:
        return await self._batcher.submit(key)

    async def _lookup(self, keys: Sequence[K]) -> list[V | BaseException | None]:
        found = await self._fetch(list(dict.fromkeys(keys)))
        return [found.get(key) for key in keys]
