"""What owners, members and operators see of connections: status, never a token.

A personal connection is its owner's alone; a workspace's is seen by its members and ended
by its Owner or Admins. Anyone else is told it does not exist.
"""

from __future__ import annotations

from datetime import datetime

from domain.policies.upstream_refresh import status_of
from projections import connection_queries
from projections.connection_queries import ConnectionRow
from schemas.http.connections import ConnectionView
from services.commands import utcnow
from services.connections.connector import Connector
from services.connections.providers import require_workspace_role
from services.connections.scheduler import policy_of, schedule_of
from services.refusals import Refused

__all__ = ["MAX_LISTED", "connection_view", "listed", "visible_connection"]

MAX_LISTED = 500


def connection_view(row: ConnectionRow, now: datetime | None = None) -> ConnectionView:
    return ConnectionView(
        connection_id=row.connection_id, provider_id=row.provider_id, provider=row.provider_name,
        user_id=row.user_id, workspace_id=row.workspace_id,
        status=status_of(schedule_of(row), policy_of(row), now or utcnow()),
        scopes=row.scopes, upstream_subject=row.upstream_subject, started_at=row.started_at,
        established_at=row.established_at, access_expires_at=row.access_expires_at,
        refresh_expires_at=row.refresh_expires_at, has_refresh_token=row.has_refresh,
        last_refreshed_at=row.obtained_at if row.refresh_count else None,
        refresh_count=row.refresh_count,
        refresh_in_progress=row.claim_attempt_id is not None or row.in_doubt,
        last_error=row.last_error, consecutive_failures=row.failures,
        last_health_check_at=row.checked_at, last_health=row.last_health,
        ended_at=row.ended_at, end_reason=row.end_reason,
    )  # fmt: skip


async def visible_connection(
    connector: Connector, connection_id: str, user_id: str, *, to_end: bool = False
) -> ConnectionRow:
    """The connection if `user_id` may see it (or, `to_end`, end it); else `not_found`."""
    async with connector.pool.acquire() as conn:
        row = await connection_queries.connection(conn, connection_id[:64])
    if row is None:
        raise Refused("not_found", "there is no such connection")
    if row.workspace_id is None:
        if row.user_id != user_id:
            raise Refused("not_found", "there is no such connection")
        return row
    try:
        await require_workspace_role(
            connector, row.workspace_id, user_id, "admin" if to_end else "member"
        )
    except Refused as refused:
        if refused.reason == "access_denied" and not to_end:
            raise Refused("not_found", "there is no such connection") from None
        raise
    return row


async def listed(
    connector: Connector, *, user_id: str | None = None, workspace_id: str | None = None
) -> list[ConnectionView]:
    """A user's personal connections, a workspace's, or (neither named) every one."""
    async with connector.pool.acquire() as conn:
        if workspace_id is not None:
            rows = await connection_queries.connections_of_workspace(conn, workspace_id, MAX_LISTED)
        elif user_id is not None:
            rows = await connection_queries.connections_of_user(conn, user_id, MAX_LISTED)
        else:
            rows = await connection_queries.every_connection(conn, MAX_LISTED)
    now = utcnow()
    return [connection_view(row, now) for row in rows]
