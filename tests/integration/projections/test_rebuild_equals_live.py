"""A projection rebuilt from position 0 equals the one kept up to date live."""

from __future__ import annotations

import asyncpg

from infra.postgres.event_store import NEW_STREAM, EventStore
from projections import audit_trail
from services.projector import catch_up, rebuild
from tests.factories import access_token_issued, client_registered, token_stream
from tests.personal import reader


async def _rows(pool: asyncpg.Pool) -> list[tuple[object, ...]]:
    async with pool.acquire() as conn:
        rows = await conn.fetch("SELECT * FROM audit_trail ORDER BY global_position")
    return [tuple(r.values()) for r in rows]


async def test_rebuilding_the_audit_trail_gives_the_rows_the_live_projector_wrote(
    store: EventStore, pool: asyncpg.Pool
) -> None:
    projection = audit_trail.PROJECTION
    await store.append("client-c1", NEW_STREAM, [client_registered("c1")])
    head = await store.append(token_stream(), NEW_STREAM, [access_token_issued("c1")])
    await catch_up(
        pool, projection, batch_size=7, personal=reader(pool)
    )  # live: many small batches
    for i in range(60):
        stream = token_stream()
        events = [access_token_issued("c1", subject=f"user-{i}", ip="203.0.113.9")]
        head = await store.append(stream, NEW_STREAM, events)
        await store.append(stream, head, [access_token_issued("c1", subject=f"user-{i}")])
        if i % 20 == 0:
            await catch_up(pool, projection, batch_size=7, personal=reader(pool))
    await catch_up(pool, projection, batch_size=7, personal=reader(pool))
    live = await _rows(pool)

    replayed = await rebuild(pool, projection, personal=reader(pool))

    assert replayed >= 122
    assert await _rows(pool) == live
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM audit_trail") == await conn.fetchval(
            "SELECT count(*) FROM events"
        )
