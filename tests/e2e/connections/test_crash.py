"""A worker killed (SIGKILL, a real process) in the middle of a refresh: the refresh token is
neither lost without a word nor presented twice to the upstream, which would take that as a
theft and revoke the whole grant (RFC 9700 4.14.2)."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from infra.config import Settings
from tests.e2e.connections.conftest import FAST, own_database
from tests.e2e.connections.harness import Downstream, Upstream, downstream, eventually

pytestmark = pytest.mark.asyncio


@contextlib.contextmanager
def worker(
    settings: Settings, log: Path, pause_at: str | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    """`keyledger worker` (relay, projector, checkpointer, scheduler) as its own process group."""
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("KEYLEDGER_")},
        "KEYLEDGER_DATABASE_URL": settings.database_url or "",
        "KEYLEDGER_NATS_URL": settings.nats_url or "",
        "KEYLEDGER_NATS_STREAM": settings.nats_stream,
        "KEYLEDGER_SUBJECT_PREFIX": settings.subject_prefix,
        "KEYLEDGER_MASTER_KEY": settings.master_key or "",
        "KEYLEDGER_DATA_DIR": settings.data_dir,
        "KEYLEDGER_CONNECTIONS_TICK_MS": str(settings.connections_tick_ms),
        "KEYLEDGER_UPSTREAM_TIMEOUT_S": str(settings.upstream_timeout_s),
        "KEYLEDGER_LOG_FORMAT": "json",
        "KEYLEDGER_LOG_LEVEL": "debug",
        **({"KEYLEDGER_CONNECTIONS_PAUSE_AT": pause_at} if pause_at else {}),
    }
    with log.open("ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "services.cli", "worker"], env=env, stdout=out,
            stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        try:
            yield process
        finally:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait()


async def _reuse_and_rotations(upstream: Upstream) -> tuple[int, int, int]:
    return (
        await upstream.count("refresh_token_reuse_detected"),
        await upstream.count("token_family_revoked"),
        await upstream.count("refresh_token_rotated"),
    )


async def _spent_digests(upstream: Upstream) -> list[str]:
    async with upstream.pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT data FROM events WHERE event_type = 'refresh_token_rotated'"
        )
    return [json.loads(row["data"])["spent_digest"] for row in rows]


@pytest.mark.parametrize("point", ["after_claim", "after_answer"])
async def test_a_worker_killed_mid_refresh_never_presents_a_refresh_token_twice(
    point: str, postgres_admin_url: str, settings: Settings, upstream: Upstream,
    tmp_path: Path,
) -> None:  # fmt: skip
    fast = {**FAST, "upstream_timeout_s": 1.5}  # a claim settles 3 s after it was made
    async with own_database(postgres_admin_url, settings, **fast) as own, downstream(own) as down:
        await _kill_and_recover(point, down, upstream, tmp_path)


async def _kill_and_recover(point: str, down: Downstream, upstream: Upstream, tmp: Path) -> None:
    client = await upstream.connector_client()
    provider = await down.register_provider(upstream, client, refresh_margin_s=58)
    user = await down.user()
    connection_id = await down.connect(user, provider, upstream, await upstream.user())
    first = await down.connector.vault.held(connection_id)
    assert first.refresh is not None and first.access is not None
    reused, revoked, rotated = await _reuse_and_rotations(upstream)
    log = tmp / "worker.log"

    with worker(down.settings, log, pause_at=point) as process:
        await eventually(lambda: _paused(log), timeout=30)
        os.killpg(process.pid, signal.SIGKILL)  # at the critical point, no goodbye
        process.wait()

    row = await _row(down, connection_id)
    assert row["claim_attempt_id"] is not None  # the claim outlived its worker
    assert (await _reuse_and_rotations(upstream))[2] == rotated + (point == "after_answer")

    with worker(down.settings, log):
        if point == "after_claim":
            # The token was never sent: the provider still says it is active, so it is used.
            async def refreshed() -> bool:
                return await down.refreshes(user, connection_id) >= 1
        else:
            # The provider spent it and its answer died with the worker: the owner must
            # connect again, and the log says why.
            async def refreshed() -> bool:
                return await down.status_is(user, connection_id, "needs_reauthentication")

        await eventually(refreshed, timeout=30)

    now_reused, now_revoked, now_rotated = await _reuse_and_rotations(upstream)
    assert (now_reused, now_revoked) == (reused, revoked)  # no reuse, no family revoked
    spent = await _spent_digests(upstream)
    assert len(spent) == len(set(spent))  # no refresh token was presented twice
    types = await down.event_types(connection_id)
    assert types[:3] == ["connection_started", "connection_established", "upstream_refresh_started"]
    held = await down.connector.vault.held(connection_id)
    if point == "after_claim":
        assert types[3] == "upstream_refresh_failed"  # released: "interrupted", token unspent
        assert "upstream_token_refreshed" in types
        assert held.refresh is not None and held.refresh != first.refresh
        assert held.refresh_digest == (await _row(down, connection_id))["last_refresh_digest"]
        assert await upstream.introspect(client, held.refresh)
        assert now_rotated - rotated == (await down.status(user, connection_id))["refresh_count"]
    else:
        assert types[3:] == ["connection_reauthentication_required"]
        assert await _reauthentication_reason(down, connection_id) == "refresh_token_spent"
        assert held.refresh is None and held.access is None  # erased with the lost grant
        assert now_rotated == rotated + 1  # the one answer the dead worker took with it
    text = log.read_text()
    for token in (first.access, first.refresh, held.access, held.refresh):
        assert token is None or token.reveal() not in text


async def _paused(log: Path) -> bool:
    return log.exists() and "scheduler_paused" in log.read_text()


async def _row(down: Downstream, connection_id: str) -> dict[str, object]:
    async with down.pool.acquire() as conn:
        row = await conn.fetchrow(
            "SELECT claim_attempt_id, (SELECT data FROM events WHERE stream_id = $2"
            "  AND event_type IN ('connection_established', 'upstream_token_refreshed')"
            "  ORDER BY stream_version DESC LIMIT 1) AS last_data"
            " FROM connections WHERE connection_id = $1", connection_id,
            f"connection-{connection_id}",
        )  # fmt: skip
    assert row is not None
    last = json.loads(row["last_data"])
    return {
        "claim_attempt_id": row["claim_attempt_id"],
        "last_refresh_digest": last["refresh_token_digest"],
    }


async def _reauthentication_reason(down: Downstream, connection_id: str) -> str:
    async with down.pool.acquire() as conn:
        data = await conn.fetchval(
            "SELECT data FROM events WHERE stream_id = $1"
            " AND event_type = 'connection_reauthentication_required'",
            f"connection-{connection_id}",
        )
    reason: str = json.loads(data)["reason"]
    return reason
