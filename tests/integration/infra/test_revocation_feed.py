"""The revocation feed across a NATS restart in the middle of a burst: none lost, none doubled."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import nats

from infra.config import Settings
from infra.embedded import EmbeddedNats
from infra.nats_bus import EventBus
from infra.postgres.event_store import NEW_STREAM, EventStore
from infra.postgres.notify import Wakeup
from infra.resource_server.feed import RevocationFeed
from infra.resource_server.revocation_set import RevocationSet
from schemas.access_token import AccessTokenClaims
from schemas.envelope import Metadata, NewEvent
from schemas.events import AccessTokenRevoked, Jti
from services.relay import Relay
from tests.factories import token_stream

BURST = 1500


def _revoked(jti: str) -> NewEvent:
    now = datetime.now(UTC)
    return NewEvent(
        event=AccessTokenRevoked(jti=Jti(jti), expires_at=now + timedelta(hours=1)),
        event_id=uuid.uuid4(), occurred_at=now, metadata=Metadata(actor="client"),
    )  # fmt: skip


def _claims(jti: str) -> AccessTokenClaims:
    now = int(time.time())
    return AccessTokenClaims(
        iss="i", sub="c", aud="i", client_id="c", scope="", jti=jti, iat=now, exp=now + 60
    )


async def test_nats_restarted_during_a_burst_of_revocations_loses_none_and_doubles_none(
    fresh_settings: Settings, fresh_pool: asyncpg.Pool, tmp_path: Path
) -> None:
    server = EmbeddedNats(tmp_path / "nats")
    url = server.start()
    stream, prefix = fresh_settings.nats_stream, fresh_settings.subject_prefix
    bus = await EventBus.connect(url, stream=stream, prefix=prefix, name="relay")
    await bus.ensure_stream()
    relay = asyncio.create_task(Relay(fresh_pool, bus, Wakeup(), poll_interval=0.05).run())
    held = RevocationSet()
    feeds: list[RevocationFeed] = []

    async def reconnected() -> None:
        asyncio.get_running_loop().create_task(feeds[0].on_reconnect())

    nc = await nats.connect(
        url, max_reconnect_attempts=-1, reconnect_time_wait=0.1, reconnected_cb=reconnected
    )
    feed = RevocationFeed(
        nc, lambda revocation: held.apply(revocation, time.time()), stream=stream,
        prefix=prefix, consumer="burst", window=timedelta(hours=25), ack_wait_s=1.0,
    )  # fmt: skip
    feeds.append(feed)
    await feed.start()
    store = EventStore(fresh_pool)
    jtis = [uuid.uuid4().hex for _ in range(BURST)]

    async def burst() -> None:
        for start in range(0, BURST, 10):
            await store.append(
                token_stream(), NEW_STREAM, [_revoked(j) for j in jtis[start : start + 10]]
            )
            await asyncio.sleep(0.002)

    try:
        appending = asyncio.create_task(burst())
        while held.applied < BURST // 3:
            await asyncio.sleep(0.01)
        server.kill()  # mid-burst, as a crash would
        await asyncio.sleep(0.5)  # revocations keep coming into the log meanwhile
        server.start()  # same port, same store
        await appending
        deadline = time.monotonic() + 20
        while held.applied < BURST and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        await asyncio.sleep(1.5)  # past the ack wait: redeliveries would show up now
    finally:
        relay.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await relay
        await feed.stop()
        await nc.close()
        await bus.close()
        server.stop()

    print(f"applied {held.applied}, delivered again and ignored {held.duplicates}")
    assert held.applied == BURST == len(held)
    assert all(held.is_revoked(_claims(jti), "k") for jti in jtis)
