"""Rebuilding a projection when part of the log lives in archive files.

The archived events and the live ones are replayed as one log, merged in follower order
((tx_id, global_position)), so a rebuilt projection is the one the live projector built,
row for row (`audit_trail.seq` included) — not the archive first and the live log after.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator, Sequence
from pathlib import Path

import asyncpg

from infra.crypto.personal_data import PersonalData
from infra.postgres import checkpoints
from infra.postgres.bulk import run_statements
from infra.postgres.event_store import START, Checkpoint, StoredEvent, read_after
from projections import Projection
from services.log_archive import read_archive
from services.projector import projection_lock, rebuild

__all__ = ["rebuild_with_archives"]


def _archived(paths: Sequence[Path]) -> Iterator[StoredEvent]:
    """Every archived event, in follower order across the files."""

    def one(path: Path) -> Iterator[StoredEvent]:
        _, events = read_archive(path)
        for _, event in events:
            yield StoredEvent(
                event.global_position, event.tx_id, event.stream_id, event.stream_version,
                event.event_id, event.event_type, event.schema_version, event.occurred_at,
                event.data, bytes(event.metadata).decode(), event.hash,
            )  # fmt: skip

    return heapq.merge(*(one(path) for path in paths), key=lambda e: e.checkpoint)


async def rebuild_with_archives(
    pool: asyncpg.Pool,
    projection: Projection,
    archives: Sequence[Path],
    batch_size: int = 5000,
    *,
    personal: PersonalData,
) -> int:
    """Drop and rebuild `projection` from the archives and the live log; events replayed.
    Projections see personal values opened by `personal`, as the projector's do."""
    if not archives:
        return await rebuild(pool, projection, batch_size, personal=personal)
    archived = _archived(archives)
    pending = next(archived, None)
    replayed = 0
    lock = "SELECT pg_advisory_xact_lock($1)"
    async with pool.acquire() as conn:
        async with conn.transaction():
            await conn.execute(lock, projection_lock(projection.name))
            await conn.execute(projection.drop_sql)
            await conn.execute(projection.ddl)
            await checkpoints.reset(conn, projection.name, START)
        place: Checkpoint = START
        while True:
            # A transaction per batch, as the projector's: none holds the followers back long.
            async with conn.transaction():
                await conn.execute(lock, projection_lock(projection.name))
                live = await read_after(conn, place, batch_size)
                bound = live[-1].checkpoint if live else None
                batch: list[StoredEvent] = []
                while pending is not None and (bound is None or pending.checkpoint < bound):
                    batch.append(pending)
                    pending = next(archived, None)
                batch = list(heapq.merge(batch, live, key=lambda e: e.checkpoint))
                if not batch:
                    break
                decoded = [s.decode() for s in batch if s.event_type in projection.handles]
                decoded = await personal.opened(conn, decoded)
                await run_statements(
                    conn,
                    (statement for event in decoded for statement in projection.statements(event)),
                    projection.bulk,
                )
                replayed += len(batch)
                place = max(place, batch[-1].checkpoint)
                await checkpoints.reset(conn, projection.name, place)
    if projection.indexes:
        async with pool.acquire() as conn:
            await conn.execute(projection.indexes)
    return replayed
