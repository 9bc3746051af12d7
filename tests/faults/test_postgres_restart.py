"""PostgreSQL stopped and started again under load: 503 + Retry-After meanwhile, then 200s.

The API is never restarted: its pool reconnects, the group commit fails the requests it held
and keeps committing after, the worker's relay and projector carry on where they were.
"""

from __future__ import annotations

import asyncio
import time

import httpx

from services.api.errors import RETRY_AFTER_S
from tests.faults.conftest import Rig
from tests.faults.ledger import logged_token_digests, lost_writes, publication, wait_until_published
from tests.faults.load import TokenLoad

OUTAGE_S = 2.0


async def test_postgres_restarted_under_load_gives_503s_then_recovers_without_losing_a_token(
    rig: Rig,
) -> None:
    pool, report = rig.pool, rig.report
    report.fault = f"PostgreSQL stopped (fast shutdown) for {OUTAGE_S:.0f}s, started again"
    api = rig.serve()
    try:
        await api.ready()
        base = api.base_url
        assert base is not None
        async with TokenLoad([base], rig.client.client_id, rig.client.secret) as load:
            await load.until_ok_after(time.monotonic(), timeout=15)
            await asyncio.sleep(0.5)

            rig.postgres.stop()
            stopped_at = time.monotonic()
            await asyncio.sleep(OUTAGE_S)
            async with httpx.AsyncClient(base_url=base, timeout=10) as probe:
                readiness = await probe.get("/readyz")
            restarting_at = time.monotonic()
            rig.postgres.start()
            restarted_at = time.monotonic()

            recovered_at = await load.until_ok_after(restarted_at, timeout=20)
            await asyncio.sleep(1.0)
            settled_at = recovered_at + 0.5
            after_recovery = load.sent_between(settled_at, time.monotonic())
        await wait_until_published(pool, timeout=30)
    finally:
        api.stop()

    # Sent and answered while the server was down (the load pauses while it starts).
    during = [
        a for a in load.sent_between(stopped_at, restarting_at) if a.answered_at < restarting_at
    ]
    refused = [a for a in load.answers if a.status == 503]
    lost = lost_writes(load.acknowledged(), await logged_token_digests(pool))
    published = await publication(rig.bus, pool)
    report.sent, report.ok, report.lost = (
        len(load.answers),
        len(load.acknowledged()),
        len(lost),
    )
    report.other.update(
        answers=dict(load.statuses()),
        recovered_after_s=round(recovered_at - restarted_at, 2),
        published=published.published,
        logged=published.logged,
    )

    assert lost == []
    # Throughout: answers only, each a 200 or a clean 503 (never a 500, never a cut request).
    assert set(load.statuses()) == {200, 503}
    assert {(a.retry_after, a.error) for a in refused} == {
        (str(RETRY_AFTER_S), "temporarily_unavailable")
    }
    assert during and {a.status for a in during} == {503}
    assert (readiness.status_code, readiness.headers.get("retry-after")) == (503, "2")
    assert readiness.json()["postgres"] is False
    # Recovered without a restart: everything after is served again.
    assert after_recovery and {a.status for a in after_recovery} == {200}
    assert published.exactly_once, published
