"""SIGKILL of API processes under load: every token a client received is in the log."""

from __future__ import annotations

import asyncio
import os
import signal
import time

from tests.faults.conftest import Rig
from tests.faults.ledger import logged_token_digests, lost_writes
from tests.faults.load import Answer, TokenLoad
from tests.faults.processes import OwnedProcess


def _cut_at(answers: list[Answer], instant: float) -> int:
    """Requests in flight at `instant` that got no HTTP answer."""
    return sum(1 for a in answers if a.status is None and a.sent_at <= instant <= a.answered_at)


async def _replaced(api: OwnedProcess, victim: int, workers: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        running = api.granian_workers()
        if len(running) == workers and victim not in running:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"granian did not replace worker {victim}:\n{api.log_tail()}")


async def test_killing_an_api_worker_then_the_whole_api_mid_load_loses_no_acknowledged_token(
    rig: Rig,
) -> None:
    report = rig.report
    report.fault = "SIGKILL one of 2 granian workers, then every API process"
    api = rig.serve(workers=2)
    try:
        await api.ready()
        assert api.base_url is not None
        load = TokenLoad([api.base_url], rig.client.client_id, rig.client.secret)
        async with load:
            await load.until_ok_after(time.monotonic(), timeout=15)
            await asyncio.sleep(0.5)

            victim = api.granian_workers()[0]
            os.kill(victim, signal.SIGKILL)
            worker_killed_at = time.monotonic()
            # The other worker answers meanwhile; the killed one is replaced.
            await load.until_ok_after(worker_killed_at, timeout=10)
            await _replaced(api, victim, workers=2)
            await asyncio.sleep(0.5)

            api.kill()  # granian, its workers and the worker process, all at once
            api_killed_at = time.monotonic()
            await asyncio.sleep(0.2)
    finally:
        api.stop()

    logged = await logged_token_digests(rig.pool)
    acknowledged = load.acknowledged()
    lost = lost_writes(acknowledged, logged)
    statuses = load.statuses()
    report.sent, report.ok, report.lost = (
        len(load.answers),
        len(acknowledged),
        len(lost),
    )
    report.other.update(
        cut_by_worker_kill=_cut_at(load.answers, worker_killed_at),
        cut_by_api_kill=_cut_at(load.answers, api_killed_at),
        answers=dict(statuses),
    )
    assert lost == []
    # Requests cut by the kills get no answer at all; none gets an error status.
    assert {status for status in statuses if isinstance(status, int)} == {200}
    # Serving up to the end (a replacement that failed to start would have stopped it all).
    assert report.other["cut_by_api_kill"]
