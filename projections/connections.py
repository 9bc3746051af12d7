"""Connections, inline: lifecycle, token expiries and refresh claims, for the callback, the
scheduler and the status the owner sees (projections/connection_queries.py reads them)."""

from __future__ import annotations

from typing import Final

from projections.projection import Projection, Statement, load_ddl
from schemas.envelope import RecordedEvent
from schemas.events import (
    ConnectionAttemptFailed,
    ConnectionEstablished,
    ConnectionExpired,
    ConnectionHealthChecked,
    ConnectionReauthenticationRequired,
    ConnectionRevoked,
    ConnectionStarted,
    UpstreamRefreshFailed,
    UpstreamRefreshStarted,
    UpstreamTokenRefreshed,
    to_snake_case,
)

__all__ = ["NAME", "PROJECTION", "statements"]

NAME: Final = "connections"

_START: Final = """
INSERT INTO connections (connection_id, provider_id, user_id, workspace_id, lifecycle, scopes,
                         state_digest, started_at, start_expires_at, updated_at)
VALUES ($1, $2, $3, $4, 'pending', $5, $6, $7, $8, $7)
"""
_ESTABLISH: Final = """
UPDATE connections SET lifecycle = 'active', state_digest = NULL, established_at = $2,
    obtained_at = $2, upstream_subject = $3, scopes = $4, access_expires_at = $5,
    refresh_expires_at = $6, has_refresh = $7, updated_at = $2
WHERE connection_id = $1
"""
_END: Final = """
UPDATE connections SET lifecycle = $2, state_digest = NULL, claim_attempt_id = NULL,
    claim_started_at = NULL, in_doubt = false, ended_at = $3, end_reason = $4, updated_at = $3
WHERE connection_id = $1
"""
_CLAIM: Final = """
UPDATE connections SET claim_attempt_id = $2, claim_started_at = $3, updated_at = $3
WHERE connection_id = $1
"""
_REFRESHED: Final = """
UPDATE connections SET lifecycle = 'active', obtained_at = $2, access_expires_at = $3,
    refresh_expires_at = $4, has_refresh = true, refresh_count = refresh_count + 1,
    claim_attempt_id = NULL, claim_started_at = NULL, in_doubt = false, retry_at = NULL,
    failures = 0, last_error = NULL, refresh_requested = false, ended_at = NULL,
    end_reason = NULL, updated_at = $2
WHERE connection_id = $1
"""
# An attempt in doubt keeps its start: it is resolved only once a late answer cannot come.
_FAILED: Final = """
UPDATE connections SET claim_attempt_id = NULL,
    claim_started_at = CASE WHEN $3 THEN claim_started_at END, in_doubt = $3, retry_at = $4,
    failures = failures + $5, last_error = $6, updated_at = $2
WHERE connection_id = $1
"""
_CHECKED: Final = """
UPDATE connections SET checked_at = $2, last_health = $3,
    refresh_requested = refresh_requested OR $3 = 'inactive', updated_at = $2
WHERE connection_id = $1
"""


def statements(recorded: RecordedEvent) -> list[Statement]:
    event, at = recorded.event, recorded.occurred_at
    args: tuple[object, ...]
    match event:
        case ConnectionStarted():
            args = (
                event.connection_id, event.provider_id, event.user_id, event.workspace_id,
                list(event.scopes), event.state_digest, at, event.expires_at,
            )  # fmt: skip
            return [Statement(_START, args)]
        case ConnectionEstablished():
            args = (
                event.connection_id, at, event.upstream_subject, list(event.scopes),
                event.access_expires_at, event.refresh_expires_at,
                event.refresh_token_digest is not None,
            )  # fmt: skip
            return [Statement(_ESTABLISH, args)]
        case ConnectionAttemptFailed(connection_id=connection_id, reason=reason):
            return [Statement(_END, (connection_id, "failed", at, reason))]
        case UpstreamRefreshStarted(connection_id=connection_id, attempt_id=attempt_id):
            return [Statement(_CLAIM, (connection_id, attempt_id, at))]
        case UpstreamTokenRefreshed(connection_id=connection_id):
            args = (connection_id, at, event.access_expires_at, event.refresh_expires_at)
            return [Statement(_REFRESHED, args)]
        case UpstreamRefreshFailed(connection_id=connection_id, error=error):
            # An interruption resolved as harmless is no failure of the provider's.
            counted = 0 if error == "interrupted" else 1
            args = (connection_id, at, event.in_doubt, event.retry_at, counted, error)
            return [Statement(_FAILED, args)]
        case ConnectionReauthenticationRequired(connection_id=connection_id, reason=reason):
            return [Statement(_END, (connection_id, "needs_reauthentication", at, reason))]
        case ConnectionHealthChecked(connection_id=connection_id, result=result):
            return [Statement(_CHECKED, (connection_id, at, result))]
        case ConnectionRevoked(connection_id=connection_id, cause=cause, reason=reason):
            why = f"{cause}: {reason}" if reason else cause
            return [Statement(_END, (connection_id, "revoked", at, why))]
        case ConnectionExpired(connection_id=connection_id):
            return [Statement(_END, (connection_id, "expired", at, "expired"))]
        case _:
            return []


PROJECTION: Final = Projection(
    name=NAME,
    handles=frozenset(
        to_snake_case(cls.__name__)
        for cls in (
            ConnectionStarted,
            ConnectionEstablished,
            ConnectionAttemptFailed,
            UpstreamRefreshStarted,
            UpstreamTokenRefreshed,
            UpstreamRefreshFailed,
            ConnectionReauthenticationRequired,
            ConnectionHealthChecked,
            ConnectionRevoked,
            ConnectionExpired,
        )
    ),
    tables=("connections",),
    ddl=load_ddl(NAME),
    statements=statements,
    inline=True,
)
