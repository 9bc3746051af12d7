"""The upstream keyledger (one served process per run) and a connector database per module."""

from __future__ import annotations

import contextlib
import os
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import httpx
import msgspec
import nats.js.errors
import pytest

from infra.config import Settings
from infra.nats_bus import EventBus
from services.authority import open_authority
from tests.conftest import create_database, drop_database
from tests.e2e.conftest import free_port, running
from tests.e2e.connections.harness import (
    UPSTREAM_MASTER_KEY,
    Downstream,
    Expiring,
    Upstream,
    downstream,
)


async def _drop_stream(settings: Settings) -> None:
    assert settings.nats_url is not None
    bus = await EventBus.connect(
        settings.nats_url, stream=settings.nats_stream, prefix=settings.subject_prefix,
        name="cleanup",
    )  # fmt: skip
    with contextlib.suppress(nats.js.errors.NotFoundError):
        await bus.delete_stream()
    await bus.close()


@contextlib.asynccontextmanager
async def own_database(
    postgres_admin_url: str, settings: Settings, **changes: object
) -> AsyncIterator[Settings]:
    """`settings` on a database and a stream of their own, dropped afterwards."""
    url = await create_database(postgres_admin_url)
    run = uuid.uuid4().hex[:10]
    fresh = msgspec.structs.replace(
        settings, database_url=url, nats_stream=f"KLTEST_{run}", subject_prefix=f"kltest_{run}",
        **changes,
    )  # fmt: skip
    try:
        yield fresh
    finally:
        await drop_database(postgres_admin_url, url)
        await _drop_stream(fresh)


@pytest.fixture(scope="session")
async def upstream(
    postgres_admin_url: str, settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Upstream]:
    """`keyledger serve` as the provider, on a database, stream and master key of its own."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    data_dir = tmp_path_factory.mktemp("upstream")
    changes = {"master_key": UPSTREAM_MASTER_KEY, "data_dir": str(data_dir), "issuer": base}
    async with own_database(postgres_admin_url, settings, **changes) as own:
        assert own.database_url is not None
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("KEYLEDGER_")},
            "KEYLEDGER_DATABASE_URL": own.database_url,
            "KEYLEDGER_NATS_URL": own.nats_url or "",
            "KEYLEDGER_NATS_STREAM": own.nats_stream,
            "KEYLEDGER_SUBJECT_PREFIX": own.subject_prefix,
            "KEYLEDGER_MASTER_KEY": UPSTREAM_MASTER_KEY,
            "KEYLEDGER_DATA_DIR": str(data_dir),
            "KEYLEDGER_ISSUER": base,
        }
        command = [
            sys.executable, "-m", "services.cli", "serve", "--port", str(port), "--workers", "1",
        ]  # fmt: skip

        def ready() -> bool:
            return httpx.get(f"{base}/readyz", timeout=2).status_code == 200

        with running(command, env, Path(data_dir) / "serve.log", ready, "upstream keyledger"):
            async with asyncpg.create_pool(own.database_url, min_size=1, max_size=8) as pool:
                yield Upstream(base, own, pool, await open_authority(own, pool))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The module watching the `expiring` connection run out goes last: by then its 60 s have
    (nearly) passed while the others ran, instead of being waited for."""
    last = [item for item in items if item.path.name == "test_status_over_time.py"]
    if last:
        items[:] = [item for item in items if item not in last] + last


# A fast scheduler tick; a provider that takes 5 s to answer here is in trouble.
FAST = {"connections_tick_ms": 100, "upstream_timeout_s": 5.0}


@pytest.fixture(scope="session")
async def down(postgres_admin_url: str, settings: Settings) -> AsyncIterator[Downstream]:
    """The connector on a database of its own: no other worker's scheduler acts on it."""
    async with own_database(postgres_admin_url, settings, **FAST) as own, downstream(own) as ready:
        yield ready


@pytest.fixture(scope="session", autouse=True)
async def expiring(down: Downstream, upstream: Upstream) -> Expiring:
    """A connection with no refresh token, made before the first test here: its 60 s access
    token (the shortest a client may have) runs out while the other tests run, and the last
    module (test_status_over_time.py) sees it expire."""
    client = await upstream.connector_client(refresh=False)
    provider = await down.register_provider(upstream, client, refresh_margin_s=50)
    user = await down.user()
    connection_id = await down.connect(user, provider, upstream, await upstream.user())
    return Expiring(user, connection_id)
