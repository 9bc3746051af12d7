"""The PostgreSQL event store: optimistic appends with a hash chain, and gap-free log following."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import Any, Final, NamedTuple, Protocol
from uuid import UUID

import asyncpg
import msgspec

from infra.postgres import Connection
from infra.postgres.bulk import BulkForms, json_rows, run_statements
from infra.postgres.one_statement import OneStatement
from infra.postgres.partitions import DEFAULT_SIZE, add_partitions, is_missing_partition
from schemas.canonical import GENESIS_HASH, event_hash
from schemas.envelope import Metadata, NewEvent, RecordedEvent
from schemas.events import decode_event, encode_event, event_type_of

__all__ = [
    "NEW_STREAM",
    "START",
    "Checkpoint",
    "ConcurrencyError",
    "EventStore",
    "InlineProjector",
    "StoredEvent",
    "StreamAppend",
    "StreamHead",
    "Wake",
    "read_after",
    "read_after_follower",
]

# SQLSTATE raised by the chain trigger when a row does not extend its stream's head; a
# stream started twice fails instead on the key of its head row (migration 0010).
_HEAD_MISMATCH: Final = "KL409"
_HEAD_TAKEN: Final = ("23505", "stream_heads_pkey")


class ConcurrencyError(Exception):
    """The stream moved on since it was read: re-read, re-decide, retry."""

    def __init__(self, stream_ids: Iterable[str]) -> None:
        self.stream_ids = tuple(stream_ids)
        super().__init__(f"concurrent append to {', '.join(self.stream_ids)}")


class StreamHead(NamedTuple):
    """Where a stream stands: its last version and that event's hash (the next prev_hash)."""

    version: int
    hash: bytes


NEW_STREAM: Final = StreamHead(0, GENESIS_HASH)


class Checkpoint(NamedTuple):
    """A follower's place in the log; the log is read in (tx_id, global_position) order."""

    tx_id: int
    global_position: int


START: Final = Checkpoint(0, 0)


class StreamAppend(NamedTuple):
    stream_id: str
    expected: StreamHead
    events: Sequence[NewEvent]


class StoredEvent(msgspec.Struct, frozen=True):
    """A raw row as followers read it: payload bytes untouched, decoded only on demand."""

    global_position: int
    tx_id: int
    stream_id: str
    stream_version: int
    event_id: UUID
    event_type: str
    schema_version: int
    occurred_at: datetime
    data: bytes
    metadata: str
    hash: bytes

    @property
    def checkpoint(self) -> Checkpoint:
        return Checkpoint(self.tx_id, self.global_position)

    def decode(self) -> RecordedEvent:
        return RecordedEvent(
            global_position=self.global_position,
            tx_id=self.tx_id,
            stream_id=self.stream_id,
            stream_version=self.stream_version,
            event_id=self.event_id,
            event_type=self.event_type,
            schema_version=self.schema_version,
            occurred_at=self.occurred_at,
            event=decode_event(self.event_type, self.schema_version, self.data),
            metadata=_metadata_decoder.decode(self.metadata),
            hash=self.hash,
        )


# Statements an inline projection wants run in the append's transaction: (sql, args) pairs.
# They are computed before the insert, so they see global_position and tx_id as 0: inline
# state never depends on them.
InlineProjector = Callable[[Sequence[RecordedEvent]], Iterable[tuple[str, Sequence[Any]]]]

_metadata_decoder = msgspec.json.Decoder(Metadata)

_INSERT = """
INSERT INTO events (stream_id, stream_version, event_id, event_type, schema_version,
                    data, metadata, occurred_at, prev_hash, hash)
SELECT v->>0, (v->>1)::int4, (v->>2)::uuid, v->>3, (v->>4)::int2, decode(v->>5, 'base64'),
       v->6, (v->>7)::timestamptz, decode(v->>8, 'base64'), decode(v->>9, 'base64')
FROM jsonb_array_elements($1::jsonb) WITH ORDINALITY AS r(v, n)
ORDER BY n
"""

_COLUMNS = """global_position, tx_id, stream_id, stream_version, event_id, event_type,
              schema_version, occurred_at, data, metadata::text, hash"""

# Only the partitions that can hold the stream are read: its type's, from its first position.
_READ_STREAM = f"""
SELECT {_COLUMNS} FROM events
WHERE stream_id = $1
  AND split_part(stream_id, '-', 1) = split_part($1, '-', 1)
  AND global_position >= (SELECT first_position FROM stream_heads WHERE stream_id = $1)
ORDER BY stream_version
"""

# Only transactions older than every running one are read: a transaction that holds a
# lower position and commits late is waited for, never skipped (DESIGN.md, the event store).
_READ_AFTER = f"""
SELECT {_COLUMNS} FROM events
WHERE (tx_id, global_position) > ($1::xid8, $2::bigint)
  AND tx_id < pg_snapshot_xmin(pg_current_snapshot())
ORDER BY tx_id, global_position
LIMIT $3
"""

# The same, after the checkpoint a follower has stored under its name: one round trip.
_READ_AFTER_FOLLOWER = f"""
SELECT {_COLUMNS} FROM events
WHERE (tx_id, global_position) > (
        coalesce((SELECT tx_id FROM checkpoints WHERE name = $1), '0'::xid8),
        coalesce((SELECT global_position FROM checkpoints WHERE name = $1), 0))
  AND tx_id < pg_snapshot_xmin(pg_current_snapshot())
ORDER BY tx_id, global_position
LIMIT $2
"""


# The same for a follower that reads only some event types: the others come without their
# payload (empty data and metadata), which spares reading and converting what it skips.
_READ_AFTER_FOLLOWER_OF = _READ_AFTER_FOLLOWER.replace(
    "data, metadata::text, hash",
    """CASE WHEN event_type = ANY($3::text[]) THEN data ELSE '\\x'::bytea END,
       CASE WHEN event_type = ANY($3::text[]) THEN metadata::text ELSE '{}' END,
       hash""",
)


class _Rows:
    """The rows of one multi-row insert, with each stream's chain hashed in order."""

    def __init__(self) -> None:
        self.rows: list[tuple[Any, ...]] = []
        # The rows as events for the inline projections, which never depend on positions
        # (DECISIONS 11): they are not known before the insert, so they read 0.
        self.recorded: list[RecordedEvent] = []

    def add(self, append: StreamAppend) -> StreamHead:
        version, prev_hash = append.expected
        for new in append.events:
            version += 1
            event_type = event_type_of(new.event)
            schema_version = type(new.event).schema_version
            data = encode_event(new.event)
            occurred_at = new.occurred_at.astimezone(UTC)
            digest = event_hash(
                prev_hash,
                stream_id=append.stream_id,
                stream_version=version,
                event_id=new.event_id,
                event_type=event_type,
                schema_version=schema_version,
                occurred_at=occurred_at,
                metadata=new.metadata,
                data=data,
            )
            # Bytes go as base64 and the metadata as a nested object (see _INSERT).
            self.rows.append(
                (
                    append.stream_id,
                    version,
                    new.event_id,
                    event_type,
                    schema_version,
                    data,
                    new.metadata,
                    occurred_at,
                    prev_hash,
                    digest,
                )
            )
            self.recorded.append(
                RecordedEvent(
                    global_position=0,
                    tx_id=0,
                    stream_id=append.stream_id,
                    stream_version=version,
                    event_id=new.event_id,
                    event_type=event_type,
                    schema_version=schema_version,
                    occurred_at=occurred_at,
                    event=new.event,
                    metadata=new.metadata,
                    hash=digest,
                )
            )
            prev_hash = digest
        return StreamHead(version, prev_hash)


class Wake(Protocol):
    """How appends wake the log followers (infra.postgres.notify.Notifier)."""

    def carry(self, urgent: bool = False) -> bool:
        """Whether the commit about to be sent carries a NOTIFY in its own statement."""
        ...

    def poke(self, urgent: bool = False) -> None:
        """A commit that carried no NOTIFY is done."""
        ...


class EventStore:
    """Appends and reads events. The only code that writes the `events` table."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        *,
        inline: InlineProjector | None = None,
        bulk: BulkForms | None = None,
        wake: Wake | None = None,
        urgent: frozenset[str] = frozenset(),
        partition_size: int = DEFAULT_SIZE,
    ) -> None:
        self._pool = pool
        self._partition_size = partition_size
        self._inline = inline
        self._bulk = bulk or {}
        self._one = OneStatement(_INSERT, self._bulk)
        # Wakes the log followers after each successful append, at once when the append holds
        # one of the `urgent` event types. Without it, every group commit carries a NOTIFY.
        self._wake = wake
        self._urgent = urgent

    async def append(
        self, stream_id: str, expected: StreamHead, events: Sequence[NewEvent]
    ) -> StreamHead:
        """Append to one stream if it is still at `expected`; raises ConcurrencyError if not."""
        (head,) = await self.append_all([StreamAppend(stream_id, expected, events)])
        return head

    async def append_all(
        self, appends: Sequence[StreamAppend], *, conn: Connection | None = None
    ) -> list[StreamHead]:
        """Append to several streams in one transaction: all or nothing.

        With `conn`, the append joins the caller's open transaction (to commit it together
        with other writes, such as uniqueness claims); it is then visible when that commits.
        """
        rows = _Rows()
        heads = [rows.add(append) for append in appends]
        if not rows.recorded:
            return heads
        for attempt in range(2):
            try:
                await self._append_rows(rows, conn)
                break
            except asyncpg.PostgresError as error:
                if _head_moved(error):
                    raise ConcurrencyError(a.stream_id for a in appends) from error
                if attempt or not is_missing_partition(error):
                    raise
                async with self._pool.acquire() as own:
                    await add_partitions(own, self._partition_size)
                if conn is not None:
                    # The caller's transaction is aborted: it re-reads and decides again.
                    raise ConcurrencyError(a.stream_id for a in appends) from error
        return heads

    async def _append_rows(self, rows: _Rows, conn: Connection | None) -> None:
        """Insert the rows; on a connection of its own, see the followers woken once they are
        committed (with `conn`, the caller calls `committed` after its commit)."""
        statements = list(self._inline(rows.recorded)) if self._inline else []
        if conn is not None:
            await self._insert(conn, rows, statements)
            return
        urgent = any(event.event_type in self._urgent for event in rows.recorded)
        one = self._one.split(statements)
        async with self._pool.acquire() as own:
            if one is None:
                async with own.transaction():
                    await self._insert(own, rows, statements)
            else:
                # A NOTIFY the statement carries wakes the followers as it commits, with no
                # round trip of its own (DECISIONS 5); without a notifier, every one carries it.
                writes, params = one
                carried = self._wake is None or self._wake.carry(urgent)
                sql = self._one.text(writes, wake=carried)
                await own.execute(sql, json_rows(rows.rows), *params)
                if carried:
                    return
        self.committed(urgent=urgent)

    def committed(self, *, urgent: bool = False) -> None:
        """Wake the log followers; callers that passed their own `conn` call it after commit."""
        if self._wake is not None:
            self._wake.poke(urgent)

    async def _insert(
        self, conn: Connection, rows: _Rows, statements: list[tuple[str, Sequence[Any]]]
    ) -> None:
        await conn.execute(_INSERT, json_rows(rows.rows))
        await run_statements(conn, statements, self._bulk)

    async def read_stream(self, stream_id: str) -> tuple[list[RecordedEvent], StreamHead]:
        async with self._pool.acquire() as conn:
            rows = await conn.fetch(_READ_STREAM, stream_id)
        events = [_stored(row).decode() for row in rows]
        head = StreamHead(events[-1].stream_version, events[-1].hash) if events else NEW_STREAM
        return events, head


def _head_moved(error: asyncpg.PostgresError) -> bool:
    """The append found its stream elsewhere than it expected: moved on, or just started."""
    if error.sqlstate == _HEAD_MISMATCH:
        return True
    return (error.sqlstate, error.constraint_name) == _HEAD_TAKEN


async def read_after(conn: Connection, checkpoint: Checkpoint, limit: int) -> list[StoredEvent]:
    """The next committed events after `checkpoint`, in log order, never skipping one."""
    rows = await conn.fetch(_READ_AFTER, checkpoint.tx_id, checkpoint.global_position, limit)
    return [_stored(row) for row in rows]


async def read_after_follower(
    conn: Connection, name: str, limit: int, *, types: frozenset[str] | None = None
) -> list[StoredEvent]:
    """`read_after` the checkpoint stored as `name` (START if none), read in the same query.

    With `types`, events of other types are still returned (the checkpoint moves past them)
    but without their payload: only their place in the log and their type are to be read.
    """
    if types is None:
        rows = await conn.fetch(_READ_AFTER_FOLLOWER, name, limit)
    else:
        rows = await conn.fetch(_READ_AFTER_FOLLOWER_OF, name, limit, sorted(types))
    return [_stored(row) for row in rows]


def _stored(row: asyncpg.Record) -> StoredEvent:
    return StoredEvent(*row.values())
