"""Retention: old audit rows go only through the prune function, which is itself logged."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import asyncpg
import msgspec
import pytest

from infra.postgres.event_store import NEW_STREAM, EventStore, StreamAppend
from projections import audit_trail
from services.projector import catch_up, rebuild
from services.retention import prune_audit_trail
from tests.factories import access_token_issued, token_stream
from tests.personal import reader


async def _rows(pool: asyncpg.Pool, stream_ids: list[str]) -> int:
    async with pool.acquire() as conn:
        counted: int = await conn.fetchval(
            "SELECT count(*) FROM audit_trail WHERE stream_id = ANY($1::text[])", stream_ids
        )
    return counted


async def test_only_the_prune_function_deletes_audit_rows_and_only_old_ones(
    store: EventStore, pool: asyncpg.Pool
) -> None:
    old = [token_stream() for _ in range(5)]
    long_ago = datetime.now(UTC) - timedelta(days=100)
    await store.append_all(
        [
            StreamAppend(
                stream,
                NEW_STREAM,
                [msgspec.structs.replace(access_token_issued("c1"), occurred_at=long_ago)],
            )
            for stream in old
        ]
    )
    recent = token_stream()
    await store.append(recent, NEW_STREAM, [access_token_issued("c1")])
    await catch_up(pool, audit_trail.PROJECTION, personal=reader(pool))
    assert await _rows(pool, old) == 5

    async with pool.acquire() as conn:
        for sql in (
            "DELETE FROM audit_trail WHERE stream_id = ANY($1::text[])",
            "UPDATE audit_trail SET ip = 'x' WHERE stream_id = ANY($1::text[])",
        ):
            with pytest.raises(asyncpg.PostgresError, match="append-only") as refused:
                await conn.execute(sql, old)
            assert refused.value.sqlstate == "KL403"
        with pytest.raises(asyncpg.PostgresError, match="append-only"):
            await conn.execute("TRUNCATE audit_trail")

    report = await prune_audit_trail(pool, store, retention_days=30)

    assert report.rows >= 5 and report.retention_days == 30
    assert await _rows(pool, old) == 0 and await _rows(pool, [recent]) == 1
    await catch_up(pool, audit_trail.PROJECTION, personal=reader(pool))
    async with pool.acquire() as conn:
        logged = await conn.fetchrow(
            "SELECT actor, resource FROM audit_trail WHERE action = 'audit_trail_pruned'"
            " ORDER BY seq DESC LIMIT 1"
        )
    assert logged is not None and tuple(logged) == ("admin", "audit:prune")

    # The log was never touched: a rebuild brings the pruned rows back.
    await rebuild(pool, audit_trail.PROJECTION, personal=reader(pool))
    assert await _rows(pool, old) == 5
