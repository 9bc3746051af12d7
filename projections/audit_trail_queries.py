"""Read queries over the audit_trail projection: pages, exports, grant streams, hourly counts.

Pages go newest first by `seq`, the order the projector recorded rows in: a row that lands
after a page was read always gets a higher `seq`, so paging down with `seq < cursor` never
skips or repeats one (a late commit can give it a lower global_position).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final, TypeAlias

import asyncpg
from asyncpg.pool import PoolConnectionProxy

__all__ = [
    "COLUMNS",
    "RowFilter",
    "count",
    "export_rows",
    "grant_streams",
    "hourly",
    "page",
    "prune",
    "recent",
    "snapshot",
]

# Projections sit beside infra, not on it: the same alias as infra.postgres.Connection.
Connection: TypeAlias = "asyncpg.Connection[asyncpg.Record] | PoolConnectionProxy[asyncpg.Record]"

COLUMNS: Final = """global_position, event_id, occurred_at, stream_id, action, outcome, reason,
    actor, actor_id, subject_user, workspace_id, client_id, resource, ip, user_agent,
    request_id, correlation_id, hash"""
# Rows fetched per round trip while an export streams.
_PREFETCH: Final = 1000


@asynccontextmanager
async def snapshot(conn: Connection, workspace: str | None = None) -> AsyncIterator[None]:
    """A read-only snapshot whose queries are planned for their own values.

    Filters differ wildly in selectivity (one user or a whole workspace, a rare action or a
    common one): the generic plan a prepared statement switches to after five runs can be a
    hundred times slower than the plan for the values at hand. With `workspace`, row-level
    security confines every query to that workspace's rows (infra/postgres/isolation.py).
    """
    async with conn.transaction(readonly=True, isolation="repeatable_read"):
        if workspace is None:
            await conn.execute("SET LOCAL plan_cache_mode = force_custom_plan")
        else:
            await conn.execute(_SNAPSHOT_IN_WORKSPACE, workspace)
        yield


_SNAPSHOT_IN_WORKSPACE: Final = """
SELECT set_config('plan_cache_mode', 'force_custom_plan', true),
       set_config('role', 'keyledger_workspace', true),
       set_config('keyledger.workspace_id', $1, true)
"""


@dataclass(frozen=True, slots=True)
class RowFilter:
    """Which rows: every field set must match (None: any)."""

    user: str | None = None
    client: str | None = None
    workspace: str | None = None
    action: str | None = None
    outcome: str | None = None
    ip: str | None = None
    since: datetime | None = None  # occurred_at >= since
    until: datetime | None = None  # occurred_at < until
    before_seq: int | None = None  # the page cursor: rows recorded before that one

    def where(self) -> tuple[str, list[object]]:
        """A WHERE clause over fixed column names, every value a parameter."""
        args: list[object] = []
        clauses: list[str] = []
        for condition, value in (
            ("subject_user = ${}", self.user),
            ("client_id = ${}", self.client),
            ("workspace_id = ${}", self.workspace),
            ("action = ${}", self.action),
            ("outcome = ${}", self.outcome),
            ("ip = ${}", self.ip),
            ("occurred_at >= ${}", self.since),
            ("occurred_at < ${}", self.until),
            ("seq < ${}", self.before_seq),
        ):
            if value is not None:
                args.append(value)
                clauses.append(condition.format(len(args)))
        return (" AND ".join(clauses) or "true"), args


async def page(
    conn: Connection, rows: RowFilter, limit: int
) -> tuple[list[asyncpg.Record], int | None]:
    """Up to `limit` rows, newest first, and the `seq` to continue below (None: no more)."""
    where, args = rows.where()
    found = await conn.fetch(
        f"SELECT {COLUMNS}, seq FROM audit_trail WHERE {where} ORDER BY seq DESC"
        f" LIMIT {int(limit) + 1}",
        *args,
    )
    if len(found) <= limit:
        return list(found), None
    return list(found[:limit]), found[limit - 1]["seq"]


async def count(conn: Connection, rows: RowFilter) -> int:
    where, args = rows.where()
    counted: int = await conn.fetchval(f"SELECT count(*) FROM audit_trail WHERE {where}", *args)
    return counted


async def export_rows(conn: Connection, rows: RowFilter) -> AsyncIterator[asyncpg.Record]:
    """Every matching row in the order recorded, through a server-side cursor.

    The caller holds `conn` in a `snapshot` (to match a prior `count`).
    """
    where, args = rows.where()
    sql = f"SELECT {COLUMNS} FROM audit_trail WHERE {where} ORDER BY seq"
    async for row in conn.cursor(sql, *args, prefetch=_PREFETCH):
        yield row


async def hourly(conn: Connection, rows: RowFilter) -> list[asyncpg.Record]:
    """Matching rows counted per hour (UTC, `hour` without a zone) and outcome, oldest first."""
    where, args = rows.where()
    found = await conn.fetch(
        "SELECT date_trunc('hour', occurred_at AT TIME ZONE 'UTC') AS hour, outcome,"
        f" count(*) AS n FROM audit_trail WHERE {where} GROUP BY 1, 2 ORDER BY 1",
        *args,
    )
    return list(found)


async def recent(conn: Connection, actions: Sequence[str], limit: int) -> list[asyncpg.Record]:
    """The newest rows of these actions (e.g. every revoking event type), newest first."""
    found = await conn.fetch(
        f"SELECT {COLUMNS} FROM audit_trail WHERE action = ANY($1::text[])"
        f" ORDER BY seq DESC LIMIT {int(limit)}",
        list(actions),
    )
    return list(found)


# Streams that issued the subject's tokens within `lifetime` before the instant (a token
# alive then was issued, or its refresh token rotated, inside that window), and streams of
# the subject's consents at any time before it. Both read partial indexes only.
_GRANT_STREAMS: Final = """
SELECT stream_id FROM audit_trail
WHERE {column} = $1 AND occurred_at <= $2 AND occurred_at > $3
  AND action IN ('access_token_issued', 'refresh_token_issued')
UNION
SELECT stream_id FROM audit_trail
WHERE {column} = $1 AND occurred_at <= $2 AND action = 'consent_granted'
"""
_GRANT_STREAMS_BY_USER: Final = _GRANT_STREAMS.format(column="subject_user")
_GRANT_STREAMS_BY_CLIENT: Final = _GRANT_STREAMS.format(column="client_id")


async def grant_streams(
    conn: Connection, at: datetime, lifetime: timedelta, *, user: str | None, client: str | None
) -> list[str]:
    """Token family and consent streams of `user` (or else `client`) that matter at `at`."""
    sql, key = (_GRANT_STREAMS_BY_USER, user) if user is not None else (
        _GRANT_STREAMS_BY_CLIENT, client
    )  # fmt: skip
    try:
        since = at - lifetime
    except OverflowError:  # an instant within a lifetime of year 1
        since = datetime.min.replace(tzinfo=UTC)
    rows = await conn.fetch(sql, key, at, since)
    return [row["stream_id"] for row in rows]


async def prune(conn: Connection, cutoff: datetime) -> int:
    """Drop rows that occurred before `cutoff` (projection audit_trail.sql, retention)."""
    pruned: int = await conn.fetchval("SELECT audit_trail_prune($1)", cutoff)
    return pruned
