"""NATS stopped under load: tokens are still issued, and every event reaches JetStream once.

The outage length is a parameter: in the default suite just longer than the relay waits for
JetStream's acknowledgements (5 s), so that its publishing fails and it realigns with the
stream once NATS is back (a shorter one is absorbed by the client's reconnect buffer); the
full minute under the `soak` marker (`make test-soak`).
"""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from projections import ASYNC
from tests.faults.conftest import Rig
from tests.faults.ledger import (
    logged_token_digests,
    lost_writes,
    publication,
    wait_until_followed,
    wait_until_published,
)
from tests.faults.load import TokenLoad


@pytest.mark.parametrize(
    "outage_s",
    [pytest.param(6.0, id="6s"), pytest.param(60.0, id="60s", marks=pytest.mark.soak)],
)
async def test_nats_stopped_under_load_keeps_issuing_and_publishes_each_event_once(
    outage_s: float, rig: Rig
) -> None:
    pool, report = rig.pool, rig.report
    report.fault = f"NATS stopped for {outage_s:.0f}s, started again"
    api = rig.serve()
    try:
        await api.ready()
        base = api.base_url
        assert base is not None
        async with TokenLoad([base], rig.client.client_id, rig.client.secret) as load:
            await load.until_ok_after(time.monotonic(), timeout=15)
            await asyncio.sleep(0.5)

            rig.nats.stop()
            stopped_at = time.monotonic()
            await asyncio.sleep(outage_s)
            async with httpx.AsyncClient(base_url=base, timeout=10) as probe:
                readiness = await probe.get("/readyz")
            restarting_at = time.monotonic()
            rig.nats.start()  # on the same port: every client reconnects by itself
            await asyncio.sleep(1.0)
        during = [
            a for a in load.sent_between(stopped_at, restarting_at) if a.answered_at < restarting_at
        ]
        await wait_until_published(pool, timeout=60 + outage_s)
    finally:
        api.stop()

    lost = lost_writes(load.acknowledged(), await logged_token_digests(pool))
    published = await publication(rig.bus, pool)
    report.sent, report.ok, report.lost = (
        len(load.answers),
        len(load.acknowledged()),
        len(lost),
    )
    report.other.update(
        issued_during_outage=sum(1 for a in during if a.status == 200),
        logged=published.logged,
        published=published.published,
        duplicated=published.duplicated,
        missing=published.missing,
    )

    assert lost == []
    # Issuance never waited for NATS: every request got its token, during the outage too.
    assert set(load.statuses()) == {200}
    assert during and {a.status for a in during} == {200}
    # Still ready (requests do not need NATS), saying NATS is away.
    assert readiness.status_code == 200
    assert readiness.json()["nats"] is False
    assert published.exactly_once, published
    assert published.published == published.logged


async def test_keyledger_started_while_nats_is_down_serves_and_projects_then_publishes_once(
    rig: Rig,
) -> None:
    pool, report = rig.pool, rig.report
    report.fault = "NATS down before keyledger starts, started after it serves"
    rig.nats.stop()
    try:
        api = rig.serve()
        await api.ready()  # ready without NATS: no request needs it
        assert api.base_url is not None
        async with httpx.AsyncClient(base_url=api.base_url, timeout=10) as probe:
            readiness = await probe.get("/readyz")
        async with TokenLoad([api.base_url], rig.client.client_id, rig.client.secret) as load:
            await load.until_ok_after(time.monotonic(), timeout=15)
            await asyncio.sleep(1.0)
        # The projections do not wait for NATS either.
        for projection in ASYNC:
            await wait_until_followed(pool, projection.name, timeout=30)
    finally:
        rig.nats.start()
    try:
        await wait_until_published(pool, timeout=60)
    finally:
        api.stop()

    lost = lost_writes(load.acknowledged(), await logged_token_digests(pool))
    published = await publication(rig.bus, pool)
    report.sent, report.ok, report.lost = len(load.answers), len(load.acknowledged()), len(lost)
    report.other.update(logged=published.logged, published=published.published)

    assert (readiness.status_code, readiness.json()["nats"]) == (200, False)
    assert lost == []
    assert set(load.statuses()) == {200}
    assert published.exactly_once, published
    assert published.published == published.logged
