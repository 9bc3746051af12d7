"""Which Postgres and NATS to use: the configured ones, or embedded ones under the data dir."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import msgspec

from infra.config import Settings
from infra.embedded import EmbeddedNats, EmbeddedPostgres
from infra.nats_bus import BusUnavailable, EventBus
from infra.postgres import partitions
from infra.postgres.migrate import MIGRATIONS_LOCK, migrate
from projections import ALL

__all__ = ["Servers", "prepare_database", "prepare_stream", "start_servers"]


@dataclass
class Servers:
    """Resolved server URLs, and the embedded servers this process owns (if any)."""

    settings: Settings
    postgres: EmbeddedPostgres | None = None
    nats: EmbeddedNats | None = None

    def stop(self) -> None:
        if self.nats is not None:
            self.nats.stop()
        if self.postgres is not None:
            self.postgres.stop()


def start_servers(settings: Settings, *, with_nats: bool = True) -> Servers:
    """Start embedded servers for whatever is not configured; settings get the real URLs.

    Database-only commands (migrate, projections) pass `with_nats=False`.
    """
    data_dir = Path(settings.data_dir).expanduser()
    servers = Servers(settings)
    database_url, nats_url = settings.database_url, settings.nats_url
    if database_url is None:
        servers.postgres = EmbeddedPostgres(data_dir / "postgres")
        database_url = servers.postgres.start()
    if nats_url is None and with_nats:
        servers.nats = EmbeddedNats(data_dir / "nats")
        nats_url = servers.nats.start()
    servers.settings = msgspec.structs.replace(
        settings, database_url=database_url, nats_url=nats_url
    )
    return servers


async def prepare_database(
    database_url: str, partition_size: int = partitions.DEFAULT_SIZE
) -> list[str]:
    """Apply migrations, make the log's next partitions and the projection tables;
    idempotent, safe from many replicas."""
    conn = await asyncpg.connect(database_url)
    try:
        applied = await migrate(conn)
        await partitions.add_partitions(conn, partition_size)
        # Concurrent CREATE ... IF NOT EXISTS can still collide: same lock as migrations.
        async with conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock($1)", MIGRATIONS_LOCK)
            for projection in ALL:
                await conn.execute(projection.ddl)
                if projection.indexes:
                    await conn.execute(projection.indexes)
        return applied
    finally:
        await conn.close()


async def prepare_stream(settings: Settings, timeout: float) -> bool:
    """Create or update the stream if NATS answers within `timeout`, so that subscribers find
    it as soon as the API is up; False if it did not (the worker creates it once it does)."""
    assert settings.nats_url is not None
    try:
        async with asyncio.timeout(timeout):
            bus = await EventBus.connect(
                settings.nats_url, stream=settings.nats_stream, prefix=settings.subject_prefix,
                name="keyledger-setup",
            )  # fmt: skip
            try:
                await bus.ensure_stream()
            finally:
                await bus.close()
    except (TimeoutError, BusUnavailable):
        return False
    return True
