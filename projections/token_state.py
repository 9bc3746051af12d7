"""Token state, inline: which tokens exist and whether they still work.

Revocations of a client, a user or a consent are predicates (one row each), not a fan-out
over their tokens; introspection checks them (DESIGN.md, "Projections").
"""

from __future__ import annotations

from typing import Final

from projections.projection import Projection, Statement, load_ddl
from schemas.envelope import RecordedEvent
from schemas.events import (
    AccessTokenIssued,
    AccessTokenRevoked,
    ClientBanned,
    ClientSuspended,
    ConsentWithdrawn,
    RefreshTokenIssued,
    RefreshTokenRotated,
    TokenFamilyRevoked,
    UserDisabled,
    to_snake_case,
)

__all__ = ["BULK", "NAME", "PROJECTION", "consent_key", "statements"]

NAME: Final = "token_state"

_HANDLES: Final = (
    AccessTokenIssued,
    RefreshTokenIssued,
    RefreshTokenRotated,
    AccessTokenRevoked,
    TokenFamilyRevoked,
    ClientSuspended,
    ClientBanned,
    UserDisabled,
    ConsentWithdrawn,
)

_ISSUE_ACCESS: Final = """
INSERT INTO token_state (token_digest, kind, jti, family_id, client_id, subject, scopes,
                         workspace_id, grant_type, issued_at, expires_at)
VALUES ($1, 'access', $2, $3, $4, $5, string_to_array($6, ' '), $7, $8, $9, $10)
"""
_ISSUE_ACCESS_BULK: Final = """
INSERT INTO token_state (token_digest, kind, jti, family_id, client_id, subject, scopes,
                         workspace_id, grant_type, issued_at, expires_at)
SELECT d, 'access', j, f, c, s, string_to_array(sc, ' '), w, g, i, e
FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
            $8::text[], $9::timestamptz[], $10::timestamptz[]) AS r(d, j, f, c, s, sc, w, g, i, e)
"""
# A refresh token belongs to its family's grant: copy it from the family's latest access token.
_ISSUE_REFRESH: Final = """
INSERT INTO token_state (token_digest, kind, family_id, client_id, subject, scopes,
                         workspace_id, grant_type, issued_at, expires_at)
SELECT $1, 'refresh', family_id, client_id, subject, scopes, workspace_id, grant_type, $3, $4
FROM token_state WHERE family_id = $2 AND kind = 'access'
ORDER BY issued_at DESC LIMIT 1
"""
_SPEND: Final = "UPDATE token_state SET spent_at = $2 WHERE token_digest = $1"
_REVOKE_JTI: Final = "UPDATE token_state SET revoked_at = $2 WHERE jti = $1 AND revoked_at IS NULL"
_REVOKE_FAMILY: Final = """
UPDATE token_state SET revoked_at = $2 WHERE family_id = $1 AND revoked_at IS NULL
"""
_REVOKE_BEFORE: Final = """
INSERT INTO token_revocations (kind, key, revoked_before) VALUES ($1, $2, $3)
ON CONFLICT (kind, key) DO UPDATE
SET revoked_before = GREATEST(token_revocations.revoked_before, excluded.revoked_before)
"""


def consent_key(user_id: str, client_id: str) -> str:
    return f"{user_id} {client_id}"


def _family_of(stream_id: str) -> str:
    return stream_id.split("-", 1)[1]


def statements(recorded: RecordedEvent) -> list[Statement]:
    event, at = recorded.event, recorded.occurred_at
    match event:
        case AccessTokenIssued() if event.token_digest is not None:
            return [
                Statement(
                    _ISSUE_ACCESS,
                    (
                        event.token_digest,
                        event.jti,
                        _family_of(recorded.stream_id),
                        event.client_id,
                        event.subject,
                        " ".join(event.scopes),  # scope tokens never contain a space
                        event.workspace_id,
                        event.grant_type,
                        at,
                        event.expires_at,
                    ),
                )
            ]
        case RefreshTokenIssued():
            family = _family_of(recorded.stream_id)
            return [Statement(_ISSUE_REFRESH, (event.token_digest, family, at, event.expires_at))]
        case RefreshTokenRotated():
            return [Statement(_SPEND, (event.spent_digest, at))]
        case AccessTokenRevoked():
            return [Statement(_REVOKE_JTI, (event.jti, at))]
        case TokenFamilyRevoked():
            return [Statement(_REVOKE_FAMILY, (_family_of(recorded.stream_id), at))]
        case ClientSuspended(client_id=client_id) | ClientBanned(client_id=client_id):
            return [Statement(_REVOKE_BEFORE, ("client", client_id, at))]
        case UserDisabled(user_id=user_id):
            return [Statement(_REVOKE_BEFORE, ("user", user_id, at))]
        case ConsentWithdrawn():
            return [
                Statement(
                    _REVOKE_BEFORE, ("consent", consent_key(event.user_id, event.client_id), at)
                )
            ]
        case _:
            return []


# Row statements that also have a many-rows form (see infra.postgres.event_store.BulkForms).
BULK: Final = {_ISSUE_ACCESS: _ISSUE_ACCESS_BULK}

PROJECTION: Final = Projection(
    name=NAME,
    handles=frozenset(to_snake_case(cls.__name__) for cls in _HANDLES),
    tables=("token_state", "token_revocations"),
    ddl=load_ddl(NAME),
    statements=statements,
    inline=True,
    bulk=BULK,
)
