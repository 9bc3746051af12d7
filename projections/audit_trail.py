"""The audit trail: one immutable row per action, for compliance investigations."""

from __future__ import annotations

from typing import Final, assert_never

from projections.projection import Projection, Statement, json_rows, load_ddl
from schemas.envelope import RecordedEvent
from schemas.events import (
    EVENT_TYPES,
    AccessReported,
    AccessTokenIssued,
    AccessTokenRevoked,
    ApiKeyCreated,
    ApiKeyRevoked,
    ApiKeyRotated,
    AuditLogVerified,
    AuditTrailPruned,
    AuditTrailRead,
    AuthorizationCodeIssued,
    AuthorizationCodeRedeemed,
    AuthorizationCodeReplayed,
    AuthorizationDenied,
    AuthorizationFlagged,
    ClientBanned,
    ClientRegistered,
    ClientReinstated,
    ClientSecretRotated,
    ClientSuspended,
    ConnectionAttemptFailed,
    ConnectionEstablished,
    ConnectionExpired,
    ConnectionHealthChecked,
    ConnectionReauthenticationRequired,
    ConnectionRevoked,
    ConnectionStarted,
    ConsentGranted,
    ConsentWithdrawn,
    ConsoleRoleGranted,
    ConsoleRoleRevoked,
    Event,
    InvitationAccepted,
    LoginRefused,
    LoginSucceeded,
    LogRangeArchived,
    MemberInvited,
    MemberRemoved,
    MemberRoleChanged,
    ProviderRegistered,
    ProviderRemoved,
    RateLimitExceeded,
    RefreshTokenIssued,
    RefreshTokenReuseDetected,
    RefreshTokenRotated,
    SigningKeyActivated,
    SigningKeyRetired,
    SigningKeyRevoked,
    SsoConfigured,
    SsoDisabled,
    SsoIdentityLinked,
    SsoUserProvisioned,
    TokenFamilyRevoked,
    TokenRequestRefused,
    TokenStateCompacted,
    UpstreamRefreshFailed,
    UpstreamRefreshStarted,
    UpstreamTokenRefreshed,
    UserDisabled,
    UserErased,
    UserOtpEnabled,
    UserPasswordChanged,
    UserRegistered,
    UserTokensRevoked,
    VaultKeyCreated,
    VaultKeyRetired,
    WorkspaceCreated,
    WorkspaceTokensRevoked,
    to_snake_case,
)

__all__ = [
    "PROJECTION",
    "outcome_of",
    "redaction",
    "resource_of",
    "subject_of",
    "workspace_of",
]

NAME: Final = "audit_trail"

# `seq` numbers rows in the order the projector applies them (one projector at a time, under
# its lock): it continues from the highest row, so a rebuild numbers them exactly as the live
# projector did, which an identity column would not after a rolled-back batch (DECISIONS 16).
_INSERT: Final = """
INSERT INTO audit_trail (seq, global_position, event_id, occurred_at, stream_id, action,
    outcome, reason, actor, actor_id, subject_user, workspace_id, client_id, resource, ip,
    user_agent, request_id, correlation_id, hash)
VALUES ((SELECT coalesce(max(seq), 0) + 1 FROM audit_trail), $1, $2, $3, $4, $5, $6, $7, $8,
    $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)
"""
_ROW_COLUMNS: Final = (
    "g bigint, e uuid, o timestamptz, s text, a text, oc text, rs text, ac text, ai text,"
    " su text, w text, c text, re text, ip text, ua text, rq text, co text, h bytea"
)
_INSERT_MANY: Final = f"""
INSERT INTO audit_trail (seq, global_position, event_id, occurred_at, stream_id, action,
    outcome, reason, actor, actor_id, subject_user, workspace_id, client_id, resource, ip,
    user_agent, request_id, correlation_id, hash)
SELECT (SELECT coalesce(max(seq), 0) FROM audit_trail) + n, g, e, o, s, a, oc, rs, ac, ai, su,
    w, c, re, ip, ua, rq, co, h
FROM {json_rows(_ROW_COLUMNS, ordinality=True)}
"""


def resource_of(event: Event) -> str | None:
    """What the action was about, in a form an investigator can search for."""
    # Token events dominate the log and a match tries its cases in order: they come first.
    match event:
        case AccessTokenIssued(jti=jti) | AccessTokenRevoked(jti=jti):
            return f"token:{jti}"
        case (
            RefreshTokenIssued()
            | RefreshTokenRotated()
            | RefreshTokenReuseDetected()
            | TokenFamilyRevoked()
            | LoginSucceeded()
            | LoginRefused()
        ):
            return None
        case (
            ClientRegistered(client_id=client_id)
            | ClientSuspended(client_id=client_id)
            | ClientReinstated(client_id=client_id)
            | ClientBanned(client_id=client_id)
            | ClientSecretRotated(client_id=client_id)
        ):
            return f"client:{client_id}"
        case (
            UserRegistered(user_id=user_id)
            | UserPasswordChanged(user_id=user_id)
            | UserOtpEnabled(user_id=user_id)
            | UserDisabled(user_id=user_id)
            | UserTokensRevoked(user_id=user_id)
            | UserErased(user_id=user_id)
        ):
            return f"user:{user_id}"
        case ConsentGranted(scopes=scopes):
            return f"consent:{' '.join(scopes)}"
        case ConsentWithdrawn(client_id=client_id):
            return f"consent:{client_id}"
        case AuthorizationCodeIssued(scopes=scopes) | AuthorizationDenied(scopes=scopes):
            return f"scopes:{' '.join(scopes)}"
        case AuthorizationFlagged(scopes=scopes):
            return f"scopes:{' '.join(scopes)}"
        case (
            AuthorizationCodeRedeemed(family_id=family)
            | AuthorizationCodeReplayed(family_id=family)
        ):
            return f"family:{family}"
        case SigningKeyActivated(kid=kid) | SigningKeyRetired(kid=kid) | SigningKeyRevoked(kid=kid):
            return f"key:{kid}"
        case (
            WorkspaceTokensRevoked(workspace_id=workspace_id)
            | WorkspaceCreated(workspace_id=workspace_id)
        ):
            return f"workspace:{workspace_id}"
        case (
            MemberInvited(user_id=user_id)
            | InvitationAccepted(user_id=user_id)
            | MemberRoleChanged(user_id=user_id)
            | MemberRemoved(user_id=user_id)
        ):
            return f"member:{user_id}"
        case (
            ApiKeyCreated(key_id=key_id)
            | ApiKeyRotated(key_id=key_id)
            | ApiKeyRevoked(key_id=key_id)
        ):
            return f"api_key:{key_id}"
        case TokenRequestRefused(endpoint=endpoint, grant_type=grant_type):
            return f"{endpoint}:{grant_type}" if grant_type else endpoint
        case RateLimitExceeded(limit=limit):
            return f"rate_limit:{limit}"
        case AuditTrailRead(query=query):
            return f"audit:{query}"
        case AuditTrailPruned():
            return "audit:prune"
        case TokenStateCompacted():
            return "token_state:compact"
        case AuditLogVerified():
            return "audit:verify"
        case LogRangeArchived(partition=partition):
            return f"log:{partition}"
        case ProviderRegistered(provider_id=provider_id) | ProviderRemoved(provider_id=provider_id):
            return f"provider:{provider_id}"
        case (
            ConnectionStarted(connection_id=connection_id)
            | ConnectionEstablished(connection_id=connection_id)
            | ConnectionAttemptFailed(connection_id=connection_id)
            | UpstreamRefreshStarted(connection_id=connection_id)
            | UpstreamTokenRefreshed(connection_id=connection_id)
            | UpstreamRefreshFailed(connection_id=connection_id)
            | ConnectionReauthenticationRequired(connection_id=connection_id)
            | ConnectionHealthChecked(connection_id=connection_id)
            | ConnectionRevoked(connection_id=connection_id)
            | ConnectionExpired(connection_id=connection_id)
        ):
            return f"connection:{connection_id}"
        case VaultKeyCreated(kid=kid) | VaultKeyRetired(kid=kid):
            return f"vault_key:{kid}"
        case ConsoleRoleGranted(role=role) | ConsoleRoleRevoked(role=role):
            return f"console_role:{role}"
        case AccessReported(kind=kind, reference=reference):
            return f"{kind}:{reference}"
        case SsoConfigured(workspace_id=workspace) | SsoDisabled(workspace_id=workspace):
            return f"sso:{workspace}"
        case SsoUserProvisioned(issuer=issuer) | SsoIdentityLinked(issuer=issuer):
            return f"sso_identity:{issuer}"
        case _:
            assert_never(event)


def subject_of(event: Event) -> str | None:
    """The user an event is about, from the event itself (metadata may not name one)."""
    match event:
        case (
            UserRegistered(user_id=user_id)
            | UserPasswordChanged(user_id=user_id)
            | UserOtpEnabled(user_id=user_id)
            | UserDisabled(user_id=user_id)
            | UserTokensRevoked(user_id=user_id)
            | UserErased(user_id=user_id)
            | SsoUserProvisioned(user_id=user_id)
            | SsoIdentityLinked(user_id=user_id)
            | LoginSucceeded(user_id=user_id)
            | LoginRefused(user_id=user_id)
            | ConsentGranted(user_id=user_id)
            | ConsentWithdrawn(user_id=user_id)
            | AuthorizationCodeIssued(user_id=user_id)
            | AuthorizationDenied(user_id=user_id)
            | MemberInvited(user_id=user_id)
            | InvitationAccepted(user_id=user_id)
            | MemberRoleChanged(user_id=user_id)
            | MemberRemoved(user_id=user_id)
            | ConnectionStarted(user_id=user_id)
        ):
            return user_id
        case WorkspaceCreated(owner_id=owner_id):
            return owner_id
        case AccessTokenIssued(subject=subject) | TokenRequestRefused(subject=subject):
            return subject
        case AuditTrailRead(subject_user=subject):
            return subject
        case _:
            return None


def workspace_of(event: Event) -> str | None:
    """The workspace an event names itself, for rows whose metadata names none (an admin's)."""
    match event:
        case (
            ClientRegistered(workspace_id=workspace)
            | UserRegistered(workspace_id=workspace)
            | AccessTokenIssued(workspace_id=workspace)
            | WorkspaceTokensRevoked(workspace_id=workspace)
            | WorkspaceCreated(workspace_id=workspace)
            | MemberInvited(workspace_id=workspace)
            | InvitationAccepted(workspace_id=workspace)
            | MemberRoleChanged(workspace_id=workspace)
            | MemberRemoved(workspace_id=workspace)
            | ApiKeyCreated(workspace_id=workspace)
            | ApiKeyRotated(workspace_id=workspace)
            | ApiKeyRevoked(workspace_id=workspace)
            | ProviderRegistered(workspace_id=workspace)
            | ProviderRemoved(workspace_id=workspace)
            | ConnectionStarted(workspace_id=workspace)
            | SsoConfigured(workspace_id=workspace)
            | SsoDisabled(workspace_id=workspace)
            | SsoUserProvisioned(workspace_id=workspace)
            | SsoIdentityLinked(workspace_id=workspace)
        ):
            return workspace
        case _:
            return None


def outcome_of(event: Event) -> tuple[str, str | None]:
    """("success", None), or ("failure", why) for refusals and detected attacks."""
    match event:
        case LoginRefused(reason=reason):
            return "failure", reason
        case AuthorizationDenied():
            return "failure", "access_denied"
        case AuthorizationCodeReplayed():
            return "failure", "code_replayed"
        case RefreshTokenReuseDetected():
            return "failure", "refresh_token_reuse"
        case TokenRequestRefused(error=error):
            return "failure", error
        case ConnectionAttemptFailed(reason=reason):
            return "failure", reason
        case UpstreamRefreshFailed(error=error):
            return "failure", error
        case ConnectionReauthenticationRequired(reason=reason):
            return "failure", reason
        case ConnectionHealthChecked(result=result) if result != "active":
            return "failure", f"token_{result}"
        case ConnectionRevoked(cause="upstream", reason=reason):
            return "failure", f"revoked_upstream: {reason}" if reason else "revoked_upstream"
        case ConnectionExpired():
            return "failure", "expired"
        case RateLimitExceeded():
            return "failure", "too_many_requests"
        case AuditLogVerified(intact=False):
            return "failure", "log_not_intact"
        case AccessReported():
            return "failure", "not_recognised_by_user"
        case _:
            return "success", None


_REDACT: Final = "SELECT audit_trail_redact($1)"


def redaction(user_id: str) -> Statement:
    """Redact the address and user agent of every row by or about an erased person (through
    the one function the table's trigger lets update rows: audit_trail.sql)."""
    return Statement(_REDACT, (user_id,))


def statements(recorded: RecordedEvent) -> list[Statement]:
    meta = recorded.metadata
    outcome, reason = outcome_of(recorded.event)
    # Rows projected before the erasure reached here (the erasure redacts those it finds,
    # the projector reads the rest redacted: the key is gone) are redacted as it passes.
    erased = [redaction(recorded.event.user_id)] if isinstance(recorded.event, UserErased) else []
    return [
        *erased,
        Statement(
            _INSERT,
            (
                recorded.global_position,
                recorded.event_id,
                recorded.occurred_at,
                recorded.stream_id,
                recorded.event_type,
                outcome,
                reason,
                meta.actor,
                meta.actor_id,
                meta.subject_user or subject_of(recorded.event),
                meta.workspace_id or workspace_of(recorded.event),
                meta.client_id,
                resource_of(recorded.event),
                meta.ip,
                meta.user_agent,
                meta.request_id,
                meta.correlation_id,
                recorded.hash,
            ),
        ),
    ]


PROJECTION: Final = Projection(
    name=NAME,
    handles=frozenset(to_snake_case(cls.__name__) for cls in EVENT_TYPES),
    tables=("audit_trail",),
    ddl=load_ddl(NAME),
    statements=statements,
    bulk={_INSERT: _INSERT_MANY},
    indexes=load_ddl(f"{NAME}.indexes"),
)
