"""The console's audit questions, parsed from query strings into the audit API's own types.

A filter the audit API would refuse is refused here with its words, on a page. `user` may be
a username (looked up) or a user id; an instant without an offset is UTC, as a
`datetime-local` field sends it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final, TypeVar
from urllib.parse import urlencode

import msgspec
from litestar import Request

from infra.logging import looks_secret
from projections.audit_trail_queries import RowFilter, hourly
from schemas.http.audit import EventsQuery
from schemas.http.console import HeldAtQuery, SearchQuery
from services.api.console.chart import MAX_HOURS, hourly_chart
from services.api.console.session import Operator
from services.authority import Authority
from services.commands import utcnow
from services.compliance import Auditor
from services.refusals import Refused
from services.users import user_id_of

__all__ = ["Search", "auditor", "chart", "held_at_query", "instant", "read_search"]

_MAX_VALUE: Final = 256
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Search:
    """A parsed search: the form's values as typed, the audit query, the user it names."""

    given: dict[str, str]
    query: EventsQuery
    user_id: str | None

    def link(self, path: str, **changes: str | None) -> str:
        values = {**self.given, **changes}
        kept = {name: value for name, value in values.items() if value}
        return f"{path}?{urlencode(kept)}" if kept else path


def auditor(request: Request[Any, Any, Any], user: Operator) -> Auditor:
    """The console user as an audit caller: platform-wide, every read recorded as theirs."""
    return Auditor(
        client_id=user.client.client_id, workspace_id=None, metadata=user.metadata(request)
    )


def _values(request: Request[Any, Any, Any]) -> dict[str, str]:
    values: dict[str, str] = {}
    for name, value in request.query_params.multi_items():
        if name in values:
            raise Refused("invalid_request", f"parameter {name} is repeated")
        if len(value) > _MAX_VALUE or "\x00" in value:
            raise Refused("invalid_request", f"{name} is too long or holds a NUL character")
        if looks_secret(value):
            raise Refused("invalid_request", f"{name} looks like a credential; never send one")
        if value.strip():
            values[name] = value.strip()
    return values


def instant(text: str | None, name: str) -> datetime | None:
    """An ISO 8601 instant; without an offset it is UTC."""
    if text is None:
        return None
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise Refused("invalid_request", f"{name} is not a date and time (ISO 8601)") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    try:
        return parsed.astimezone(UTC)
    except OverflowError:
        raise Refused("invalid_request", f"{name} is out of range") from None


async def _user_id(authority: Authority, given: str | None) -> str | None:
    if given is None:
        return None
    return await user_id_of(authority.pool, given) or given


def _convert(values: dict[str, object], into: type[T]) -> T:
    try:
        return msgspec.convert(values, into, strict=False)
    except msgspec.ValidationError as error:
        message = str(error).replace("`$.", "`").replace("Object contains unknown field", "unknown")
        raise Refused("invalid_request", message) from None


async def read_search(request: Request[Any, Any, Any], authority: Authority) -> Search:
    given = _values(request)
    search: SearchQuery = _convert(dict(given), SearchQuery)
    user_id = await _user_id(authority, search.user)
    fields: dict[str, object] = {
        "user": user_id,
        "client": search.client,
        "action": search.action,
        "outcome": search.outcome,
        "ip": search.ip,
        "cursor": search.cursor,
        "from": instant(search.from_, "from"),
        "to": instant(search.to, "to"),
    }
    query: EventsQuery = _convert({k: v for k, v in fields.items() if v is not None}, EventsQuery)
    return Search(given=given, query=query, user_id=user_id)


async def held_at_query(
    request: Request[Any, Any, Any], authority: Authority
) -> tuple[HeldAtQuery, str | None, datetime | None]:
    query: HeldAtQuery = _convert(dict(_values(request)), HeldAtQuery)
    return query, await _user_id(authority, query.user), instant(query.at, "at")


def _range(query: EventsQuery) -> tuple[datetime, datetime]:
    """The chart's hours: the search's range, else the last 24 hours."""
    until = query.to or utcnow()
    since = query.from_ or until - timedelta(hours=24)
    start = since.replace(minute=0, second=0, microsecond=0)
    return start, until


async def chart(authority: Authority, search: Search) -> str:
    """The hourly chart of what the search matches over its range (no paging)."""
    query = search.query
    try:
        start, until = _range(query)
    except OverflowError:  # a range at the very edge of the calendar
        return '<p id="chart-too-long">No chart for a range at the edge of the calendar.</p>'

    hours = int((until - start).total_seconds() // 3600) + 1
    if hours > MAX_HOURS:
        return '<p id="chart-too-long">Narrow the range to 31 days to see actions per hour.</p>'
    rows = RowFilter(
        user=search.user_id,
        client=query.client,
        action=query.action,
        outcome=query.outcome,
        ip=query.ip,
        since=query.from_ or start,
        until=query.to,
    )
    async with authority.pool.acquire() as conn:
        found = await hourly(conn, rows)
    counts = {(row["hour"].replace(tzinfo=UTC), row["outcome"]): row["n"] for row in found}
    return hourly_chart(start, hours, counts)
