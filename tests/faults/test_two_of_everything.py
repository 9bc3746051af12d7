"""Two API processes and two relays on one PostgreSQL and one NATS.

One relay leads at a time (the other stands by, and takes over when the leader is killed),
every event is published once, and a code redeemed through both APIs at once is single use.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections import Counter

import httpx

from infra.crypto.digests import token_digest
from schemas.envelope import Metadata
from services.clients import ClientRegistration, register_client
from tests.e2e.test_token_grants import REDIRECT, exchange, issue_code
from tests.faults.conftest import Rig
from tests.faults.ledger import logged_token_digests, lost_writes, publication, wait_until_published
from tests.faults.load import TokenLoad
from tests.faults.processes import OwnedProcess

REDEMPTIONS = 50
_STANDBY_S = 1.0  # how often a standing-by relay tries for the lead (services/relay.py)


def _leads(api: OwnedProcess) -> int:
    return sum(1 for line in api.log_lines() if '"relay_leading"' in line)


def _workers_started(api: OwnedProcess) -> int:
    return sum(1 for line in api.log_lines() if '"worker_started"' in line)


async def _until(condition: str, check: object, timeout: float = 30) -> None:
    assert callable(check)
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not met in {timeout}s: {condition}")
        await asyncio.sleep(0.1)


async def _redeem_concurrently(rig: Rig, apis: list[OwnedProcess]) -> tuple[str, list[int]]:
    """One code, redeemed REDEMPTIONS times at once, alternately through each API process."""
    spec = ClientRegistration(
        name="code client",
        grant_types=("authorization_code",),
        scopes=("read",),
        redirect_uris=(REDIRECT,),
    )
    client_id, secret = await register_client(
        rig.authority.store, rig.authority.hasher, spec, Metadata(actor="admin")
    )
    assert secret is not None
    code = await issue_code(rig.authority, client_id, "user-race", ("read",))
    async with httpx.AsyncClient(timeout=30) as http:
        answers = await asyncio.gather(
            *(
                http.post(
                    f"{apis[i % len(apis)].base_url}/oauth/token",
                    data=exchange(code),
                    auth=(client_id, secret),
                )
                for i in range(REDEMPTIONS)
            )
        )
    return code, sorted(answer.status_code for answer in answers)


async def test_two_apis_and_two_relays_publish_once_and_redeem_a_code_once(rig: Rig) -> None:
    pool, report = rig.pool, rig.report
    report.fault = "2 API processes + 2 relays; SIGKILL the leading relay's worker"
    apis = [
        rig.serve(name="serve-a"),
        rig.serve(name="serve-b"),
    ]
    try:
        await asyncio.gather(*(api.ready() for api in apis))
        await _until("both workers run", lambda: all(_workers_started(api) for api in apis))
        await asyncio.sleep(_STANDBY_S * 1.5)  # the standby has tried for the lead by now
        leads_before = [_leads(api) for api in apis]

        urls = [api.base_url for api in apis if api.base_url is not None]
        load = TokenLoad(urls, rig.client.client_id, rig.client.secret)
        async with load:
            await load.until_ok_after(time.monotonic(), timeout=15)
            code, redemptions = await _redeem_concurrently(rig, apis)

            leader = apis[leads_before.index(max(leads_before))]
            killed = leader.worker_pid()
            assert killed is not None
            os.kill(killed, signal.SIGKILL)
            await _until("a standby relay took the lead", lambda: sum(map(_leads, apis)) == 2)
            await asyncio.sleep(0.5)
        await wait_until_published(pool, timeout=30)
        # Counted before the stop: a worker `serve` restarts while the other API is being
        # stopped may lead then, legitimately, and is not a second takeover.
        leads_after = [_leads(api) for api in apis]
    finally:
        for api in apis:
            api.stop()

    async with pool.acquire() as conn:
        redeemed = await conn.fetchval(
            "SELECT count(*) FROM events WHERE stream_id = $1"
            " AND event_type = 'authorization_code_redeemed'",
            f"authorization-{token_digest(code)}",
        )
        token_sets = await conn.fetchval(
            "SELECT count(*) FROM events WHERE event_type = 'access_token_issued'"
            " AND convert_from(data, 'UTF8')::jsonb ->> 'grant_type' = 'authorization_code'"
        )
    lost = lost_writes(load.acknowledged(), await logged_token_digests(pool))
    published = await publication(rig.bus, pool)
    report.sent, report.ok, report.lost = len(load.answers), len(load.acknowledged()), len(lost)
    report.other.update(
        leads_before_kill=leads_before,
        leads_after_kill=leads_after,
        redemptions=dict(Counter(redemptions)),
        logged=published.logged,
        published=published.published,
        revocations=published.revocations,
    )

    assert sorted(leads_before) == [0, 1]  # exactly one relay leads, the other stands by
    assert sum(leads_after) == 2  # and one took over once the leader died
    assert redemptions == [200] + [400] * (REDEMPTIONS - 1)
    assert (redeemed, token_sets) == (1, 1)
    assert lost == []
    assert set(load.statuses()) == {200}
    assert published.exactly_once, published
    assert published.published == published.logged
