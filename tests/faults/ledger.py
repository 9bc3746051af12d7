"""What the log and the stream hold after a fault, and what they should.

Acknowledged writes: every 200 a client received names an access token whose
`access_token_issued` event is in the log (matched by the token's SHA-256 digest).
Publication: every logged event is in JetStream exactly once, under its own
`Nats-Msg-Id`, in log order.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from uuid import UUID

import asyncpg
import msgspec
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from infra.nats_bus import EventBus
from schemas.messages import EventMessage
from schemas.revocations import revocation_msg_id
from services.relay import RELAY_CHECKPOINT
from tests.faults.load import Answer

__all__ = [
    "Publication",
    "log_event_ids",
    "logged_token_digests",
    "lost_writes",
    "publication",
    "wait_until_followed",
    "wait_until_published",
]

_decoder = msgspec.json.Decoder(EventMessage)


async def logged_token_digests(pool: asyncpg.Pool) -> set[str]:
    """The digest of every access token the log records as issued."""
    async with pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT convert_from(data, 'UTF8')::jsonb ->> 'token_digest' FROM events"
            " WHERE event_type = 'access_token_issued'"
        )
    return {row[0] for row in rows if row[0] is not None}


def lost_writes(acknowledged: Sequence[Answer], logged: set[str]) -> list[Answer]:
    """The 200s whose token the log does not hold (a 200 without a token counts too)."""
    return [answer for answer in acknowledged if answer.digest not in logged]


async def log_event_ids(pool: asyncpg.Pool) -> list[UUID]:
    """Every event id in the order followers read the log."""
    async with pool.acquire() as conn:
        rows = await conn.fetch("SELECT event_id FROM events ORDER BY tx_id, global_position")
    return [row[0] for row in rows]


@dataclass(frozen=True)
class Publication:
    """The stream's messages against the log."""

    logged: int
    published: int
    missing: int  # logged, never published
    duplicated: int  # published more than once
    unknown: int  # published, not in the log
    msg_id_mismatches: int  # Nats-Msg-Id other than the event id
    in_log_order: bool
    revocations: int  # revocation messages, each after the event that caused it
    revocations_duplicated: int
    revocations_unknown: int  # not named after a logged event

    @property
    def exactly_once(self) -> bool:
        faults = (self.missing, self.duplicated, self.unknown, self.msg_id_mismatches)
        revocation_faults = (self.revocations_duplicated, self.revocations_unknown)
        return faults == (0, 0, 0, 0) and revocation_faults == (0, 0) and self.in_log_order


@dataclass
class _Stream:
    events: list[tuple[UUID, str | None]] = field(default_factory=list)  # (event id, Msg-Id)
    revocation_msg_ids: list[str | None] = field(default_factory=list)


async def _read_stream(bus: EventBus) -> _Stream:
    """Every message in the stream, in stream order, through an ephemeral pull consumer."""
    total = (await bus.js.stream_info(bus.stream)).state.messages
    config = ConsumerConfig(deliver_policy=DeliverPolicy.ALL, ack_policy=AckPolicy.NONE)
    subscription = await bus.js.pull_subscribe(f"{bus.prefix}.>", stream=bus.stream, config=config)
    events_prefix = f"{bus.prefix}.events."
    stream, seen = _Stream(), 0
    try:
        while seen < total:
            for message in await subscription.fetch(min(1000, total - seen), timeout=10):
                seen += 1
                msg_id = (message.headers or {}).get("Nats-Msg-Id")
                if message.subject.startswith(events_prefix):
                    stream.events.append((_decoder.decode(message.data).event_id, msg_id))
                else:
                    stream.revocation_msg_ids.append(msg_id)
    finally:
        await subscription.unsubscribe()
    return stream


async def publication(bus: EventBus, pool: asyncpg.Pool) -> Publication:
    logged = await log_event_ids(pool)
    stream = await _read_stream(bus)
    counts = Counter(event_id for event_id, _ in stream.events)
    in_log = set(logged)
    once = [event_id for event_id, _ in stream.events if counts[event_id] == 1]
    revocations = Counter(stream.revocation_msg_ids)
    named_after_logged = {revocation_msg_id(event_id) for event_id in logged}
    return Publication(
        logged=len(logged),
        published=len(stream.events),
        missing=len(in_log - counts.keys()),
        duplicated=sum(count - 1 for count in counts.values()),
        unknown=len(counts.keys() - in_log),
        msg_id_mismatches=sum(1 for event_id, msg_id in stream.events if msg_id != str(event_id)),
        in_log_order=once == [event_id for event_id in logged if counts[event_id] == 1],
        revocations=len(stream.revocation_msg_ids),
        revocations_duplicated=sum(count - 1 for count in revocations.values()),
        revocations_unknown=sum(1 for m in revocations if m not in named_after_logged),
    )


async def wait_until_followed(
    pool: asyncpg.Pool, follower: str, timeout: float, settle: float = 0.0
) -> None:
    """Wait until `follower`'s checkpoint is the log's last event (for the relay: everything
    acknowledged by JetStream), then `settle` seconds more (a duplicate would arrive by then)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        async with pool.acquire() as conn:
            done = await conn.fetchval(_FOLLOWED, follower)
        if done:
            await asyncio.sleep(settle)
            return
        await asyncio.sleep(0.1)
    async with pool.acquire() as conn:
        where = await conn.fetchrow(_WHERE, follower)
        open_transactions = await conn.fetch(_OPEN_TRANSACTIONS)
    raise AssertionError(
        f"{follower} did not reach the end of the log in {timeout}s: {dict(where or {})},"
        f" transactions holding the horizon back: {[dict(row) for row in open_transactions]}"
    )


_WHERE = """
SELECT c.tx_id::text AS checkpoint_tx, c.global_position AS checkpoint_position,
       (SELECT count(*) FROM events e
        WHERE (e.tx_id, e.global_position) > (c.tx_id, c.global_position)) AS events_after,
       (SELECT max(tx_id)::text FROM events) AS last_tx,
       pg_snapshot_xmin(pg_current_snapshot())::text AS horizon
FROM checkpoints c WHERE c.name = $1
"""
_OPEN_TRANSACTIONS = """
SELECT pid, datname, application_name, state, backend_xid::text, backend_xmin::text,
       now() - xact_start AS open_for, left(query, 120) AS query
FROM pg_stat_activity WHERE backend_xid IS NOT NULL OR backend_xmin IS NOT NULL
"""


async def wait_until_published(pool: asyncpg.Pool, timeout: float) -> None:
    await wait_until_followed(pool, RELAY_CHECKPOINT, timeout, settle=0.5)


_FOLLOWED = """
SELECT (c.tx_id, c.global_position) = (e.tx_id, e.global_position)
FROM checkpoints c,
     (SELECT tx_id, global_position FROM events ORDER BY tx_id DESC, global_position DESC
      LIMIT 1) e
WHERE c.name = $1
"""
