"""The scheduler: keeps upstream tokens fresh, checks that grants still work, resolves what a
dead worker left open. It runs in the worker process, beside the relay and the projectors.

One scheduler acts at a time across replicas: like the relay, it leads while it holds a
session advisory lock on a connection of its own, and the others stand by. A tick reads the
connections something may be due for, lets the pure policy (domain/policies/upstream_refresh)
say what exactly, and does it, a few connections at a time; it waits for all of them before
the next tick, so any claim it finds open at the start of one belongs to no live attempt.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Final

import asyncpg
import structlog

from domain.policies.upstream_refresh import RefreshPolicy, Schedule, next_action
from infra.crypto.sealing import SealError
from infra.postgres import Connection
from infra.postgres.event_store import ConcurrencyError
from projections import connection_queries
from projections.connection_queries import ConnectionRow
from schemas.envelope import Metadata
from services.commands import utcnow
from services.connections import upkeep
from services.connections.connector import Connector

__all__ = ["SCHEDULER_LOCK", "Scheduler", "policy_of", "schedule_of"]

SCHEDULER_LOCK: Final = 0x6B6C_7363  # "klsc"
_STANDBY_S: Final = 1.0
_BATCH: Final = 200
_CONCURRENCY: Final = 8

log = structlog.get_logger(__name__)


def policy_of(row: ConnectionRow) -> RefreshPolicy:
    def seconds(value: int | None) -> timedelta | None:
        return None if value is None else timedelta(seconds=value)

    return RefreshPolicy(
        margin=timedelta(seconds=row.refresh_margin_s),
        max_age=seconds(row.max_token_age_s),
        health_interval=seconds(row.health_check_interval_s),
        can_check=row.can_check,
    )


def schedule_of(row: ConnectionRow) -> Schedule:
    return Schedule(
        lifecycle=row.lifecycle,
        access_expires_at=row.access_expires_at,
        refresh_expires_at=row.refresh_expires_at,
        has_refresh=row.has_refresh,
        obtained_at=row.obtained_at,
        checked_at=row.checked_at,
        claim_started_at=row.claim_started_at,
        in_doubt=row.in_doubt,
        retry_at=row.retry_at,
        refresh_requested=row.refresh_requested,
    )


class Scheduler:
    def __init__(self, connector: Connector, *, name: str = "scheduler") -> None:
        self._connector = connector
        self._tick_s = connector.settings.connections_tick_ms / 1000
        # A request a dead worker sent is answered or abandoned within two timeouts.
        self._settle = timedelta(seconds=2 * connector.settings.upstream_timeout_s)
        self._metadata = Metadata(actor="system", actor_id=name)
        self._limit = asyncio.Semaphore(_CONCURRENCY)
        self.leading = asyncio.Event()

    async def run(self) -> None:
        """Run forever: stand by until the lock is ours, then act at every tick."""
        pool = self._connector.pool
        while True:
            try:
                async with pool.acquire() as lock_conn:
                    if await lock_conn.fetchval("SELECT pg_try_advisory_lock($1)", SCHEDULER_LOCK):
                        try:
                            await self._lead(lock_conn)
                        finally:
                            self.leading.clear()
                            if not lock_conn.is_closed():
                                await lock_conn.execute("SELECT pg_advisory_unlock_all()")
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as error:
                log.warning("scheduler_database_error", error=str(error))
            await asyncio.sleep(_STANDBY_S)

    async def _lead(self, lock_conn: Connection) -> None:
        log.info("scheduler_leading", actor=self._metadata.actor_id)
        self.leading.set()
        while True:
            # The lock lives with this session: if it is gone, so is the lead.
            await lock_conn.execute("SELECT 1")
            await self.tick()
            await asyncio.sleep(self._tick_s)

    async def tick(self) -> int:
        """Act on every connection due now; returns how many were acted on."""
        now = utcnow()
        async with self._connector.pool.acquire() as conn:
            rows = await connection_queries.due_connections(conn, now, _BATCH)
        work = []
        for row in rows:
            action = next_action(schedule_of(row), policy_of(row), now, settle=self._settle)
            if action is not None:
                work.append(self._act(row, *action))
        if work:
            await asyncio.gather(*work)
        return len(work)

    async def _act(self, row: ConnectionRow, action: str, trigger: object) -> None:
        connector, metadata = self._connector, self._metadata
        async with self._limit:
            try:
                match action:
                    case "resolve_claim":
                        await upkeep.resolve_claim(connector, row, metadata)
                    case "expire":
                        await upkeep.expire(connector, row, metadata)
                    case "refresh":
                        assert trigger in ("expiry", "max_age", "health_check")
                        await upkeep.refresh(connector, row, trigger, metadata)
                    case "health_check":
                        await upkeep.check_health(connector, row, metadata)
            except (SealError, LookupError, ConcurrencyError) as error:
                # A vault key this master key cannot open, a provider gone from the table, or a
                # stream too busy to extend: the connection waits for the next tick.
                log.error("scheduler_cannot_act", connection_id=row.connection_id, error=str(error))
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
                raise  # the database is gone: the lead goes with it (run() stands by)
            except Exception:
                # A fault with one connection must stop neither the others nor the worker's
                # relay and projectors, which share its process.
                log.exception("scheduler_fault", connection_id=row.connection_id, action=action)
