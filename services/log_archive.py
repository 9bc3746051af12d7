"""`keyledger log archive`: old partitions of the log exported whole, checked, then dropped.

One partition at a time, oldest first, in one transaction each: the partition is locked
against new rows, its events written to `<dir>/<partition>.ndjson.gz` (schemas/archive.py)
with the signed checkpoints that seal them, the file read back and checked against the
database (count, every hash recomputed, a digest of positions and hashes), and only then is
the partition detached and dropped and a `log_range_archived` event appended. A failure at
any step leaves the partition in the database.
"""

from __future__ import annotations

import gzip
import hashlib
import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

import asyncpg
import msgspec

from domain.chain import LoggedEvent, hash_of
from infra.postgres import Connection, archive, partitions
from infra.postgres.event_store import NEW_STREAM, EventStore, StreamAppend
from infra.postgres.partitions import Partition
from schemas.archive import ArchivedEvent, ArchiveHeader
from schemas.envelope import Metadata
from schemas.events import LogRangeArchived
from services.commands import new_events, utcnow

__all__ = [
    "ArchiveFormatError",
    "ArchiveReport",
    "Archived",
    "PositionDigest",
    "archive_before",
    "logged",
    "read_archive",
]

_METADATA: Final = Metadata(actor="admin", actor_id="cli")
_COMPRESSION: Final = 6
_header_decoder = msgspec.json.Decoder(ArchiveHeader)
_event_decoder = msgspec.json.Decoder(ArchivedEvent)
_metadata_decoder = msgspec.json.Decoder(Metadata)
_encoder = msgspec.json.Encoder()


class ArchiveFormatError(Exception):
    """A file that is not a readable keyledger archive."""


class Archived(msgspec.Struct, frozen=True, kw_only=True):
    partition: str
    lower: int
    upper: int
    events: int
    file: str
    digest: str


class ArchiveReport(msgspec.Struct, kw_only=True):
    archived: list[Archived] = msgspec.field(default_factory=list)
    # Why the next partition stayed, if one did (None when every partition before the
    # cutoff is gone).
    stopped: str | None = None


class PositionDigest:
    """SHA-256 over each event's position and hash, in log order: what file and database
    must agree on."""

    def __init__(self) -> None:
        self._sha = hashlib.sha256()
        self.count = 0

    def add(self, position: int, event_hash: bytes) -> None:
        self._sha.update(position.to_bytes(8, "big") + event_hash)
        self.count += 1

    def hexdigest(self) -> str:
        return self._sha.hexdigest()


def logged(event: ArchivedEvent) -> LoggedEvent:
    return LoggedEvent(
        global_position=event.global_position,
        stream_id=event.stream_id,
        stream_version=event.stream_version,
        event_id=event.event_id,
        event_type=event.event_type,
        schema_version=event.schema_version,
        occurred_at=event.occurred_at,
        metadata=_metadata_decoder.decode(event.metadata),
        data=event.data,
        prev_hash=event.prev_hash,
        hash=event.hash,
    )


def read_archive(path: Path) -> tuple[ArchiveHeader, Iterator[tuple[int, ArchivedEvent]]]:
    """The header, and the events with their line numbers (the header is line 1)."""
    handle = gzip.open(path, "rb")  # noqa: SIM115 - closed by the generator
    try:
        header = _header_decoder.decode(handle.readline())
    except (OSError, EOFError, msgspec.MsgspecError) as error:
        handle.close()
        raise ArchiveFormatError(f"{path}: not a keyledger archive ({error})") from None

    def events() -> Iterator[tuple[int, ArchivedEvent]]:
        with handle:
            for number, line in enumerate(handle, start=2):
                try:
                    yield number, _event_decoder.decode(line)
                except msgspec.MsgspecError as error:
                    raise ArchiveFormatError(f"{path} line {number}: {error}") from None

    return header, events()


async def archive_before(
    pool: asyncpg.Pool, store: EventStore, before: datetime, directory: Path
) -> ArchiveReport:
    """Archive, oldest first, every partition whose events all occurred before `before`."""
    report = ArchiveReport()
    directory.mkdir(parents=True, exist_ok=True)
    async with pool.acquire() as conn:
        chosen, report.stopped = await _eligible(conn, before)
        for partition in chosen:
            done = await _archive_one(conn, store, partition, before, directory)
            if isinstance(done, str):
                report.stopped = done
                break
            report.archived.append(done)
    return report


async def _eligible(conn: Connection, before: datetime) -> tuple[list[Partition], str | None]:
    """The oldest partitions that may leave, and why the one after them may not."""
    newest = await archive.sequence_position(conn)
    chosen: list[Partition] = []
    stopped: str | None = None
    for partition in await partitions.list_partitions(conn):
        if partition.upper - 1 > newest:
            stopped = f"{partition.name} is still being filled"
            break
        last = await archive.newest_event(conn, partition)
        if last is not None and last >= before:
            stopped = f"{partition.name} holds events from {last.isoformat()}"
            break
        waiting = await archive.behind(conn, partition)
        if waiting:
            stopped = f"{partition.name} is not yet read by {', '.join(waiting)}"
            break
        chosen.append(partition)
    # A stream must stay whole on one side: drop from the end until none goes on past it.
    while chosen:
        upper = chosen[-1].upper
        for index, partition in enumerate(chosen):
            ongoing = await archive.ongoing_streams(conn, partition, upper)
            if ongoing:
                stopped = f"{partition.name} holds streams that go on later: {', '.join(ongoing)}"
                chosen = chosen[:index]
                break
        else:
            break
    return chosen, stopped


async def _archive_one(
    conn: Connection,
    store: EventStore,
    partition: Partition,
    before: datetime,
    directory: Path,
) -> Archived | str:
    final = directory / f"{partition.name}.ndjson.gz"
    partial = final.with_suffix(".partial")
    async with conn.transaction():
        await archive.lock_rows(conn, partition)
        # Appends that were under way when the lock was taken have ended: look again.
        waiting = await archive.behind(conn, partition)
        if waiting:
            return f"{partition.name} is not yet read by {', '.join(waiting)}"
        in_database = PositionDigest()
        async for row in archive.rows(conn, partition):
            in_database.add(row["global_position"], row["hash"])
        seals = await archive.seals(conn, partition)
        header = ArchiveHeader(
            partition=partition.name,
            lower=partition.lower,
            upper=partition.upper,
            events=in_database.count,
            digest=in_database.hexdigest(),
            before=before.astimezone(UTC),
            archived_at=utcnow(),
            checkpoints=tuple(seals),
        )
        await _write(conn, partition, header, partial)
        problem = _check_file(partial, header)
        if problem is not None:
            partial.unlink()
            raise ArchiveFormatError(f"{partial}: {problem}; {partition.name} kept")
        partial.replace(final)
        _sync_directory(directory)
        await archive.detach_and_drop(conn, partition)
        recorded = LogRangeArchived(
            partition=partition.name,
            lower=partition.lower,
            upper=partition.upper,
            events=header.events,
            digest=header.digest,
            archive=final.name,
            before=header.before,
        )
        stream = f"log-{partition.name}"
        appended = new_events([recorded], _METADATA, utcnow())
        await store.append_all([StreamAppend(stream, NEW_STREAM, appended)], conn=conn)
    store.committed()
    return Archived(
        partition=partition.name,
        lower=partition.lower,
        upper=partition.upper,
        events=header.events,
        file=str(final),
        digest=header.digest,
    )


async def _write(conn: Connection, partition: Partition, header: ArchiveHeader, path: Path) -> None:
    with gzip.open(path, "wb", compresslevel=_COMPRESSION) as out:
        out.write(_encoder.encode(header) + b"\n")
        async for row in archive.rows(conn, partition):
            event = ArchivedEvent(
                global_position=row["global_position"],
                tx_id=row["tx_id"],
                stream_id=row["stream_id"],
                stream_version=row["stream_version"],
                event_id=row["event_id"],
                event_type=row["event_type"],
                schema_version=row["schema_version"],
                occurred_at=row["occurred_at"],
                metadata=msgspec.Raw(row["metadata"].encode()),
                data=row["data"],
                prev_hash=row["prev_hash"],
                hash=row["hash"],
            )
            out.write(_encoder.encode(event) + b"\n")
        out.flush()
        os.fsync(out.fileno())


def _check_file(path: Path, expected: ArchiveHeader) -> str | None:
    """Read the written file back: the database's count and digest, every hash recomputed."""
    header, events = read_archive(path)
    if header != expected:
        return "its header is not the one written"
    in_file = PositionDigest()
    for number, event in events:
        if hash_of(logged(event)) != event.hash:
            return f"line {number} does not hash to its stored hash"
        in_file.add(event.global_position, event.hash)
    if (in_file.count, in_file.hexdigest()) != (expected.events, expected.digest):
        return f"{in_file.count} events read back, {expected.events} in the database"
    return None


def _sync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
