"""Revocations from keyledger's JetStream stream into a RevocationSet, none missed.

A durable push consumer per resource-server replica, filtered on `<prefix>.revocations.>`,
acknowledged message by message: after a disconnection or a NATS restart, JetStream resumes
it where it was and delivers again what was not acknowledged (applying twice is harmless).

A process holds its revocations in memory only, so on every start the consumer is made
anew from `window` ago: the longest lifetime of any token, so it replays every revocation
that can still matter (older ones have expired). `ready` is set once that replay is done.
If NATS comes back having lost messages this replica had seen (a machine crash before its
store was synced; keyledger's relay sends them again), the consumer is moved back to the
time of the last message seen, so the resent ones are delivered too.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, Final

import msgspec
import nats.errors
import nats.js.errors
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from schemas.messages import revocations_wildcard
from schemas.revocations import Revocation, decode_revocation

__all__ = ["RevocationFeed"]

# Unacknowledged messages come again after this; revocations are applied in microseconds.
_ACK_WAIT_S: Final = 10.0
_MAX_ACK_PENDING: Final = 20_000
# A replica gone for good leaves its consumer behind this long.
_INACTIVE_THRESHOLD_S: Final = 24 * 3600.0

log = logging.getLogger(__name__)


class RevocationFeed:
    def __init__(
        self,
        nc: Client,
        apply: Callable[[Revocation], object],
        *,
        stream: str,
        prefix: str,
        consumer: str,
        window: timedelta,
        ack_wait_s: float = _ACK_WAIT_S,
    ) -> None:
        self._nc = nc
        self._apply = apply
        self._stream = stream
        self._subject = revocations_wildcard(prefix)
        self._consumer = consumer
        self._window = window
        self._ack_wait = ack_wait_s
        self._inbox = nc.new_inbox()
        self._subscription: Subscription | None = None
        self._last_sequence = 0
        self._last_stored: datetime | None = None
        self.ready = asyncio.Event()
        self.received = 0
        self.malformed = 0

    async def start(self) -> None:
        """Replay the window, then follow; returns once the replay is applied."""
        self._subscription = await self._nc.subscribe(self._inbox, cb=self._on_message)
        pending = await self._position(datetime.now(UTC) - self._window)
        if pending == 0:
            self.ready.set()
        await self.ready.wait()

    async def stop(self) -> None:
        """Stop following; the consumer goes too (a start makes it anew anyway)."""
        if self._subscription is not None:
            with contextlib.suppress(nats.errors.Error):
                await self._subscription.unsubscribe()
            self._subscription = None
        with contextlib.suppress(nats.errors.Error, TimeoutError):
            await self._nc.jetstream().delete_consumer(self._stream, self._consumer)

    async def on_reconnect(self) -> None:
        """After a reconnection: move back if NATS no longer holds what was seen."""
        try:
            info = await self._nc.jetstream().stream_info(self._stream)
        except (nats.errors.Error, TimeoutError) as error:
            log.warning("revocation feed: stream info after reconnect failed: %s", error)
            return
        if info.state.last_seq < self._last_sequence and self._last_stored is not None:
            log.warning(
                "revocation feed: the stream lost messages up to %d; replaying from %s",
                self._last_sequence,
                self._last_stored.isoformat(),
            )
            self._last_sequence = info.state.last_seq
            await self._position(self._last_stored - timedelta(seconds=1))

    async def _position(self, start: datetime) -> int:
        """(Re)create the durable consumer to deliver from `start`; returns what it holds."""
        manager = self._nc.jetstream()
        with contextlib.suppress(nats.js.errors.NotFoundError):
            await manager.delete_consumer(self._stream, self._consumer)
        config = ConsumerConfig(
            name=self._consumer,
            durable_name=self._consumer,
            deliver_subject=self._inbox,
            deliver_policy=DeliverPolicy.BY_START_TIME,
            opt_start_time=start,
            ack_policy=AckPolicy.EXPLICIT,
            ack_wait=self._ack_wait,
            max_ack_pending=_MAX_ACK_PENDING,
            filter_subject=self._subject,
            inactive_threshold=_INACTIVE_THRESHOLD_S,
        )
        info = await manager.add_consumer(self._stream, config)
        pending: int = info.num_pending or 0
        return pending

    async def _on_message(self, msg: Msg) -> None:
        try:
            revocation = decode_revocation(msg.data)
        except (msgspec.DecodeError, msgspec.ValidationError) as error:
            # Not ours to understand (a newer kind?): skip it rather than stall the feed.
            self.malformed += 1
            log.warning("revocation feed: skipping a malformed message: %s", error)
            revocation = None
        if revocation is not None:
            self._apply(revocation)
            self.received += 1
        await _ack(msg)
        metadata = _metadata(msg)
        if metadata is None:
            return
        if metadata.sequence.stream > self._last_sequence:
            self._last_sequence, self._last_stored = metadata.sequence.stream, metadata.timestamp
        if metadata.num_pending == 0:
            self.ready.set()


async def _ack(msg: Msg) -> None:
    if msg.reply:
        with contextlib.suppress(nats.errors.Error):
            await msg.ack()


def _metadata(msg: Msg) -> Any:
    try:
        return msg.metadata
    except nats.errors.Error:
        return None
