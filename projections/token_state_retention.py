"""Compaction of token state: the rows of token families that are over.

A family is over once none of its tokens expires after the cutoff: each of its rows then
answers introspection and refresh exactly as a missing row does (inactive, invalid_grant),
so dropping them changes no answer. A live family keeps every row, its oldest included: the
next refresh copies its grant from the latest access token. Rows go in batches, each its own
short transaction, so no long transaction holds back the log's followers (DECISIONS 4) and
no lock is held on live rows.
"""

from __future__ import annotations

from datetime import datetime
from typing import Final

from projections.audit_trail_queries import Connection

__all__ = ["BATCH", "compact"]

BATCH: Final = 10_000

_COMPACT: Final = """
DELETE FROM token_state WHERE ctid = ANY(ARRAY(
    SELECT t.ctid FROM token_state t
    WHERE t.expires_at < $1
      AND NOT EXISTS (SELECT 1 FROM token_state o
                      WHERE o.family_id = t.family_id AND o.expires_at >= $1)
    LIMIT $2))
"""


async def compact(conn: Connection, cutoff: datetime, batch: int = BATCH) -> int:
    """Drop the rows of families whose every token expired before `cutoff`; how many."""
    total = 0
    while True:
        status = await conn.execute(_COMPACT, cutoff, batch)
        deleted = int(status.rsplit(" ", 1)[1])
        total += deleted
        if deleted < batch:
            return total
