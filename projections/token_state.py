"""Token state, inline: which tokens exist and whether they still work.

Revocations of a client, a user, a consent, a signing key or a workspace are predicates (one
row each), not a fan-out over their tokens; introspection checks them (DESIGN.md,
"Projections"). Their `issued_before` is the one resource servers get (domain/revocation.py),
so keyledger and they refuse the same tokens.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Final

from domain.policies.lifetimes import CLIENT_RECORD_TTL
from domain.revocation import Lifetimes, revocation_of
from projections.projection import Projection, Statement, json_rows, load_ddl
from schemas.envelope import RecordedEvent
from schemas.events import (
    AccessTokenIssued,
    AccessTokenRevoked,
    ClientBanned,
    ClientSuspended,
    ConsentWithdrawn,
    RefreshTokenIssued,
    RefreshTokenRotated,
    SigningKeyRevoked,
    TokenFamilyRevoked,
    UserDisabled,
    UserPasswordChanged,
    UserTokensRevoked,
    WorkspaceTokensRevoked,
    to_snake_case,
)
from schemas.revocations import (
    ApiKeyRevocation,
    ClientRevocation,
    Revocation,
    SigningKeyRevocation,
    TokenFamilyRevocation,
    TokenRevocation,
    UserClientRevocation,
    UserRevocation,
    WorkspaceRevocation,
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
    UserPasswordChanged,
    UserTokensRevoked,
    ConsentWithdrawn,
    SigningKeyRevoked,
    WorkspaceTokensRevoked,
)
# Only `issued_before` matters here, never the expiry.
_LIFETIMES: Final = Lifetimes(client_record_ttl=CLIENT_RECORD_TTL)
_FOREVER: Final = datetime.max.replace(tzinfo=UTC)

_ISSUE_ACCESS: Final = """
INSERT INTO token_state (token_digest, kind, jti, family_id, client_id, subject, scopes,
                         workspace_id, grant_type, issued_at, expires_at, kid)
VALUES ($1, 'access', $2, $3, $4, $5, string_to_array($6, ' '), $7, $8, $9, $10, $11)
"""
_ACCESS_COLUMNS: Final = (
    "d text, j text, f text, c text, s text, sc text, w text, g text, i timestamptz,"
    " e timestamptz, k text"
)
_ISSUE_ACCESS_BULK: Final = f"""
INSERT INTO token_state (token_digest, kind, jti, family_id, client_id, subject, scopes,
                         workspace_id, grant_type, issued_at, expires_at, kid)
SELECT d, 'access', j, f, c, s, string_to_array(sc, ' '), w, g, i, e, k
FROM {json_rows(_ACCESS_COLUMNS)}
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
_REVOKE_JTI_BULK: Final = f"""
UPDATE token_state SET revoked_at = r.at
FROM {json_rows("jti text, at timestamptz")}
WHERE token_state.jti = r.jti AND token_state.revoked_at IS NULL
"""
_REVOKE_FAMILY: Final = """
UPDATE token_state SET revoked_at = $2 WHERE family_id = $1 AND revoked_at IS NULL
"""
_REVOKE_FAMILY_BULK: Final = f"""
UPDATE token_state SET revoked_at = r.at
FROM {json_rows("family_id text, at timestamptz")}
WHERE token_state.family_id = r.family_id AND token_state.revoked_at IS NULL
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
                        event.kid,
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
        case (
            ClientSuspended()
            | ClientBanned()
            | ConsentWithdrawn()
            | UserDisabled()
            | UserPasswordChanged()
            | UserTokensRevoked()
            | SigningKeyRevoked()
            | WorkspaceTokensRevoked()
        ):
            predicate = _predicate(revocation_of(recorded, _LIFETIMES))
            return [] if predicate is None else [Statement(_REVOKE_BEFORE, predicate)]
        case _:
            return []


def _predicate(revocation: Revocation | None) -> tuple[str, str, datetime] | None:
    """The `token_revocations` row of a predicate revocation: kind, key, revoked_before."""
    match revocation:
        case ClientRevocation(client_id=client_id, issued_before=before):
            return "client", client_id, before
        case UserClientRevocation(user_id=user_id, client_id=client_id, issued_before=before):
            return "consent", consent_key(user_id, client_id), before
        case UserRevocation(user_id=user_id, issued_before=before):
            return "user", user_id, before
        case SigningKeyRevocation(kid=kid):
            # Whatever it signed, even after: tokens other processes signed before they
            # heard of the revocation, and any forged with the key.
            return "signing_key", kid, _FOREVER
        case WorkspaceRevocation(workspace_id=workspace_id, issued_before=before):
            return "workspace", workspace_id, before
        case TokenRevocation() | TokenFamilyRevocation() | ApiKeyRevocation() | None:
            # One token, one family (rows of their own), or no token at all.
            return None


# Row statements that also have a many-rows form (see infra.postgres.event_store.BulkForms).
# Revoking a token or a family then commits as one statement with its event: no BEGIN/COMMIT.
BULK: Final = {
    _ISSUE_ACCESS: _ISSUE_ACCESS_BULK,
    _REVOKE_JTI: _REVOKE_JTI_BULK,
    _REVOKE_FAMILY: _REVOKE_FAMILY_BULK,
}

PROJECTION: Final = Projection(
    name=NAME,
    handles=frozenset(to_snake_case(cls.__name__) for cls in _HANDLES),
    tables=("token_state", "token_revocations"),
    ddl=load_ddl(NAME),
    statements=statements,
    inline=True,
    bulk=BULK,
)
