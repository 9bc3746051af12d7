"""`keyledger serve` with no configuration: embedded servers, ready to serve, data kept."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import asyncpg
import httpx

from infra.postgres.event_store import NEW_STREAM, EventStore
from tests.factories import access_token_issued, token_stream


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _serve(data_dir: Path, port: int) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KEYLEDGER_")}
    command = [sys.executable, "-m", "services.cli", "serve", "--data-dir", str(data_dir)]
    return subprocess.Popen([*command, "--port", str(port)], env=env)


async def _await_ready(port: int, timeout: float = 90.0) -> dict[str, object]:
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient() as client:
        while time.monotonic() < deadline:
            try:
                response = await client.get(f"http://127.0.0.1:{port}/readyz")
                if response.status_code == 200:
                    body: dict[str, object] = response.json()
                    return body
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.25)
    raise AssertionError("keyledger serve did not become ready")


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


async def test_serve_starts_on_embedded_servers_and_keeps_its_data_across_restarts(
    tmp_path: Path,
) -> None:
    data_dir, port = tmp_path / "data", _free_port()
    database_url = f"postgresql://postgres@/keyledger?host={data_dir / 'postgres'}"
    stream, event = token_stream(), access_token_issued()

    server = _serve(data_dir, port)
    try:
        await _await_ready(port)
        async with asyncpg.create_pool(database_url, min_size=1, max_size=2) as pool:
            await EventStore(pool).append(stream, NEW_STREAM, [event])
    finally:
        _stop(server)

    server = _serve(data_dir, port)
    try:
        readiness = await _await_ready(port)
        async with asyncpg.create_pool(database_url, min_size=1, max_size=2) as pool:
            events, _ = await EventStore(pool).read_stream(stream)
    finally:
        _stop(server)

    assert [e.event_id for e in events] == [event.event_id]
    assert readiness["postgres"] is True
    assert readiness["nats"] is True
