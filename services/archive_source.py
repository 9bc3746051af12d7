"""Archive files as part of the log for `audit verify --archive`: loaded into a temporary
table of the verifying session and read together with the live log through one view, so the
same two passes prove the whole chain from genesis (DECISIONS.md 29).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Final

from infra.postgres import Connection
from schemas.archive import ArchivedEvent
from services.log_archive import ArchiveFormatError, PositionDigest, read_archive

__all__ = ["DROP", "LIVE", "UNION", "ArchiveFormatError", "archive_files", "load_archives", "where"]

LIVE: Final = "events"
UNION: Final = "logged_events"

_CREATE: Final = """
CREATE TEMP TABLE archived_events (
    global_position bigint, tx_id bigint, stream_id text, stream_version integer,
    event_id uuid, event_type text, schema_version smallint, occurred_at timestamptz,
    metadata jsonb, data bytea, prev_hash bytea, hash bytea, source text, line integer
) ON COMMIT PRESERVE ROWS;
CREATE TEMP VIEW logged_events AS
SELECT global_position, tx_id, stream_id, stream_version, event_id, event_type,
       schema_version, occurred_at, metadata, data, prev_hash, hash FROM events
UNION ALL
SELECT global_position, tx_id::text::xid8, stream_id, stream_version, event_id, event_type,
       schema_version, occurred_at, metadata, data, prev_hash, hash FROM archived_events;
"""
DROP: Final = "DROP VIEW IF EXISTS logged_events; DROP TABLE IF EXISTS archived_events"
_COLUMNS: Final = (
    "global_position", "tx_id", "stream_id", "stream_version", "event_id", "event_type",
    "schema_version", "occurred_at", "metadata", "data", "prev_hash", "hash", "source", "line",
)  # fmt: skip


def archive_files(paths: Sequence[str]) -> list[Path]:
    """Files named, and the `*.ndjson.gz` files of directories named."""
    found: list[Path] = []
    for name in paths:
        path = Path(name).expanduser()
        if path.is_dir():
            found.extend(sorted(path.glob("*.ndjson.gz")))
        elif path.is_file():
            found.append(path)
        else:
            raise ArchiveFormatError(f"{name}: no such archive file or directory")
    return found


def _records(
    path: Path, problems: list[str], partitions: list[str]
) -> Iterator[tuple[object, ...]]:
    header, events = read_archive(path)
    partitions.append(header.partition)
    digest = PositionDigest()
    for number, event in events:
        digest.add(event.global_position, event.hash)
        yield _record(event, path.name, number)
    if (digest.count, digest.hexdigest()) != (header.events, header.digest):
        problems.append(
            f"{path.name}: its {digest.count} events do not match its header"
            f" ({header.events} events, digest {header.digest[:16]}...)"
        )


def _record(event: ArchivedEvent, source: str, line: int) -> tuple[object, ...]:
    return (
        event.global_position, event.tx_id, event.stream_id, event.stream_version,
        event.event_id, event.event_type, event.schema_version, event.occurred_at,
        bytes(event.metadata).decode(), event.data, event.prev_hash, event.hash, source, line,
    )  # fmt: skip


async def load_archives(conn: Connection, paths: Sequence[Path]) -> tuple[list[str], list[str]]:
    """Load the archives into this session's `archived_events`; returns the problems found in
    the files themselves and the partitions they hold."""
    await conn.execute(_CREATE)
    problems: list[str] = []
    partitions: list[str] = []
    for path in paths:
        await conn.copy_records_to_table(
            "archived_events", records=_records(path, problems, partitions), columns=_COLUMNS
        )
    return problems, partitions


async def where(conn: Connection, position: int) -> str | None:
    """Which archive file and line hold the event at `position`, if an archive does."""
    row = await conn.fetchrow(
        "SELECT source, line FROM archived_events WHERE global_position = $1 LIMIT 1", position
    )
    return None if row is None else f"{row[0]} line {row[1]}"
