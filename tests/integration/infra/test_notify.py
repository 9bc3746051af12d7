"""Appends wake the log followers once per interval under steady load, and never leave the last
append unannounced."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import asyncpg
import pytest

from infra.config import Settings
from infra.postgres.event_store import NEW_STREAM, EventStore
from infra.postgres.notify import CHANNEL, Notifier
from tests.factories import access_token_issued, token_stream

URGENT = frozenset({"access_token_issued"})


@pytest.fixture
async def heard(fresh_settings: Settings) -> AsyncIterator[list[float]]:
    """When each NOTIFY on the followers' channel arrived (monotonic), in the test's database."""
    assert fresh_settings.database_url is not None
    arrivals: list[float] = []
    conn = await asyncpg.connect(fresh_settings.database_url)
    await conn.add_listener(CHANNEL, lambda *_: arrivals.append(time.monotonic()))
    yield arrivals
    await conn.close()


async def test_appends_within_an_interval_share_one_wake_up_and_the_last_is_still_heard(
    fresh_pool: asyncpg.Pool, heard: list[float]
) -> None:
    notifier = Notifier(fresh_pool, interval_s=1.0)
    store = EventStore(fresh_pool, wake=notifier)
    started = time.monotonic()
    for _ in range(5):
        await store.append(token_stream(), NEW_STREAM, [access_token_issued()])
    await asyncio.sleep(0.2)
    assert len(heard) == 1  # the first append carried it; the others only poked

    await asyncio.sleep(started + 1.5 - time.monotonic())
    # The pokes' NOTIFY went once the interval was up: the last four appends were announced.
    assert len(heard) == 2
    assert heard[1] - heard[0] >= 0.9


async def test_an_urgent_append_wakes_the_followers_at_once(
    fresh_pool: asyncpg.Pool, heard: list[float]
) -> None:
    notifier = Notifier(fresh_pool, interval_s=60.0)
    quiet = EventStore(fresh_pool, wake=notifier)
    urgent = EventStore(fresh_pool, wake=notifier, urgent=URGENT)
    await quiet.append(token_stream(), NEW_STREAM, [access_token_issued()])
    await quiet.append(token_stream(), NEW_STREAM, [access_token_issued()])
    await urgent.append(token_stream(), NEW_STREAM, [access_token_issued()])
    await asyncio.sleep(0.3)
    assert len(heard) == 2  # the first append's, then the urgent one's: no minute's wait


async def test_under_steady_appends_one_wake_up_goes_per_interval(
    fresh_pool: asyncpg.Pool, heard: list[float]
) -> None:
    # An append every ~10 ms for a second, an interval of 100 ms: the commits that carry a
    # NOTIFY and the pokes' NOTIFYs together stay near one per interval, not one per append.
    notifier = Notifier(fresh_pool, interval_s=0.1)
    store = EventStore(fresh_pool, wake=notifier)
    appends, deadline = 0, time.monotonic() + 1.0
    while time.monotonic() < deadline:
        await store.append(token_stream(), NEW_STREAM, [access_token_issued()])
        appends += 1
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.3)
    assert appends >= 30
    assert 8 <= len(heard) <= 15
