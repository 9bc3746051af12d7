"""The real HTTP app, in process (ASGI) and as a served process, with a way to add clients."""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from infra.config import Settings
from schemas.envelope import Metadata
from services.api.app import create_app
from services.authority import Authority, open_authority
from services.clients import ClientRegistration, register_client
from tests.e2e.authorize_flow import Browsers


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
    with serving(settings, server_log_path(settings)) as base:
        yield base


@contextlib.contextmanager
def serving(settings: Settings, log_path: Path) -> Iterator[str]:
    """`keyledger serve` (one worker) on these settings' servers, logging all to `log_path`."""
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
        # Everything the server says is kept, for the tests that no secret reaches a log.
        "KEYLEDGER_LOG_LEVEL": "debug",
        "KEYLEDGER_LOG_FORMAT": "json",
    }
    command = [sys.executable, "-m", "services.cli", "serve", "--port", str(port), "--workers", "1"]

    def ready() -> bool:
        return httpx.get(f"{base}/readyz", timeout=2).status_code == 200

    with running(command, env, log_path, ready, "keyledger serve", poll=0.2):
        yield base


@contextlib.contextmanager
def running(
    command: list[str],
    env: dict[str, str],
    log_path: Path,
    ready: Callable[[], bool],
    what: str,
    *,
    poll: float = 0.1,
    timeout: float = 60.0,
) -> Iterator[subprocess.Popen[bytes]]:
    """A process in its own session, its output in `log_path`, until `ready()` says so;
    interrupted (then killed if stuck) at the end."""
    log = log_path.open("ab")
    process = subprocess.Popen(
        command, env=env, start_new_session=True, stdout=log, stderr=subprocess.STDOUT
    )
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if ready():
                    break
            except (httpx.TransportError, ValueError):
                pass
            if process.poll() is not None:
                raise AssertionError(f"{what} exited during startup")
            time.sleep(poll)
        else:
            raise AssertionError(f"{what} did not become ready")
        yield process
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


@pytest.fixture(scope="module")
async def app(settings: Settings) -> AsyncIterator[Litestar]:
    """The app, running in the tests' own event loop (the `api` client runs it in a thread)."""
    async with running_app(settings) as application:
        yield application


@contextlib.asynccontextmanager
async def running_app(settings: Settings) -> AsyncIterator[Litestar]:
    """An app with these settings, its lifespan entered in the tests' own event loop."""
    application = create_app(settings)
    started, stop = asyncio.Event(), asyncio.Event()

    async def serve() -> None:
        # Entered and left in one task: the lifespan holds an anyio cancel scope.
        async with application.lifespan():
            started.set()
            await stop.wait()

    task = asyncio.create_task(serve())
    ready = asyncio.ensure_future(started.wait())
    await asyncio.wait([task, ready], return_when=asyncio.FIRST_COMPLETED)
    ready.cancel()
    if task.done():
        task.result()  # startup failed: raise why
    try:
        yield application
    finally:
        stop.set()
        await task


@pytest.fixture
async def browsers(app: Litestar) -> AsyncIterator[Browsers]:
    """Clients with their own cookie jar and source address (lockout counts per address)."""
    async with contextlib.AsyncExitStack() as stack:

        def open_browser() -> httpx.AsyncClient:
            address = f"2001:db8::{secrets.token_hex(2)}:{secrets.token_hex(2)}"
            # Litestar types its ASGI callable more precisely than httpx expects.
            transport = httpx.ASGITransport(app=app, client=(address, 50000))  # type: ignore[arg-type]
            client = httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8000")
            stack.push_async_callback(client.aclose)
            return client

        yield open_browser
