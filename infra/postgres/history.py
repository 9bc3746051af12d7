"""Reading chosen streams' history up to an instant, for questions about the past."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Final

from domain.holdings import Logged
from infra.postgres import Connection
from schemas.events import decode_event

__all__ = ["read_streams_until"]

# One index probe per stream on (stream_id, stream_version); nothing else is read.
_READ: Final = """
SELECT stream_id, occurred_at, event_type, schema_version, data FROM events
WHERE stream_id = ANY($1::text[]) AND occurred_at <= $2
ORDER BY stream_id, stream_version
"""


async def read_streams_until(
    conn: Connection, stream_ids: Collection[str], until: datetime
) -> list[Logged]:
    """Every event of `stream_ids` that occurred at or before `until`, each stream in order."""
    if not stream_ids:
        return []
    rows = await conn.fetch(_READ, list(stream_ids), until)
    return [
        Logged(
            row["stream_id"],
            row["occurred_at"],
            decode_event(row["event_type"], row["schema_version"], row["data"]),
        )
        for row in rows
    ]
