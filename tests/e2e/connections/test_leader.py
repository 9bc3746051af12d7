"""Two schedulers on one database, each with its own connections (as on two replicas): one
acts, the other stands by, and takes over when the first goes."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import asyncpg
import pytest

from infra.config import Settings
from infra.postgres.event_store import EventStore
from projections import INLINE_BULK, inline_statements
from services.connections.connector import Connector, open_connector
from services.connections.scheduler import Scheduler
from tests.e2e.connections.conftest import FAST, own_database
from tests.e2e.connections.harness import Downstream, Upstream, downstream, eventually

pytestmark = pytest.mark.asyncio

_SCHEDULER_EVENTS = (
    "upstream_refresh_started", "upstream_token_refreshed", "upstream_refresh_failed",
    "connection_health_checked", "connection_reauthentication_required",
)  # fmt: skip


@contextlib.asynccontextmanager
async def replica(settings: Settings) -> AsyncIterator[Connector]:
    """What one more worker process would hold: a pool (sessions) and a connector of its own."""
    assert settings.database_url is not None
    async with asyncpg.create_pool(settings.database_url, min_size=2, max_size=10) as pool:
        store = EventStore(pool, inline=inline_statements, bulk=INLINE_BULK)
        connector = open_connector(settings, pool, store)
        try:
            yield connector
        finally:
            await connector.close()


async def _actors(down: Downstream, after: int) -> dict[str, int]:
    async with down.pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT metadata->>'actor_id' AS actor, count(*) FROM events"
            " WHERE global_position > $1 AND event_type = ANY($2::text[]) GROUP BY 1",
            after, list(_SCHEDULER_EVENTS),
        )  # fmt: skip
    return {row["actor"]: row["count"] for row in rows}


async def _position(down: Downstream) -> int:
    async with down.pool.acquire() as conn:
        position: int = await conn.fetchval("SELECT coalesce(max(global_position), 0) FROM events")
    return position


async def test_only_one_scheduler_acts_and_the_standby_takes_over(
    postgres_admin_url: str, settings: Settings, upstream: Upstream
) -> None:
    async with own_database(postgres_admin_url, settings, **FAST) as own, downstream(own) as down:
        client = await upstream.connector_client()
        provider = await down.register_provider(upstream, client, refresh_margin_s=58)
        user = await down.user()
        connections = [
            await down.connect(user, provider, upstream, await upstream.user()) for _ in range(3)
        ]
        reused = await upstream.count("refresh_token_reuse_detected")
        start = await _position(down)

        async def counts() -> list[int]:
            return [(await down.status(user, c))["refresh_count"] for c in connections]

        async def refreshed_since(before: list[int]) -> bool:
            return all(now > then for now, then in zip(await counts(), before, strict=True))

        async with replica(own) as a, replica(own) as b:
            first, second = Scheduler(a, name="scheduler-a"), Scheduler(b, name="scheduler-b")
            tasks = {
                first: asyncio.create_task(first.run()),
                second: asyncio.create_task(second.run()),
            }
            try:
                await eventually(lambda: refreshed_since([0, 0, 0]), timeout=30)
                leaders = [s for s in (first, second) if s.leading.is_set()]
                assert len(leaders) == 1
                leader = leaders[0]
                standby = second if leader is first else first
                acted = await _actors(down, start)
                assert set(acted) == {f"scheduler-{'a' if leader is first else 'b'}"}

                tasks[leader].cancel()  # the leader's worker goes away
                with contextlib.suppress(asyncio.CancelledError):
                    await tasks[leader]
                handover, before = await _position(down), await counts()
                await eventually(lambda: refreshed_since(before), timeout=30)
                assert standby.leading.is_set()
                after = await _actors(down, handover)
                assert set(after) == {f"scheduler-{'b' if leader is first else 'a'}"}
            finally:
                for task in tasks.values():
                    task.cancel()
                await asyncio.gather(*tasks.values(), return_exceptions=True)

        assert await upstream.count("refresh_token_reuse_detected") == reused
        for connection_id in connections:
            types = await down.event_types(connection_id)
            refreshes = [t for t in types[2:] if t != "connection_health_checked"]
            # Claim, outcome, claim, outcome...: never a second claim on a token in flight (a
            # claim the cancelled leader left open is resolved before the next one).
            for claim, outcome in zip(refreshes[::2], refreshes[1::2], strict=False):
                assert claim == "upstream_refresh_started"
                assert outcome in ("upstream_token_refreshed", "upstream_refresh_failed")
