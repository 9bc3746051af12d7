"""Audit API bodies (`/audit/...`): query parameters in, audit rows and holdings out.

Queries forbid unknown parameters: a misspelt filter would otherwise widen the answer
silently, which is the wrong way to fail for a compliance question.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec

__all__ = [
    "AuditPage",
    "AuditRow",
    "ClientStatusAt",
    "EventsQuery",
    "ExportFormat",
    "ExportQuery",
    "HeldConsent",
    "HeldToken",
    "Holdings",
    "PointInTimeQuery",
    "Text",
    "TimelineQuery",
]

# A filter value: bounded, and no control characters (PostgreSQL text cannot hold NUL).
Text = Annotated[str, msgspec.Meta(min_length=1, max_length=256, pattern=r"^[^\x00-\x1f]*$")]
# An instant must say its offset: "2026-11-23T10:00:00Z", never a local time.
Instant = Annotated[datetime, msgspec.Meta(tz=True)]
Limit = Annotated[int, msgspec.Meta(ge=1, le=1000)]
ExportFormat = Literal["ndjson", "csv"]


class _Query(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    pass


class TimelineQuery(_Query, frozen=True, kw_only=True):
    """Filters of `GET /audit/users/{user_id}/timeline`; the other queries add `user`."""

    client: Text | None = None
    workspace: Text | None = None
    action: Text | None = None
    outcome: Literal["success", "failure"] | None = None
    ip: Text | None = None
    # Half-open: from <= occurred_at < to.
    from_: Instant | None = msgspec.field(default=None, name="from")
    to: Instant | None = None
    limit: Limit = 100
    # Opaque: the `next_cursor` of the previous page.
    cursor: Text | None = None


class EventsQuery(TimelineQuery, frozen=True, kw_only=True):
    user: Text | None = None


class ExportQuery(EventsQuery, frozen=True, kw_only=True):
    format: ExportFormat = "ndjson"


class PointInTimeQuery(_Query, frozen=True, kw_only=True):
    """Exactly one of `user` and `client`."""

    at: Instant
    user: Text | None = None
    client: Text | None = None


class AuditRow(msgspec.Struct, frozen=True, kw_only=True):
    """One audit_trail row; absent values are null, so every row has every column."""

    position: int
    event_id: str
    occurred_at: datetime
    stream_id: str
    action: str
    outcome: str
    reason: str | None
    actor: str
    actor_id: str | None
    subject_user: str | None
    workspace_id: str | None
    client_id: str | None
    resource: str | None
    ip: str | None
    user_agent: str | None
    request_id: str | None
    correlation_id: str | None
    # Hex SHA-256 of the event in its stream's chain (`keyledger audit verify` recomputes it).
    hash: str


class AuditPage(msgspec.Struct, frozen=True, kw_only=True):
    events: list[AuditRow]
    # Pass it as `cursor` for the next (older) page; null on the last page.
    next_cursor: str | None


class HeldToken(msgspec.Struct, frozen=True, kw_only=True):
    kind: Literal["access", "refresh"]
    # The refresh chain the token belongs to (DELETE /oauth/token/{id} takes it).
    family_id: str
    client_id: str
    subject: str | None
    scopes: tuple[str, ...]
    grant_type: str
    issued_at: datetime
    expires_at: datetime
    # Access tokens only; refresh tokens are known by their family.
    jti: str | None = None


class HeldConsent(msgspec.Struct, frozen=True, kw_only=True):
    user_id: str
    client_id: str
    scopes: tuple[str, ...]
    granted_at: datetime


class ClientStatusAt(msgspec.Struct, frozen=True, kw_only=True):
    client_id: str
    status: Literal["active", "suspended", "banned"]
    workspace_id: str | None = None


class Holdings(msgspec.Struct, frozen=True, kw_only=True):
    """What a user or a client held at `at`, as the log tells it."""

    at: datetime
    user: str | None
    client: str | None
    tokens: tuple[HeldToken, ...]
    consents: tuple[HeldConsent, ...]
    # Every scope some held token carried.
    scopes: tuple[str, ...]
    # Status at `at` of each client the subject's tokens or consents name.
    clients: tuple[ClientStatusAt, ...]
