"""The relay and the projector follow the log gap-free and publish each event exactly once."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from infra.config import Settings
from infra.embedded import EmbeddedNats
from infra.nats_bus import BusUnavailable, EventBus
from infra.postgres.event_store import NEW_STREAM, START, EventStore, StreamAppend, read_after
from infra.postgres.notify import Notifier, Wakeup
from projections import audit_trail
from services.projector import step
from services.relay import Relay
from tests.factories import access_token_issued, token_stream
from tests.jetstream import event_ids, stream_messages, wait_for_messages
from tests.personal import reader


@pytest.fixture
async def bus(fresh_settings: Settings) -> AsyncIterator[EventBus]:
    assert fresh_settings.nats_url is not None
    bus = await EventBus.connect(
        fresh_settings.nats_url,
        stream=fresh_settings.nats_stream,
        prefix=fresh_settings.subject_prefix,
        name="test-relay",
    )
    await bus.ensure_stream()
    yield bus
    await bus.close()


async def test_a_transaction_that_commits_late_with_a_lower_position_is_not_skipped(
    fresh_pool: asyncpg.Pool, bus: EventBus
) -> None:
    store = EventStore(fresh_pool)
    relay = Relay(fresh_pool, bus, Wakeup())
    early, late = access_token_issued(), access_token_issued()

    async with fresh_pool.acquire() as slow_conn:
        slow = slow_conn.transaction()
        await slow.start()
        # The slow transaction takes the lower position first, then stays open...
        await store.append_all([StreamAppend(token_stream(), NEW_STREAM, [early])], conn=slow_conn)
        # ...while a quick one takes a higher position and commits.
        await store.append(token_stream(), NEW_STREAM, [late])
        rows = await slow_conn.fetch(
            "SELECT event_id, global_position FROM events WHERE event_id = ANY($1)",
            [early.event_id, late.event_id],
        )
        positions = {row["event_id"]: row["global_position"] for row in rows}
        assert positions[early.event_id] < positions[late.event_id]

        # Followers must not move past the open transaction's position.
        async with fresh_pool.acquire() as conn:
            assert await relay.publish_once(conn) == 0
        assert await step(fresh_pool, audit_trail.PROJECTION, 100, reader(fresh_pool)) == 0
        await slow.commit()

    async with fresh_pool.acquire() as conn:
        assert await relay.publish_once(conn) == 2
    assert await step(fresh_pool, audit_trail.PROJECTION, 100, reader(fresh_pool)) == 2
    assert event_ids(await stream_messages(bus)) == [early.event_id, late.event_id]
    async with fresh_pool.acquire() as conn:
        audited = await conn.fetch("SELECT event_id FROM audit_trail ORDER BY global_position")
    assert [r["event_id"] for r in audited] == [early.event_id, late.event_id]


async def test_events_held_back_by_an_open_transaction_follow_its_commit_without_a_poll(
    fresh_settings: Settings, fresh_pool: asyncpg.Pool, bus: EventBus
) -> None:
    # A projector's write holds the horizon back while a newer append commits and notifies;
    # the projector commits without a NOTIFY of its own. The relay must not sleep a whole
    # poll interval (a minute here) before publishing the newer event.
    assert fresh_settings.database_url is not None
    wakeup, notifier = Wakeup(), Notifier(fresh_pool)
    await wakeup.listen(fresh_settings.database_url)
    store = EventStore(fresh_pool, wake=notifier)
    relay = asyncio.create_task(Relay(fresh_pool, bus, wakeup, poll_interval=60).run())
    try:
        async with fresh_pool.acquire() as other, other.transaction():
            await other.fetchval("SELECT pg_current_xact_id()")  # an xid, like any write
            await store.append(token_stream(), NEW_STREAM, [access_token_issued()])
            await asyncio.sleep(0.3)
            assert (await bus.js.stream_info(bus.stream)).state.messages == 0
        await wait_for_messages(bus, 1, timeout=5)
    finally:
        relay.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await relay
        await notifier.close()
        await wakeup.close()


async def _append_many(store: EventStore, count: int) -> list[object]:
    ids: list[object] = []
    for _ in range(count // 10):
        batch = [access_token_issued() for _ in range(10)]
        await store.append(token_stream(), NEW_STREAM, batch)
        ids.extend(e.event_id for e in batch)
    return ids


async def _log_order(pool: asyncpg.Pool) -> list[object]:
    async with pool.acquire() as conn:
        rows = await conn.fetch("SELECT event_id FROM events ORDER BY tx_id, global_position")
    return [r["event_id"] for r in rows]


async def test_a_message_jetstream_drops_inside_a_batch_fails_the_publish(
    fresh_pool: asyncpg.Pool, bus: EventBus
) -> None:
    # Once the bus knows the stream's last sequence, only a batch's last message is
    # acknowledged. A message dropped before it must still be noticed, never passed over.
    store = EventStore(fresh_pool)
    await store.append(token_stream(), NEW_STREAM, [access_token_issued() for _ in range(5)])
    too_large = access_token_issued(client_id="c" * 6000)
    await store.append(
        token_stream(), NEW_STREAM, [access_token_issued(), too_large, access_token_issued()]
    )
    async with fresh_pool.acquire() as conn:
        events = await read_after(conn, START, 100)
    info = await bus.js.stream_info(bus.stream)
    info.config.max_msg_size = 4096  # JetStream now drops the large one
    await bus.js.update_stream(info.config)

    await bus.publish(events[:5])
    with pytest.raises(BusUnavailable, match="message size exceeds maximum"):
        await bus.publish(events[5:])

    messages = await stream_messages(bus)
    assert event_ids(messages) == [e.event_id for e in events[:6]] + [events[7].event_id]


async def test_events_appended_while_nats_is_down_arrive_once_each_in_log_order(
    fresh_settings: Settings, fresh_pool: asyncpg.Pool, tmp_path: Path
) -> None:
    nats_server = EmbeddedNats(tmp_path / "nats")
    url = nats_server.start()
    bus = await EventBus.connect(
        url, stream=fresh_settings.nats_stream, prefix=fresh_settings.subject_prefix, name="t"
    )
    await bus.ensure_stream()
    relay = Relay(fresh_pool, bus, Wakeup(), batch_size=200, poll_interval=0.05)
    task = asyncio.create_task(relay.run())
    try:
        nats_server.stop()
        await _append_many(EventStore(fresh_pool), 1000)
        await asyncio.sleep(1.0)  # the relay keeps trying against a dead server
        nats_server.start()  # same port: the client reconnects by itself
        await wait_for_messages(bus, 1000)
        await asyncio.sleep(0.5)  # anything extra would show up now
        messages = await stream_messages(bus)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await bus.close()
        nats_server.stop()

    assert len(messages) == 1000
    assert event_ids(messages) == await _log_order(fresh_pool)


async def test_a_relay_cancelled_mid_batch_resumes_without_loss_or_duplicates(
    fresh_pool: asyncpg.Pool, bus: EventBus
) -> None:
    await _append_many(EventStore(fresh_pool), 1000)
    for _ in range(5):  # cancel repeatedly, at varying points inside publishing
        relay = Relay(fresh_pool, bus, Wakeup(), batch_size=300, poll_interval=0.05)
        task = asyncio.create_task(relay.run())
        await asyncio.sleep(0.03)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    relay = Relay(fresh_pool, bus, Wakeup(), batch_size=300, poll_interval=0.05)
    task = asyncio.create_task(relay.run())
    try:
        await wait_for_messages(bus, 1000)
        await asyncio.sleep(0.3)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    messages = await stream_messages(bus)
    assert len(messages) == 1000
    assert event_ids(messages) == await _log_order(fresh_pool)


async def test_a_killed_worker_process_resumes_without_loss_or_duplicates(
    fresh_settings: Settings, fresh_pool: asyncpg.Pool, bus: EventBus
) -> None:
    assert fresh_settings.database_url is not None
    assert fresh_settings.nats_url is not None
    env = {
        **os.environ,
        "KEYLEDGER_DATABASE_URL": fresh_settings.database_url,
        "KEYLEDGER_NATS_URL": fresh_settings.nats_url,
        "KEYLEDGER_NATS_STREAM": fresh_settings.nats_stream,
        "KEYLEDGER_SUBJECT_PREFIX": fresh_settings.subject_prefix,
        "KEYLEDGER_RELAY_BATCH_SIZE": "50",
        "KEYLEDGER_LOG_LEVEL": "warning",
    }
    command = [sys.executable, "-m", "services.cli", "worker"]
    await _append_many(EventStore(fresh_pool), 3000)

    worker = subprocess.Popen(command, env=env)
    try:
        await wait_for_messages(bus, 100)
        os.kill(worker.pid, signal.SIGKILL)  # mid-stream, no chance to clean up
        worker.wait()
        published_before_restart = len(await stream_messages(bus))
        assert published_before_restart < 3000
        worker = subprocess.Popen(command, env=env)
        await wait_for_messages(bus, 3000)
        await asyncio.sleep(0.5)
    finally:
        worker.terminate()
        worker.wait()

    messages = await stream_messages(bus)
    assert len(messages) == 3000
    assert event_ids(messages) == await _log_order(fresh_pool)
