"""Events of `audit` streams: reads of the audit trail, and its pruning, are audited too.

Who looked at whose trail is itself personal-data processing a compliance team must be able
to show, so every read of the audit API is an event on a fresh stream of its own (DECISIONS
13: concurrent reads never contend), as is every prune of old audit rows.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

import msgspec

from schemas.events.base import EventBase

__all__ = [
    "AuditEvent",
    "AuditLogVerified",
    "AuditQuery",
    "AuditTrailPruned",
    "AuditTrailRead",
    "TokenStateCompacted",
]

# Which audit API endpoint answered: a page of rows, a user's timeline, an export, or the
# tokens and consents held at an instant.
AuditQuery = Literal["events", "timeline", "export", "point_in_time"]


class AuditTrailRead(EventBase, frozen=True, kw_only=True):
    query: AuditQuery
    # The filters as the caller passed them (the paging cursor included), by parameter name.
    filters: dict[str, str] = msgspec.field(default_factory=dict)
    # The user whose trail or holdings were looked at, if the read named one.
    subject_user: str | None = None
    # Rows answered: audit rows, or tokens plus consents for a point-in-time query.
    rows: int = 0


class AuditTrailPruned(EventBase, frozen=True, kw_only=True):
    """Audit rows older than `before` were dropped from the projection; the log keeps them."""

    before: datetime
    rows: int
    retention_days: int


class TokenStateCompacted(EventBase, frozen=True, kw_only=True):
    """Token state rows of families whose every token expired before `before` were dropped
    from the projection (they answered as missing rows do); the log keeps the events."""

    before: datetime
    rows: int
    retention_days: int


class AuditLogVerified(EventBase, frozen=True, kw_only=True):
    """A run of the log's verification (hash chains and signed checkpoints) and its verdict,
    so the latest result can be shown and who ran it is on the record."""

    intact: bool
    events: int
    streams: int
    last_position: int
    checkpoints: int
    checkpointed_up_to: int
    not_checkpointed: int
    # How many chain and checkpoint breaks were found, and the first few, described.
    breaks: int = 0
    described: tuple[str, ...] = ()


AuditEvent = AuditTrailRead | AuditTrailPruned | AuditLogVerified | TokenStateCompacted
