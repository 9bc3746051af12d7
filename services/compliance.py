"""Compliance reads of the audit trail: pages, exports and point-in-time holdings.

Every read is itself recorded (an `AuditTrailRead` event on a fresh `audit-<id>` stream)
before its answer is sent, so who looked at whose trail is in the trail too. A caller whose
client belongs to a workspace reads that workspace's rows only, whatever it filters on.
"""

from __future__ import annotations

import base64
import binascii
import csv
import io
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final

import asyncpg
import msgspec

from domain.holdings import Logged, holdings_at
from infra.postgres.history import read_streams_until
from projections.audit_trail_queries import (
    RowFilter,
    count,
    export_rows,
    grant_streams,
    page,
    snapshot,
)
from schemas.envelope import Metadata
from schemas.events import (
    EVENT_TYPES,
    AccessTokenIssued,
    AuditTrailRead,
    ClientRegistered,
    ConsentGranted,
    to_snake_case,
)
from schemas.events.audit import AuditQuery
from schemas.http.audit import (
    AuditPage,
    AuditRow,
    EventsQuery,
    ExportQuery,
    Holdings,
    PointInTimeQuery,
    TimelineQuery,
)
from services.authority import Authority
from services.commands import append_to_new_stream
from services.consents import consent_stream
from services.refusals import Refused

__all__ = [
    "MAX_TOKEN_LIFETIME",
    "Auditor",
    "export",
    "point_in_time",
    "read_page",
]

# The longest any token lives: a refresh token's 365 days at most (services.clients), and
# rolling expiry restarts it at each rotation, which is an issuance event of its own.
MAX_TOKEN_LIFETIME: Final = timedelta(days=366)
_ACTIONS: Final = frozenset(to_snake_case(cls.__name__) for cls in EVENT_TYPES)
_CSV_COLUMNS: Final = AuditRow.__struct_fields__
# Rows per chunk written to the socket while an export streams.
_CHUNK: Final = 500
_json: Final = msgspec.json.Encoder()


@dataclass(frozen=True, slots=True)
class Auditor:
    """An authenticated audit API caller."""

    client_id: str
    # The caller's client's workspace: it reads only that workspace's rows. None: all.
    workspace_id: str | None
    metadata: Metadata


def _scope(caller: Auditor, workspace: str | None) -> str | None:
    """The workspace a query may read; naming another than the caller's own is refused."""
    if caller.workspace_id is None:
        return workspace
    if workspace is not None and workspace != caller.workspace_id:
        raise Refused("insufficient_scope", f"this token reads workspace {caller.workspace_id}")
    return caller.workspace_id


def _cursor(seq: int) -> str:
    return base64.urlsafe_b64encode(f"seq:{seq}".encode()).decode().rstrip("=")


def _seq_of(cursor: str) -> int:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        kind, _, value = text.partition(":")
        if kind == "seq" and value.isdigit() and len(value) < 19:
            return int(value)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        pass
    raise Refused("invalid_request", "cursor is not one this API returned")


def _utc(value: datetime, name: str) -> datetime:
    """The instant in UTC; one whose offset takes it out of years 1 to 9999 is refused."""
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise Refused("invalid_request", f"{name} is out of range") from None


def _row_filter(caller: Auditor, query: TimelineQuery, user: str | None) -> RowFilter:
    if query.action is not None and query.action not in _ACTIONS:
        raise Refused("invalid_request", f"unknown action {query.action!r}")
    since = None if query.from_ is None else _utc(query.from_, "from")
    until = None if query.to is None else _utc(query.to, "to")
    if since is not None and until is not None and since >= until:
        raise Refused("invalid_request", "from must be before to")
    return RowFilter(
        user=user,
        client=query.client,
        workspace=_scope(caller, query.workspace),
        action=query.action,
        outcome=query.outcome,
        ip=query.ip,
        since=since,
        until=until,
        before_seq=None if query.cursor is None else _seq_of(query.cursor),
    )


def _filters(query: msgspec.Struct) -> dict[str, str]:
    """The parameters the caller gave, by name, as the read event records them."""
    given: dict[str, object] = msgspec.to_builtins(query)
    return {name: str(value) for name, value in given.items() if value is not None}


async def _record(authority: Authority, caller: Auditor, read: AuditTrailRead) -> None:
    metadata = msgspec.structs.replace(
        caller.metadata, subject_user=read.subject_user, workspace_id=caller.workspace_id
    )
    await append_to_new_stream(authority.group, "audit", [read], metadata)


def _audit_row(record: asyncpg.Record) -> AuditRow:
    return AuditRow(
        position=record["global_position"],
        event_id=str(record["event_id"]),
        occurred_at=record["occurred_at"],
        stream_id=record["stream_id"],
        action=record["action"],
        outcome=record["outcome"],
        reason=record["reason"],
        actor=record["actor"],
        actor_id=record["actor_id"],
        subject_user=record["subject_user"],
        workspace_id=record["workspace_id"],
        client_id=record["client_id"],
        resource=record["resource"],
        ip=record["ip"],
        user_agent=record["user_agent"],
        request_id=record["request_id"],
        correlation_id=record["correlation_id"],
        hash=bytes(record["hash"]).hex(),
    )


async def read_page(
    authority: Authority, caller: Auditor, query: TimelineQuery, *, user: str | None = None
) -> AuditPage:
    """`GET /audit/events` (user from the query) or a user's timeline (user from the path)."""
    kind: AuditQuery = "events" if isinstance(query, EventsQuery) else "timeline"
    if isinstance(query, EventsQuery) and user is None:
        user = query.user
    rows = _row_filter(caller, query, user)
    async with authority.pool.acquire() as conn, snapshot(conn, caller.workspace_id):
        found, next_seq = await page(conn, rows, query.limit)
    filters = _filters(query)
    if user is not None:
        filters["user"] = user
    read = AuditTrailRead(query=kind, filters=filters, subject_user=user, rows=len(found))
    await _record(authority, caller, read)
    return AuditPage(
        events=[_audit_row(record) for record in found],
        next_cursor=None if next_seq is None else _cursor(next_seq),
    )


def _csv_cell(value: object) -> str:
    text = "" if value is None else str(value)
    # A spreadsheet runs a cell that starts like a formula (OWASP "CSV injection"); user
    # agents and reasons come from callers, so such cells are quoted as text.
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _encode_chunk(rows: Iterable[AuditRow], fmt: str) -> bytes:
    if fmt == "ndjson":
        return b"".join(_json.encode(row) + b"\n" for row in rows)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    for row in rows:
        values = msgspec.to_builtins(row)
        writer.writerow([_csv_cell(values[column]) for column in _CSV_COLUMNS])
    return out.getvalue().encode()


def export_filter(caller: Auditor, query: ExportQuery) -> RowFilter:
    """Checked before the response starts, so a bad query is a 400, not a broken stream."""
    return _row_filter(caller, query, query.user)


async def export(
    authority: Authority, caller: Auditor, query: ExportQuery, rows: RowFilter
) -> AsyncIterator[bytes]:
    """Every matching row, oldest first, as NDJSON or CSV chunks; memory stays flat.

    One REPEATABLE READ snapshot: the count recorded in the read event is exactly the
    number of rows streamed, and the read is recorded before the first row is sent.
    """
    async with (
        authority.pool.acquire() as conn,
        snapshot(conn, caller.workspace_id),
    ):
        total = await count(conn, rows)
        read = AuditTrailRead(
            query="export", filters=_filters(query), subject_user=query.user, rows=total
        )
        await _record(authority, caller, read)
        if query.format == "csv":
            yield _csv_header()
        batch: list[AuditRow] = []
        async for record in export_rows(conn, rows):
            batch.append(_audit_row(record))
            if len(batch) == _CHUNK:
                yield _encode_chunk(batch, query.format)
                batch = []
        if batch:
            yield _encode_chunk(batch, query.format)


def _csv_header() -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerow(_CSV_COLUMNS)
    return out.getvalue().encode()


def _lifetime(history: Iterable[Logged]) -> timedelta:
    """How long the client's tokens live (its registration), or zero if it has none."""
    for logged in history:
        if isinstance(logged.event, ClientRegistered):
            ttl = max(logged.event.access_token_ttl, logged.event.refresh_token_ttl)
            return timedelta(seconds=ttl)
    return timedelta(0)


def _related(history: Iterable[Logged]) -> set[str]:
    """The streams whose events decide whether these grants still held: the clients'
    status, the users' status, and each user's consent to each client."""
    related: set[str] = set()
    for logged in history:
        match logged.event:
            case (
                AccessTokenIssued(client_id=client, subject=user)
                | ConsentGranted(client_id=client, user_id=user)
            ):
                related.add(f"client-{client}")
                if user is not None:
                    related |= {f"user-{user}", consent_stream(user, client)}
            case _:
                pass
    return related


async def point_in_time(authority: Authority, caller: Auditor, query: PointInTimeQuery) -> Holdings:
    """The tokens, scopes and consents a user or a client held at `at`, from the log.

    The audit trail names the streams that matter (grants within the longest token lifetime
    before `at`, consents); their events up to `at` are read and folded by domain.holdings.
    """
    if (query.user is None) == (query.client is None):
        raise Refused("invalid_request", "give exactly one of user and client")
    at = _utc(query.at, "at")
    async with (
        authority.pool.acquire() as conn,
        snapshot(conn),
    ):
        history: list[Logged] = []
        lifetime = MAX_TOKEN_LIFETIME
        if query.client is not None:
            history = await read_streams_until(conn, [f"client-{query.client}"], at)
            lifetime = _lifetime(history)
        streams = set(await grant_streams(conn, at, lifetime, user=query.user, client=query.client))
        history += await read_streams_until(conn, streams, at)
        known = streams if query.client is None else streams | {f"client-{query.client}"}
        history += await read_streams_until(conn, _related(history) - known, at)
    holdings = holdings_at(
        history, at, user=query.user, client=query.client, workspace=caller.workspace_id
    )
    rows = len(holdings.tokens) + len(holdings.consents)
    read = AuditTrailRead(
        query="point_in_time", filters=_filters(query), subject_user=query.user, rows=rows
    )
    await _record(authority, caller, read)
    return holdings
