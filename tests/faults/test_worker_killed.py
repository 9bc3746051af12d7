"""The worker process (relay, projector, checkpointer) killed under load, twice, and restarted.

`keyledger serve` starts it again by itself. The checkpoints resume: the async projections
end up exactly as a rebuild from position 0 makes them, and JetStream holds each event once.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg

from domain import consent as consent_domain
from projections import ASYNC
from schemas.envelope import Metadata
from services.commands import execute
from services.consents import consent_stream, withdraw_consent
from services.projector import rebuild
from tests.faults.conftest import Rig
from tests.faults.ledger import (
    logged_token_digests,
    lost_writes,
    publication,
    wait_until_followed,
    wait_until_published,
)
from tests.faults.load import TokenLoad
from tests.faults.processes import OwnedProcess
from tests.personal import reader

KILLS = 2
# Each table in the order that makes a live and a rebuilt copy comparable row by row.
_ORDER = {"audit_trail": "global_position", "consents": "user_id, client_id"}


async def _rows(pool: asyncpg.Pool, table: str) -> list[tuple[object, ...]]:
    async with pool.acquire() as conn:
        rows = await conn.fetch(f"SELECT * FROM {table} ORDER BY {_ORDER[table]}")
    return [tuple(row.values()) for row in rows]


@contextlib.asynccontextmanager
async def _consents_changing(rig: Rig) -> AsyncIterator[list[int]]:
    """Users granting and withdrawing consent to the load's client meanwhile, so the consents
    projection and the relay's revocations have work too; yields the running count."""
    changes = [0]

    async def churn() -> None:
        client_id = rig.client.client_id
        while True:
            # Each user in turn grants, then withdraws at the next change; a later round of
            # the same user grants again.
            user_id = f"user-{changes[0] // 2 % 10}"
            metadata = Metadata(actor="user", actor_id=user_id)
            if changes[0] % 2 == 0:
                command = consent_domain.GrantConsent(
                    user_id=user_id, client_id=client_id, scopes=("read",)
                )
                stream = consent_stream(user_id, client_id)
                await execute(
                    rig.authority.store, consent_domain.decider, stream, command, metadata
                )
            else:
                await withdraw_consent(rig.authority, user_id, client_id, metadata)
            changes[0] += 1
            await asyncio.sleep(0.02)

    task = asyncio.create_task(churn())
    try:
        yield changes
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def _leads(api: OwnedProcess) -> int:
    return sum(1 for line in api.log_lines() if '"relay_leading"' in line)


async def _restarted_and_leading(api: OwnedProcess, killed: int, leads: int) -> None:
    """Wait for a worker process other than `killed`, and for its relay to take the lead
    (the relay has led `leads` times before)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        pid = api.worker_pid()
        if pid is not None and pid != killed and _leads(api) > leads:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"the worker was not restarted:\n{api.log_tail()}")


async def test_a_worker_killed_twice_under_load_resumes_without_skipping_or_doubling(
    rig: Rig,
) -> None:
    pool, report = rig.pool, rig.report
    report.fault = f"SIGKILL the worker process (relay, projector) {KILLS} times; serve restarts it"
    api = rig.serve()
    try:
        await api.ready()
        assert api.base_url is not None
        load = TokenLoad([api.base_url], rig.client.client_id, rig.client.secret)
        async with load, _consents_changing(rig) as consent_changes:
            await load.until_ok_after(time.monotonic(), timeout=15)
            await _restarted_and_leading(api, killed=0, leads=0)  # the first one, at work
            for _ in range(KILLS):
                await asyncio.sleep(0.5)
                killed, leads = api.worker_pid(), _leads(api)
                assert killed is not None
                os.kill(killed, signal.SIGKILL)
                await _restarted_and_leading(api, killed, leads)
            await asyncio.sleep(0.5)
        await wait_until_published(pool, timeout=30)
        for projection in ASYNC:
            await wait_until_followed(pool, projection.name, timeout=30)
    finally:
        api.stop()

    live = {p.name: await _rows(pool, p.name) for p in ASYNC}
    for projection in ASYNC:
        await rebuild(pool, projection, personal=reader(pool))
    rebuilt = {p.name: await _rows(pool, p.name) for p in ASYNC}
    lost = lost_writes(load.acknowledged(), await logged_token_digests(pool))
    published = await publication(rig.bus, pool)
    report.sent, report.ok, report.lost = len(load.answers), len(load.acknowledged()), len(lost)
    report.other.update(
        consent_changes=consent_changes[0],
        relay_leads=_leads(api),
        logged=published.logged,
        published=published.published,
        revocations=published.revocations,
        projected_rows={name: len(rows) for name, rows in live.items()},
    )

    assert lost == []
    assert set(load.statuses()) == {200}
    assert published.exactly_once, published
    assert published.published == published.logged
    assert published.revocations > 0  # withdrawn consents were published too
    assert report.other["relay_leads"] == KILLS + 1
    for projection in ASYNC:
        assert live[projection.name], projection.name
        assert live[projection.name] == rebuilt[projection.name], projection.name


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"  # a zombie has exited; only its entry waits for the parent


async def test_a_worker_whose_serve_is_killed_outright_stops_too(rig: Rig) -> None:
    rig.report.fault = "SIGKILL the serve process alone (not its group): its worker must stop"
    api = rig.serve()
    try:
        await api.ready()
        worker = await _wait_for_worker(api)
        os.kill(api.pid, signal.SIGKILL)  # no handler runs: serve cannot stop its worker
        killed_at = time.monotonic()
        while _alive(worker) and time.monotonic() - killed_at < 15:
            await asyncio.sleep(0.1)
        stopped_after = time.monotonic() - killed_at
        rig.report.other.update(worker_stopped_after_s=round(stopped_after, 2))
        assert not _alive(worker), f"worker {worker} still runs {stopped_after:.1f} s later"
        assert any("worker_task_failed" in line and "parent" in line for line in api.log_lines())
    finally:
        api.stop()


async def _wait_for_worker(api: OwnedProcess) -> int:
    for _ in range(100):
        worker = api.worker_pid()
        if worker is not None:
            return worker
        await asyncio.sleep(0.1)
    raise AssertionError(f"serve started no worker:\n{api.log_tail()}")
