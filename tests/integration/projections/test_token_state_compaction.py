"""Token state compaction drops the rows of families that are over, and only those."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import asyncpg

from infra.postgres.event_store import EventStore
from services.retention import compact_token_state

NOW = datetime.now(UTC)
_ROW = """
INSERT INTO token_state (token_digest, kind, family_id, client_id, scopes, grant_type,
                         issued_at, expires_at)
VALUES ($1, $2, $3, 'compaction-client', '{read}', 'refresh_token',
        $4::timestamptz - interval '1 hour', $4)
"""


async def test_only_families_over_for_longer_than_the_retention_lose_their_rows(
    pool: asyncpg.Pool, store: EventStore
) -> None:
    old, recent = NOW - timedelta(days=45), NOW - timedelta(days=5)
    rows = [
        ("over-access", "access", "fam-over", old),
        ("over-refresh", "refresh", "fam-over", old + timedelta(days=2)),
        # Its first access token expired long ago, but the family lives on: all rows stay.
        ("live-access", "access", "fam-live", old),
        ("live-refresh", "refresh", "fam-live", NOW + timedelta(days=20)),
        # Over, but within the retention: kept.
        ("recent-access", "access", "fam-recent", recent),
    ]
    async with pool.acquire() as conn:
        await conn.executemany(_ROW, rows)

    report = await compact_token_state(pool, store, retention_days=30, now=NOW)

    async with pool.acquire() as conn:
        left = {
            r[0]
            for r in await conn.fetch(
                "SELECT token_digest FROM token_state WHERE client_id = 'compaction-client'"
            )
        }
        recorded = await conn.fetchval(
            "SELECT count(*) FROM events WHERE event_type = 'token_state_compacted'"
            " AND convert_from(data, 'UTF8') LIKE '%\"rows\":2%'"
        )
    assert report.rows == 2
    assert left == {"live-access", "live-refresh", "recent-access"}
    assert recorded >= 1
