"""The one place a command becomes appended events: read, fold, decide, append, retry."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TypeVar

from domain.decider import Decider, fold
from infra.postgres.batching import GroupCommit
from infra.postgres.event_store import (
    NEW_STREAM,
    ConcurrencyError,
    EventStore,
    StreamAppend,
    StreamHead,
)
from schemas.envelope import Metadata, NewEvent
from schemas.events import Event

__all__ = [
    "ATTEMPTS",
    "append_to_new_stream",
    "execute",
    "load",
    "new_events",
    "ordered_id",
    "random_id",
    "utcnow",
]

C = TypeVar("C")
E = TypeVar("E", bound=Event)
S = TypeVar("S")

# Re-deciding is safe (decide is pure); contention on one stream settles within a few rounds.
ATTEMPTS = 8


def utcnow() -> datetime:
    return datetime.now(UTC)


def random_id() -> str:
    """128 random bits as 32 hex digits: a token id or stream name (a fifth of uuid4's cost)."""
    return os.urandom(16).hex()


def ordered_id() -> str:
    """32 hex digits: the milliseconds since the epoch (48 bits), then 80 random bits.

    For the ids made on every request (token families, jti, sign-in attempt streams): ids
    made one after another sort together, so the B-trees that index them grow at their right
    edge, where PostgreSQL inserts without descending from the root. A random key lands on a
    page anywhere in its index: once the index outgrows shared buffers, on a page to read in
    and, later, to write out.
    """
    return f"{time.time_ns() // 1_000_000:012x}{os.urandom(10).hex()}"


def new_events(events: Sequence[Event], metadata: Metadata, now: datetime) -> list[NewEvent]:
    return [
        NewEvent(event=event, event_id=uuid.uuid4(), occurred_at=now, metadata=metadata)
        for event in events
    ]


async def append_to_new_stream(
    group: GroupCommit,
    stream_type: str,
    events: Sequence[Event],
    metadata: Metadata,
    now: datetime | None = None,
) -> None:
    """Append to a fresh `<stream_type>-<random id>` stream. A new stream cannot conflict, so
    the append joins the group commit with whatever else is being appended."""
    stream = f"{stream_type}-{ordered_id()}"
    appended = new_events(events, metadata, now or utcnow())
    await group.append([StreamAppend(stream, NEW_STREAM, appended)])


async def load(
    store: EventStore, decider: Decider[C, E, S], stream_id: str
) -> tuple[S, StreamHead]:
    """A stream's current state and head, folded from its history."""
    history, head = await store.read_stream(stream_id)
    return fold(decider, [recorded.event for recorded in history]), head  # type: ignore[misc]


async def execute(
    store: EventStore,
    decider: Decider[C, E, S],
    stream_id: str,
    command: C,
    metadata: Metadata,
) -> Sequence[E]:
    """Decide `command` against the stream and append what it decided; returns those events."""
    for _ in range(ATTEMPTS):
        state, head = await load(store, decider, stream_id)
        events = decider.decide(command, state)
        if not events:
            return events
        try:
            await store.append(stream_id, head, new_events(events, metadata, utcnow()))
        except ConcurrencyError:
            continue
        return events
    raise ConcurrencyError([stream_id])
