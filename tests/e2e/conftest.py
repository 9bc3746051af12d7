"""The real HTTP app, in process (ASGI) and as a served process, with a way to add clients."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx
import pytest
from litestar.testing import AsyncTestClient

from infra.config import Settings
from schemas.envelope import Metadata
from services.api.app import create_app
from services.authority import Authority, open_authority
from services.clients import ClientRegistration, register_client


@dataclass(frozen=True)
class Client:
    client_id: str
    secret: str | None

    @property
    def basic(self) -> tuple[str, str]:
        assert self.secret is not None
        return (self.client_id, self.secret)


@pytest.fixture(scope="session")
async def authority(settings: Settings, pool: asyncpg.Pool) -> Authority:
    return await open_authority(settings, pool)


@pytest.fixture(scope="session")
async def api(settings: Settings) -> AsyncIterator[AsyncTestClient]:  # type: ignore[type-arg]
    async with AsyncTestClient(
        app=create_app(settings), base_url="http://127.0.0.1:8000"
    ) as client:
        yield client


@pytest.fixture
def make_client(authority: Authority):  # type: ignore[no-untyped-def]
    async def make(
        *,
        grant_types: tuple[str, ...] = ("client_credentials",),
        scopes: tuple[str, ...] = ("read", "write"),
        redirect_uris: tuple[str, ...] = (),
        confidential: bool = True,
        **options: object,
    ) -> Client:
        spec = ClientRegistration(
            name="test client",
            grant_types=grant_types,
            scopes=scopes,
            redirect_uris=redirect_uris,
            confidential=confidential,
            **options,  # type: ignore[arg-type]
        )
        client_id, secret = await register_client(
            authority.store, authority.hasher, spec, Metadata(actor="admin")
        )
        return Client(client_id, secret)

    return make


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture(scope="session")
def live_server(settings: Settings) -> Iterator[str]:
    """`keyledger serve` as a process on the suite's servers: what browsers and libraries meet."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "KEYLEDGER_DATABASE_URL": settings.database_url or "",
        "KEYLEDGER_NATS_URL": settings.nats_url or "",
        "KEYLEDGER_NATS_STREAM": settings.nats_stream,
        "KEYLEDGER_SUBJECT_PREFIX": settings.subject_prefix,
        "KEYLEDGER_MASTER_KEY": settings.master_key or "",
        "KEYLEDGER_DATA_DIR": settings.data_dir,
        "KEYLEDGER_ISSUER": base,
        # Everything the server says is kept, for the test that no secret reaches a log.
        "KEYLEDGER_LOG_LEVEL": "debug",
        "KEYLEDGER_LOG_FORMAT": "json",
    }
    log = server_log_path(settings).open("ab")
    process = subprocess.Popen(
        [sys.executable, "-m", "services.cli", "serve", "--port", str(port), "--workers", "1"],
        env=env,
        start_new_session=True,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None:
                raise AssertionError("keyledger serve exited during startup")
            time.sleep(0.2)
        else:
            raise AssertionError("keyledger serve did not become ready")
        yield base
    finally:
        os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        log.close()


def server_log_path(settings: Settings) -> Path:
    return Path(settings.data_dir) / "serve.log"


async def wait_for(predicate, timeout: float = 5.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not await predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.05)
