"""The projector: keeps each async projection up to date, exactly once.

Each batch runs in one transaction that holds the projection's advisory lock, applies the
projection's statements and advances its checkpoint, so a crash rolls back both together.
"""

from __future__ import annotations

import asyncio
import zlib
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Final

import asyncpg
import msgspec
import structlog

from infra.crypto.personal_data import PersonalData
from infra.postgres import Connection, checkpoints
from infra.postgres.bulk import run_statements
from infra.postgres.event_store import START, Checkpoint, read_after_follower
from infra.postgres.notify import HeldBack, Wakeup, wait
from infra.postgres.outage import OUTAGE_ERRORS
from projections import Projection

__all__ = [
    "ProjectionStatus",
    "Projector",
    "catch_up",
    "projection_lock",
    "projection_status",
    "rebuild",
]

log = structlog.get_logger(__name__)
# Async projections tolerate lag: while busy, a batch per 50 ms is plenty.
_LINGER_S: Final = 0.05
_RETRY_S = 1.0


def projection_lock(name: str) -> int:
    return zlib.crc32(f"projection:{name}".encode())


async def step(
    pool: asyncpg.Pool,
    projection: Projection,
    batch_size: int,
    personal: PersonalData,
) -> int:
    """Apply the next batch of events to one projection; returns how many were read.

    Projections see personal values opened by `personal` (redacted once their person is
    erased), never as stored: a projection holding ciphertext could not be searched.
    """
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", projection_lock(projection.name))
        events = await read_after_follower(
            conn, projection.name, batch_size, types=projection.handles
        )
        if not events:
            return 0
        decoded = [stored.decode() for stored in events if stored.event_type in projection.handles]
        decoded = await personal.opened(conn, decoded)
        await run_statements(
            conn,
            (statement for event in decoded for statement in projection.statements(event)),
            projection.bulk,
        )
        await checkpoints.advance(conn, projection.name, events[-1].checkpoint)
        return len(events)


async def catch_up(
    pool: asyncpg.Pool,
    projection: Projection,
    batch_size: int = 2000,
    *,
    personal: PersonalData,
) -> int:
    """Run batches until the projection has seen every committed event; returns the count."""
    total = 0
    while read := await step(pool, projection, batch_size, personal):
        total += read
    return total


async def rebuild(
    pool: asyncpg.Pool,
    projection: Projection,
    batch_size: int = 5000,
    *,
    personal: PersonalData,
) -> int:
    """Drop the projection's tables, recreate them, and replay the log from position 0.

    Secondary indexes are built after the replay, once, rather than maintained row by row.
    """
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", projection_lock(projection.name))
        await conn.execute(projection.drop_sql)
        await conn.execute(projection.ddl)
        await checkpoints.reset(conn, projection.name, START)
    replayed = await catch_up(pool, projection, batch_size, personal=personal)
    if projection.indexes:
        async with pool.acquire() as conn:
            await conn.execute(projection.indexes)
    return replayed


class Projector:
    def __init__(
        self,
        pool: asyncpg.Pool,
        projections: Sequence[Projection],
        wakeup: Wakeup,
        *,
        batch_size: int = 2000,
        poll_interval: float = 0.5,
        personal: PersonalData,
    ) -> None:
        self._pool = pool
        self._personal = personal
        self._projections = projections
        self._wakeup = wakeup
        self._batch_size = batch_size
        self._poll_interval = poll_interval

    async def run(self) -> None:
        async with asyncio.TaskGroup() as group:
            for projection in self._projections:
                group.create_task(self._follow(projection), name=f"project-{projection.name}")

    async def _follow(self, projection: Projection) -> None:
        woken = self._wakeup.subscribe()
        held_back = HeldBack(self._poll_interval)
        while True:
            woken.clear()
            try:
                read = await step(self._pool, projection, self._batch_size, self._personal)
                if read == 0 and await self._held_back(projection.name):
                    await held_back.pause()
                    continue
            except OUTAGE_ERRORS as error:
                log.warning("projection_error", projection=projection.name, error=str(error))
                await asyncio.sleep(_RETRY_S)
                continue
            held_back.reset()
            if 0 < read < self._batch_size:
                await asyncio.sleep(_LINGER_S)  # gather more per transaction while busy
            if read < self._batch_size:
                await wait(woken, self._poll_interval)

    async def _held_back(self, name: str) -> bool:
        async with self._pool.acquire() as conn:
            return await checkpoints.held_back(conn, name)


class ProjectionStatus(msgspec.Struct, frozen=True):
    name: str
    checkpoint_position: int
    last_position: int
    # Age of the oldest event the projection has not applied yet; 0 when caught up.
    lag_seconds: float


async def projection_status(conn: Connection, name: str) -> ProjectionStatus:
    checkpoint: Checkpoint = await checkpoints.load(conn, name)
    row = await conn.fetchrow(
        """SELECT (SELECT coalesce(max(global_position), 0) FROM events) AS last_position,
                  (SELECT occurred_at FROM events
                   WHERE (tx_id, global_position) > ($1::xid8, $2::bigint)
                   ORDER BY tx_id, global_position LIMIT 1) AS oldest_pending""",
        checkpoint.tx_id,
        checkpoint.global_position,
    )
    assert row is not None
    oldest: datetime | None = row["oldest_pending"]
    lag = 0.0 if oldest is None else max(0.0, (datetime.now(UTC) - oldest).total_seconds())
    return ProjectionStatus(name, checkpoint.global_position, row["last_position"], lag)
