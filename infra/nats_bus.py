"""JetStream publishing of logged events, deduplicated by event id."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Final

import msgspec
import nats
import nats.errors
import nats.js.errors
from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js.api import StorageType, StreamConfig

from infra.postgres.event_store import Checkpoint, StoredEvent
from schemas.envelope import stream_type_of
from schemas.messages import EventMessage, event_subject, events_wildcard, revocations_wildcard

__all__ = ["POSITION_HEADER", "TX_HEADER", "BusUnavailable", "EventBus"]

POSITION_HEADER: Final = "Keyledger-Position"
TX_HEADER: Final = "Keyledger-Tx-Id"
_ACK_TIMEOUT_S: Final = 5.0

_encoder = msgspec.json.Encoder()


class BusUnavailable(Exception):
    """NATS did not acknowledge in time; the caller retries from its checkpoint."""


class EventBus:
    """A connection to NATS and the JetStream stream that carries keyledger's events."""

    def __init__(self, nc: Client, stream: str, prefix: str) -> None:
        self.nc = nc
        self.js: JetStreamContext = nc.jetstream(publish_async_max_pending=4096)
        self.stream = stream
        self.prefix = prefix

    @classmethod
    async def connect(cls, url: str, *, stream: str, prefix: str, name: str) -> EventBus:
        nc = await nats.connect(
            url,
            name=name,
            max_reconnect_attempts=-1,
            reconnect_time_wait=0.25,
            connect_timeout=2,
        )
        return cls(nc, stream, prefix)

    async def close(self) -> None:
        await self.nc.drain()

    async def ensure_stream(self) -> None:
        config = StreamConfig(
            name=self.stream,
            subjects=[events_wildcard(self.prefix), revocations_wildcard(self.prefix)],
            storage=StorageType.FILE,
            duplicate_window=120.0,
        )
        try:
            await self.js.add_stream(config)
        except nats.js.errors.BadRequestError:
            await self.js.update_stream(config)

    async def delete_stream(self) -> None:
        await self.js.delete_stream(self.stream)

    async def publish(self, events: Sequence[StoredEvent]) -> None:
        """Publish in log order and wait for every acknowledgement."""
        try:
            # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancellation
            # that arrives as the acks complete.
            async with asyncio.timeout(_ACK_TIMEOUT_S):
                acks = []
                for event in events:
                    acks.append(await self.js.publish_async(*_message(self.prefix, event)))
                    _raise_if_cancelled()
                await asyncio.gather(*acks)
        except (TimeoutError, nats.errors.Error) as error:
            raise _unavailable(error) from error

    async def last_published(self) -> Checkpoint | None:
        """The log position of the newest message in the stream, or None if it is empty."""
        try:
            info = await self.js.stream_info(self.stream)
            if not info.state.messages:
                return None
            message = await self.js.get_msg(self.stream, info.state.last_seq)
        except (TimeoutError, nats.errors.Error) as error:
            raise _unavailable(error) from error
        headers = message.headers or {}
        if POSITION_HEADER not in headers:
            return None
        return Checkpoint(int(headers[TX_HEADER]), int(headers[POSITION_HEADER]))


def _raise_if_cancelled() -> None:
    """nats-py's flush swallows CancelledError (`except CancelledError: pass`); restore it."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


def _unavailable(error: Exception) -> BaseException:
    """The exception to raise for a failed NATS call.

    nats-py turns a cancellation that arrives while it waits into its own errors; passing
    those on as BusUnavailable would let a cancelled relay carry on, so they become
    CancelledError again.
    """
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        return asyncio.CancelledError()
    return BusUnavailable(str(error) or type(error).__name__)


def _message(prefix: str, event: StoredEvent) -> tuple[str, bytes, float, None, dict[str, str]]:
    payload = _encoder.encode(
        EventMessage(
            event_id=event.event_id,
            global_position=event.global_position,
            stream_id=event.stream_id,
            stream_version=event.stream_version,
            event_type=event.event_type,
            schema_version=event.schema_version,
            occurred_at=event.occurred_at,
            metadata=msgspec.Raw(event.metadata.encode()),
            data=msgspec.Raw(event.data),
            hash=event.hash.hex(),
        )
    )
    headers = {
        "Nats-Msg-Id": str(event.event_id),
        POSITION_HEADER: str(event.global_position),
        TX_HEADER: str(event.tx_id),
    }
    subject = event_subject(prefix, stream_type_of(event.stream_id), event.event_type)
    return subject, payload, _ACK_TIMEOUT_S, None, headers
