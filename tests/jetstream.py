"""Reading back what the relay put in JetStream, message by message, duplicates included."""

from __future__ import annotations

import asyncio
import time
from uuid import UUID

import msgspec
import nats.js.errors

from infra.nats_bus import EventBus
from schemas.messages import EventMessage
from schemas.revocations import Revocation, decode_revocation

_decoder = msgspec.json.Decoder(EventMessage)


async def raw_messages(bus: EventBus) -> list[tuple[str, bytes, dict[str, str]]]:
    """Every message in the stream: subject, payload, headers."""
    try:
        info = await bus.js.stream_info(bus.stream)
    except nats.js.errors.NotFoundError:
        return []
    if info.state.messages == 0:
        return []  # an empty stream reports sequence 0, which get_msg refuses as a bad request
    messages = []
    for seq in range(info.state.first_seq, info.state.last_seq + 1):
        raw = await bus.js.get_msg(bus.stream, seq)
        assert raw.data is not None and raw.subject is not None
        messages.append((raw.subject, raw.data, dict(raw.headers or {})))
    return messages


async def stream_messages(bus: EventBus) -> list[EventMessage]:
    """The events in the stream (revocations left out), in stream order."""
    events = f"{bus.prefix}.events."
    return [
        _decoder.decode(data)
        for subject, data, _ in await raw_messages(bus)
        if subject.startswith(events)
    ]


async def revocation_messages(bus: EventBus) -> list[Revocation]:
    revocations = f"{bus.prefix}.revocations."
    return [
        decode_revocation(data)
        for subject, data, _ in await raw_messages(bus)
        if subject.startswith(revocations)
    ]


async def wait_for_messages(bus: EventBus, count: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            info = await bus.js.stream_info(bus.stream)
            if info.state.messages >= count:
                return
        except (nats.errors.Error, TimeoutError):
            pass
        await asyncio.sleep(0.05)
    raise AssertionError(f"JetStream did not reach {count} messages in {timeout}s")


def event_ids(messages: list[EventMessage]) -> list[UUID]:
    return [m.event_id for m in messages]
