"""JetStream publishing of logged events, deduplicated by event id, and of their revocations.

An event that revokes tokens is followed at once by its revocation (schemas/revocations.py)
on `<prefix>.revocations.<kind>`, deduplicated by its own message id. The event's message
names that id in a header, so a stream whose newest message is such an event is known to
lack the revocation that follows it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping, Sequence
from typing import Any, Final

import msgspec
import nats
import nats.errors
import nats.js.errors
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import StorageType, StreamConfig

from infra.postgres.event_store import Checkpoint, StoredEvent
from schemas.envelope import stream_type_of
from schemas.messages import EventMessage, event_subject, events_wildcard, revocations_wildcard
from schemas.revocations import (
    Revocation,
    encode_revocation,
    revocation_msg_id,
    revocation_subject,
)

__all__ = [
    "POSITION_HEADER",
    "REVOCATION_HEADER",
    "TX_HEADER",
    "BusUnavailable",
    "ConnectingBus",
    "EventBus",
]

POSITION_HEADER: Final = "Keyledger-Position"
TX_HEADER: Final = "Keyledger-Tx-Id"
# On an event's message: the message id of the revocation published right after it.
REVOCATION_HEADER: Final = "Keyledger-Revocation"
_ACK_TIMEOUT_S: Final = 5.0

_encoder = msgspec.json.Encoder()


class _PubAck(msgspec.Struct):
    """A JetStream publish acknowledgement: a sequence, or an error."""

    seq: int | None = None
    duplicate: bool = False
    error: dict[str, Any] | None = None


_Message = tuple[str, bytes, dict[str, str]]


_ack_decoder = msgspec.json.Decoder(_PubAck)


class BusUnavailable(Exception):
    """NATS did not acknowledge in time; the caller retries from its checkpoint."""


class EventBus:
    """A connection to NATS and the JetStream stream that carries keyledger's events."""

    def __init__(self, nc: Client, stream: str, prefix: str) -> None:
        self.nc = nc
        self.js: JetStreamContext = nc.jetstream(publish_async_max_pending=4096)
        self.stream = stream
        self.prefix = prefix
        # JetStream acknowledgements come back on one inbox subscription. nats-py's own
        # publish_async yields to the loop per message, so its flusher writes the socket
        # once per event; publishing a batch without yielding writes it once.
        self._ack_inbox = nc.new_inbox()
        self._ack_subscription: Any = None
        self._pending_acks: dict[str, asyncio.Future[_PubAck]] = {}
        self._sequence = 0
        # The stream's last sequence as this bus's last acknowledgement gave it; None when
        # unknown (at first, after an error, or when that message was a duplicate).
        self._last_seq: int | None = None

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
        """Create or update the stream; BusUnavailable if JetStream does not answer."""
        config = StreamConfig(
            name=self.stream,
            subjects=[events_wildcard(self.prefix), revocations_wildcard(self.prefix)],
            storage=StorageType.FILE,
            duplicate_window=120.0,
        )
        try:
            try:
                await self.js.add_stream(config)
            except nats.js.errors.BadRequestError:
                await self.js.update_stream(config)
        except (TimeoutError, nats.errors.Error) as error:
            raise _unavailable(error) from error

    async def delete_stream(self) -> None:
        await self.js.delete_stream(self.stream)

    async def publish(
        self, events: Sequence[StoredEvent], revocations: Mapping[int, Revocation] | None = None
    ) -> None:
        """Publish in log order and return once JetStream holds every message; `revocations`
        (by global position) go right after the event that caused them.

        When the stream's last sequence is known from the previous batch, only the batch's
        last message asks for an acknowledgement. The stream is written by the relay alone,
        so that message at `known + count` means every message before it was stored too.
        Any other answer (a duplicate, a gap, another writer) sends the batch again, each
        message acknowledged: their ids make JetStream drop what it already holds.
        """
        messages = _messages(self.prefix, events, revocations or {})
        if not messages:
            return
        acks: list[asyncio.Future[_PubAck]] = []
        known, self._last_seq = self._last_seq, None
        try:
            # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancellation
            # that arrives as the acks complete.
            async with asyncio.timeout(_ACK_TIMEOUT_S):
                if self._ack_subscription is None:
                    self._ack_subscription = await self.nc.subscribe(
                        f"{self._ack_inbox}.*", cb=self._on_ack
                    )
                if known is not None:
                    last = await self._send_batch(messages, acks)
                    if not last.duplicate and last.seq == known + len(messages):
                        self._last_seq = last.seq
                        return
                acks.clear()
                for subject, payload, headers in messages:
                    acks.append(await self._send(subject, payload, headers))
                _raise_if_cancelled()
                last = (await asyncio.gather(*acks))[-1]
                self._last_seq = None if last.duplicate else last.seq
        except (TimeoutError, nats.errors.Error) as error:
            raise _unavailable(error) from error
        finally:
            for ack in acks:
                if not ack.done():
                    ack.cancel()
            self._pending_acks = {k: v for k, v in self._pending_acks.items() if not v.done()}

    async def _send_batch(
        self, messages: Sequence[_Message], acks: list[asyncio.Future[_PubAck]]
    ) -> _PubAck:
        """Send every message, only the last asking for an acknowledgement; await that one."""
        *leading, (subject, payload, headers) = messages
        for leading_subject, leading_payload, leading_headers in leading:
            await self.nc.publish(leading_subject, leading_payload, headers=leading_headers)
        acks.append(await self._send(subject, payload, headers))
        _raise_if_cancelled()
        return await acks[-1]

    async def _send(
        self, subject: str, payload: bytes, headers: dict[str, str]
    ) -> asyncio.Future[_PubAck]:
        self._sequence += 1
        reply = f"{self._ack_inbox}.{self._sequence}"
        ack: asyncio.Future[_PubAck] = asyncio.get_running_loop().create_future()
        self._pending_acks[reply] = ack
        await self.nc.publish(subject, payload, reply=reply, headers=headers)
        return ack

    async def _on_ack(self, msg: Msg) -> None:
        ack = self._pending_acks.pop(msg.subject, None)
        if ack is None or ack.done():
            return
        try:
            reply = _ack_decoder.decode(msg.data)
        except msgspec.DecodeError:
            ack.set_exception(BusUnavailable("malformed JetStream acknowledgement"))
            return
        if reply.error is not None or reply.seq is None:
            description = (reply.error or {}).get("description", "no sequence")
            ack.set_exception(BusUnavailable(f"JetStream refused a message: {description}"))
        else:
            ack.set_result(reply)

    async def last_published(self) -> Checkpoint | None:
        """The log position up to which the stream holds everything, or None if it is empty.

        That is the newest message's position, or just before it when that message is an
        event whose revocation is missing: the event is sent again (JetStream drops it if it
        still remembers its id) and the revocation after it.
        """
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
        position = int(headers[POSITION_HEADER])
        if REVOCATION_HEADER in headers:
            position -= 1  # (tx, position - 1) sorts just before the event, after all before it
        return Checkpoint(int(headers[TX_HEADER]), position)


class ConnectingBus:
    """An EventBus connected in the background, for a process that only reports on NATS:
    it starts and serves without waiting for NATS, which may be down."""

    def __init__(self, url: str, *, stream: str, prefix: str, name: str) -> None:
        # nats-py retries the first connection for as long as it takes (see `connect`).
        self._connecting = asyncio.create_task(
            EventBus.connect(url, stream=stream, prefix=prefix, name=name)
        )

    @property
    def connected(self) -> bool:
        task = self._connecting
        if not task.done() or task.cancelled() or task.exception() is not None:
            return False
        return task.result().nc.is_connected

    async def close(self) -> None:
        if not self._connecting.done():
            self._connecting.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._connecting
        elif not self._connecting.cancelled() and self._connecting.exception() is None:
            await self._connecting.result().close()


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


def _messages(
    prefix: str, events: Sequence[StoredEvent], revocations: Mapping[int, Revocation]
) -> list[_Message]:
    """Each event's message, in log order, a revocation's right after its event's."""
    messages = []
    for event in events:
        revocation = revocations.get(event.global_position)
        messages.append(_message(prefix, event, revocation))
        if revocation is not None:
            messages.append(_revocation_message(prefix, event, revocation))
    return messages


def _message(prefix: str, event: StoredEvent, revocation: Revocation | None) -> _Message:
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
    if revocation is not None:
        headers[REVOCATION_HEADER] = revocation_msg_id(event.event_id)
    subject = event_subject(prefix, stream_type_of(event.stream_id), event.event_type)
    return subject, payload, headers


def _revocation_message(prefix: str, event: StoredEvent, revocation: Revocation) -> _Message:
    headers = {
        "Nats-Msg-Id": revocation_msg_id(event.event_id),
        POSITION_HEADER: str(event.global_position),
        TX_HEADER: str(event.tx_id),
    }
    return revocation_subject(prefix, revocation), encode_revocation(revocation), headers
