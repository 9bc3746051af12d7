"""The background worker: the relay, the projector, the checkpointer and the connections'
scheduler, beside the API."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Coroutine
from typing import Any, Final

import asyncpg
import structlog

from infra.config import Settings
from infra.crypto.personal_data import PersonalData
from infra.heap import freeze_startup_objects
from infra.nats_bus import BusUnavailable, EventBus
from infra.postgres.notify import Notifier, Wakeup
from infra.postgres.partitions import add_partitions
from infra.postgres.sealing_store import SealingEventStore
from projections import ASYNC, INLINE_BULK, inline_statements
from services.authority import open_sealer
from services.checkpointer import Checkpointer, key_ring_signer
from services.connections.connector import open_connector
from services.connections.scheduler import Scheduler
from services.projector import Projector
from services.relay import Relay

__all__ = ["PARENT_ENV", "Orphaned", "run_worker"]

_STREAM_RETRY_S: Final = 1.0
_CLOSE_S: Final = 5.0
_PARENT_CHECK_S: Final = 1.0
_PARTITIONS_CHECK_S: Final = 30.0
# Set by `keyledger serve` for the worker it starts: the pid to outlive no longer than.
PARENT_ENV: Final = "KEYLEDGER_WORKER_PARENT"

log = structlog.get_logger(__name__)


async def run_worker(settings: Settings) -> None:
    assert settings.database_url is not None
    pool = await asyncpg.create_pool(settings.database_url, min_size=2, max_size=5 + len(ASYNC))
    # The scheduler's lock and actions on a pool of their own: the log's followers never
    # wait for a connection behind refreshes, nor share a pool's recovery after an outage.
    scheduler_pool = await asyncpg.create_pool(settings.database_url, min_size=1, max_size=10)
    wakeup = Wakeup()
    poll = settings.poll_interval_ms / 1000
    sealer = open_sealer(settings)
    projector = Projector(
        pool,
        ASYNC,
        wakeup,
        batch_size=settings.projector_batch_size,
        poll_interval=poll,
        personal=PersonalData(pool, sealer),
    )
    checkpointer = Checkpointer(
        pool,
        key_ring_signer(pool, sealer),
        issuer=settings.issuer_url,
        max_events=settings.checkpoint_events,
        interval_s=settings.checkpoint_interval_s,
        poll_interval=poll,
    )
    # The scheduler appends (refreshes, health checks) with the inline projections, as the API.
    notifier = Notifier(scheduler_pool)
    store = SealingEventStore(
        scheduler_pool,
        PersonalData(scheduler_pool, sealer),
        inline=inline_statements,
        bulk=INLINE_BULK,
        wake=notifier,
        partition_size=settings.event_partition_size,
    )
    connector = open_connector(settings, scheduler_pool, store)
    scheduler = Scheduler(connector)
    log.info("worker_started", projections=[p.name for p in ASYNC])
    # Each follower's pause is every follower's: revocations wait behind a full collection.
    freeze_startup_objects()
    try:
        async with asyncio.TaskGroup() as group:
            group.create_task(_reported("listener", wakeup.keep_listening(settings.database_url)))
            group.create_task(_reported("relay", _relay(settings, pool, wakeup)))
            group.create_task(_reported("projector", projector.run()))
            group.create_task(_reported("checkpointer", checkpointer.run()))
            group.create_task(_reported("scheduler", scheduler.run()))
            group.create_task(_reported("partitions", _partitions_ahead(settings, pool)))
            parent = os.environ.get(PARENT_ENV, "")
            if parent.isdigit():
                group.create_task(_reported("parent", _exit_when_orphaned(int(parent))))
    finally:
        # Bounded, so that a failed worker exits and `serve` starts a fresh one.
        await connector.close()
        await notifier.close()
        await wakeup.close()
        try:
            async with asyncio.timeout(_CLOSE_S):
                await scheduler_pool.close()
                await pool.close()
        except TimeoutError:
            scheduler_pool.terminate()
            pool.terminate()


class Orphaned(Exception):
    """The `keyledger serve` that started this worker is gone."""


async def _exit_when_orphaned(parent: int) -> None:
    """`serve` stops its worker as it exits, but killed outright it cannot: the worker, handed
    to another parent, stops too, rather than go on leading the relay for nobody."""
    while os.getppid() == parent:
        await asyncio.sleep(_PARENT_CHECK_S)
    raise Orphaned(f"the serve process {parent} that started this worker is gone")


async def _reported(name: str, task: Coroutine[Any, Any, None]) -> None:
    """Run one of the worker's tasks; a failure is logged at once (it stops the worker)."""
    try:
        await task
    except Exception:
        log.exception("worker_task_failed", task=name)
        raise


async def _relay(settings: Settings, pool: asyncpg.Pool, wakeup: Wakeup) -> None:
    """The relay, once NATS answers: the projector and the checkpointer do not wait for it."""
    assert settings.nats_url is not None
    bus = await EventBus.connect(
        settings.nats_url, stream=settings.nats_stream, prefix=settings.subject_prefix,
        name="keyledger-relay",
    )  # fmt: skip
    try:
        while True:
            try:
                await bus.ensure_stream()
                break
            except BusUnavailable as error:  # JetStream still starting, say
                log.warning("stream_unavailable", error=str(error))
                await asyncio.sleep(_STREAM_RETRY_S)
        relay = Relay(
            pool, bus, wakeup, batch_size=settings.relay_batch_size,
            poll_interval=settings.poll_interval_ms / 1000,
        )  # fmt: skip
        await relay.run()
    finally:
        await bus.close()


async def _partitions_ahead(settings: Settings, pool: asyncpg.Pool) -> None:
    """Keep range partitions made ahead of the log, so appends never wait for one."""
    while True:
        try:
            async with pool.acquire() as conn:
                made = await add_partitions(conn, settings.event_partition_size)
            if made:
                log.info("event_partitions_added", count=made)
        except (OSError, asyncpg.PostgresError) as error:
            # An outage or a lock held elsewhere: the next round tries again.
            log.warning("event_partitions_deferred", error=type(error).__name__)
        await asyncio.sleep(_PARTITIONS_CHECK_S)
