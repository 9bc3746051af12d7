"""The outbox relay: follows the log and publishes every event to JetStream, exactly once.

One relay is active at a time (a session advisory lock); others stand by. The checkpoint
moves only after JetStream acknowledged the batch, and `Nats-Msg-Id` = event id lets the
server drop the re-sends that follow a crash between the two. On taking the lead the relay
also aligns its checkpoint with the newest message in the stream, which covers both a
crash (skip what is already there) and a NATS that lost acknowledged data (resend it).
Events that revoke tokens are followed by their revocation message (domain/revocation.py).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import timedelta
from typing import Final

import asyncpg
import msgspec
import structlog

from domain.policies.lifetimes import CLIENT_RECORD_TTL
from domain.revocation import REVOKING, Lifetimes, client_of, revocation_of
from infra.nats_bus import BusUnavailable, EventBus
from infra.postgres import Connection, checkpoints
from infra.postgres.event_store import (
    Checkpoint,
    StoredEvent,
    read_after_follower,
)
from infra.postgres.notify import HeldBack, Wakeup, wait
from infra.postgres.outage import OUTAGE_ERRORS
from schemas.events import ClientRegistered
from schemas.revocations import Revocation

__all__ = ["RELAY_CHECKPOINT", "RELAY_LOCK", "Relay", "RevocationMapper"]

RELAY_CHECKPOINT: Final = "relay"
RELAY_LOCK: Final = 0x6B6C_7265  # "klre"
_STANDBY_S: Final = 1.0
# Pause after a partial batch while events stream in, longer the more the batch held: a
# trickle is published at once, a flood in batches at most 10 ms apart (no pause when idle).
_LINGER_PER_EVENT_S: Final = 0.0005
_MAX_LINGER_S: Final = 0.010
_RETRY_S: Final = 0.5
_CLIENT_TTLS: Final = """
SELECT client_id, registration FROM clients WHERE client_id = ANY($1::text[])
"""
_registration: Final = msgspec.json.Decoder(ClientRegistered)

log = structlog.get_logger(__name__)


class RevocationMapper:
    """The revocations a batch of events causes, with each client's access-token lifetime.

    Registrations never change, so a client's lifetime is read once per relay.
    """

    def __init__(self) -> None:
        self._access_ttl: dict[str, timedelta] = {}

    async def revocations(
        self, conn: Connection, events: Sequence[StoredEvent]
    ) -> dict[int, Revocation]:
        revoking = [event.decode() for event in events if event.event_type in REVOKING]
        if not revoking:
            return {}
        unknown = {client_of(r.event) for r in revoking} - {None} - self._access_ttl.keys()
        if unknown:
            for row in await conn.fetch(_CLIENT_TTLS, list(unknown)):
                registered = _registration.decode(row["registration"])
                self._access_ttl[row["client_id"]] = timedelta(seconds=registered.access_token_ttl)
        lifetimes = Lifetimes(
            access_token_ttl=self._access_ttl, client_record_ttl=CLIENT_RECORD_TTL
        )
        mapped = ((r.global_position, revocation_of(r, lifetimes)) for r in revoking)
        return {position: revocation for position, revocation in mapped if revocation is not None}


class Relay:
    def __init__(
        self,
        pool: asyncpg.Pool,
        bus: EventBus,
        wakeup: Wakeup,
        *,
        batch_size: int = 1000,
        poll_interval: float = 0.5,
    ) -> None:
        self._pool = pool
        self._bus = bus
        self._woken = wakeup.subscribe()
        self._batch_size = batch_size
        self._poll_interval = poll_interval
        self._mapper = RevocationMapper()
        self.leading = asyncio.Event()

    async def run(self) -> None:
        """Run forever: stand by until the lock is ours, then publish."""
        while True:
            try:
                async with self._pool.acquire() as lock_conn:
                    if await lock_conn.fetchval("SELECT pg_try_advisory_lock($1)", RELAY_LOCK):
                        try:
                            await self._lead(lock_conn)
                        finally:
                            self.leading.clear()
                            if not lock_conn.is_closed():
                                await lock_conn.execute("SELECT pg_advisory_unlock_all()")
            except OUTAGE_ERRORS as error:
                log.warning("relay_database_error", error=str(error))
            await asyncio.sleep(_STANDBY_S)

    async def _lead(self, lock_conn: Connection) -> None:
        log.info("relay_leading")
        self.leading.set()
        aligned = False
        held_back = HeldBack(self._poll_interval)
        while not lock_conn.is_closed():
            try:
                if not aligned:
                    await self.align_with_stream()
                    aligned = True
                self._woken.clear()
                published = await self.publish_once(lock_conn)
            except BusUnavailable as error:
                log.warning("relay_nats_unavailable", error=str(error))
                aligned = False  # NATS may have come back without what it acknowledged
                await asyncio.sleep(_RETRY_S)
                continue
            if published == 0 and await checkpoints.held_back(lock_conn, RELAY_CHECKPOINT):
                await held_back.pause()
                continue
            held_back.reset()
            if 0 < published < self._batch_size:
                # Events are streaming in: let the next batch gather a few milliseconds'
                # worth, so one read, publish and checkpoint serve many events.
                await asyncio.sleep(min(_MAX_LINGER_S, published * _LINGER_PER_EVENT_S))
            if published < self._batch_size:
                await wait(self._woken, self._poll_interval)

    async def align_with_stream(self) -> None:
        last = await self._bus.last_published()
        if last is None:
            return
        async with self._pool.acquire() as conn:
            current = await checkpoints.load(conn, RELAY_CHECKPOINT)
            if last != current:
                log.info("relay_checkpoint_aligned", checkpoint=current, stream=last)
                await checkpoints.reset(conn, RELAY_CHECKPOINT, last)

    async def publish_once(self, conn: Connection) -> int:
        """Publish the next batch after the checkpoint; returns how many events it held.

        Two round trips to Postgres per batch, on the leader's own connection: the read
        (which loads the checkpoint itself, so an operator's rewind is seen) and the advance;
        a third when a revocation names a client whose lifetime this relay has not read yet.
        """
        events = await read_after_follower(conn, RELAY_CHECKPOINT, self._batch_size)
        if not events:
            return 0
        await self._bus.publish(events, await self._mapper.revocations(conn, events))
        await checkpoints.advance(conn, RELAY_CHECKPOINT, events[-1].checkpoint)
        return len(events)


async def republish_from(pool: asyncpg.Pool, position: int) -> Checkpoint:
    """Rewind the relay so it publishes again everything from `position` on (operator command)."""
    async with pool.acquire() as conn:
        row = await conn.fetchrow(
            """SELECT tx_id, global_position FROM events
               WHERE global_position >= $1 ORDER BY tx_id, global_position LIMIT 1""",
            position,
        )
        if row is None:
            target = await checkpoints.load(conn, RELAY_CHECKPOINT)
        else:
            # Just before the first event to resend, in (tx_id, position) order.
            target = Checkpoint(row["tx_id"], row["global_position"] - 1)
        await checkpoints.reset(conn, RELAY_CHECKPOINT, target)
    return target
