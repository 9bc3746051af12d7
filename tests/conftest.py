"""Real servers for the suite: embedded Postgres and NATS by default, or the KEYLEDGER_* ones.

Every run creates its own database and JetStream stream (unique names and subject prefix)
and removes them afterwards, so runs against shared servers never see each other's data.
"""

from __future__ import annotations

import base64
import contextlib
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import msgspec
import nats.js.errors
import pytest

from infra.config import Settings
from infra.embedded import EmbeddedNats, EmbeddedPostgres
from infra.nats_bus import EventBus
from infra.postgres.event_store import EventStore
from infra.postgres.partitions import DEFAULT_SIZE
from services.servers import prepare_database

# The suite's own root secret (production keys come from KEYLEDGER_MASTER_KEY or master.key).
TEST_MASTER_KEY = base64.b64encode(b"keyledger test suite master key!").decode()


def with_database(url: str, database: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{database}"))


@pytest.fixture(scope="session")
def postgres_admin_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    external = os.environ.get("KEYLEDGER_DATABASE_URL")
    if external:
        yield external
        return
    server = EmbeddedPostgres(tmp_path_factory.mktemp("postgres") / "data", cleanup="delete")
    server.start("postgres")
    yield server.admin_url()
    server.stop()


@pytest.fixture(scope="session")
def nats_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    external = os.environ.get("KEYLEDGER_NATS_URL")
    if external:
        yield external
        return
    server = EmbeddedNats(tmp_path_factory.mktemp("nats"))
    yield server.start()
    server.stop()


async def create_database(admin_url: str, partition_size: int = DEFAULT_SIZE) -> str:
    name = f"kltest_{uuid.uuid4().hex[:12]}"
    conn = await asyncpg.connect(admin_url)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    url = with_database(admin_url, name)
    await prepare_database(url, partition_size)
    return url


async def drop_database(admin_url: str, url: str) -> None:
    name = urlsplit(url).path.lstrip("/")
    conn = await asyncpg.connect(admin_url)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


@pytest.fixture(scope="session")
async def database_url(postgres_admin_url: str) -> AsyncIterator[str]:
    url = await create_database(postgres_admin_url)
    yield url
    await drop_database(postgres_admin_url, url)


@pytest.fixture(scope="session")
async def settings(
    database_url: str, nats_url: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Settings]:
    run = uuid.uuid4().hex[:10]
    yield Settings(
        database_url=database_url,
        nats_url=nats_url,
        nats_stream=f"KLTEST_{run}",
        subject_prefix=f"kltest_{run}",
        poll_interval_ms=100,
        master_key=TEST_MASTER_KEY,
        data_dir=str(tmp_path_factory.mktemp("data")),
    )


@pytest.fixture(scope="session")
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    async with asyncpg.create_pool(database_url, min_size=2, max_size=60) as pool:
        yield pool


@pytest.fixture(scope="session")
async def store(pool: asyncpg.Pool) -> EventStore:
    return EventStore(pool)


@pytest.fixture
async def fresh_settings(postgres_admin_url: str, settings: Settings) -> AsyncIterator[Settings]:
    """A database and a stream of its own, for tests that count everything in the log."""
    url = await create_database(postgres_admin_url)
    run = uuid.uuid4().hex[:10]
    fresh = msgspec.structs.replace(
        settings, database_url=url, nats_stream=f"KLTEST_{run}", subject_prefix=f"kltest_{run}"
    )
    yield fresh
    await drop_database(postgres_admin_url, url)
    if fresh.nats_url is not None:
        bus = await EventBus.connect(
            fresh.nats_url, stream=fresh.nats_stream, prefix=fresh.subject_prefix, name="cleanup"
        )
        with contextlib.suppress(nats.js.errors.NotFoundError):  # never created by this test
            await bus.delete_stream()
        await bus.close()


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return Path(__file__).resolve().parent.parent
