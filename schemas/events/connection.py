"""Events of the `connection` stream: a third-party account connected by a user or a
workspace, and every refresh, failure, health check and revocation of its upstream tokens.

No upstream token is ever in an event, not even encrypted: events carry SHA-256 digests of
them (to check the stored ciphertexts against the log), and the tokens themselves live
encrypted in `upstream_tokens`, written in the same transaction (DECISIONS.md 22).
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from schemas.events.base import Digest, EventBase

__all__ = [
    "ConnectionAttemptFailed",
    "ConnectionEstablished",
    "ConnectionEvent",
    "ConnectionExpired",
    "ConnectionHealthChecked",
    "ConnectionReauthenticationRequired",
    "ConnectionRevoked",
    "ConnectionStarted",
    "HealthResult",
    "RefreshTrigger",
    "RevocationCause",
    "UpstreamRefreshFailed",
    "UpstreamRefreshStarted",
    "UpstreamTokenRefreshed",
]

RefreshTrigger = Literal["expiry", "max_age", "health_check"]
HealthResult = Literal["active", "inactive", "unavailable"]
# Who ended it: the user or workspace that owns it, the provider, or an operator.
RevocationCause = Literal["owner", "upstream", "operator"]


class ConnectionStarted(EventBase, frozen=True, kw_only=True):
    """A user (for themselves, or for a workspace) was sent to the provider to authorize.

    Only the digest of `state` is kept: the browser holds the value, and the PKCE verifier
    and nonce are derived from it under a key of keyledger's (never stored).
    """

    connection_id: str
    provider_id: str
    user_id: str
    workspace_id: str | None = None
    scopes: tuple[str, ...]
    state_digest: Digest
    redirect_uri: str
    expires_at: datetime


class ConnectionEstablished(EventBase, frozen=True, kw_only=True):
    connection_id: str
    provider_id: str
    # The account at the provider (id_token or introspection `sub`), when it says.
    upstream_subject: str | None = None
    scopes: tuple[str, ...]
    access_token_digest: Digest
    refresh_token_digest: Digest | None = None
    access_expires_at: datetime | None = None
    refresh_expires_at: datetime | None = None


class ConnectionAttemptFailed(EventBase, frozen=True, kw_only=True):
    """The authorization did not produce a connection (denied, expired, refused, mismatched)."""

    connection_id: str
    reason: str
    description: str = ""


class UpstreamRefreshStarted(EventBase, frozen=True, kw_only=True):
    """The claim recorded before the refresh request leaves: at most one is open per
    connection, and a worker that dies after it leaves it open for the next to resolve."""

    connection_id: str
    attempt_id: str
    refresh_token_digest: Digest
    trigger: RefreshTrigger


class UpstreamTokenRefreshed(EventBase, frozen=True, kw_only=True):
    connection_id: str
    attempt_id: str
    access_token_digest: Digest
    refresh_token_digest: Digest
    # False when the provider kept the same refresh token (no rotation).
    refresh_token_rotated: bool
    access_expires_at: datetime | None = None
    refresh_expires_at: datetime | None = None


class UpstreamRefreshFailed(EventBase, frozen=True, kw_only=True):
    """The attempt ended without new tokens. `in_doubt`: the request may have reached the
    provider, so a one-time refresh token may be spent (resolved before any retry)."""

    connection_id: str
    attempt_id: str
    error: str
    description: str = ""
    in_doubt: bool = False
    retry_at: datetime | None = None


class ConnectionReauthenticationRequired(EventBase, frozen=True, kw_only=True):
    """keyledger cannot vouch for its tokens any more: the owner must connect again."""

    connection_id: str
    attempt_id: str
    reason: Literal["refresh_token_spent", "refresh_outcome_unknown"]


class ConnectionHealthChecked(EventBase, frozen=True, kw_only=True):
    connection_id: str
    method: Literal["introspection", "userinfo"]
    result: HealthResult
    detail: str = ""


class ConnectionRevoked(EventBase, frozen=True, kw_only=True):
    connection_id: str
    cause: RevocationCause
    reason: str = ""
    # Whether the provider's revocation endpoint (RFC 7009) confirmed the tokens' end.
    upstream_revoked: bool = False


class ConnectionExpired(EventBase, frozen=True, kw_only=True):
    """The access token expired and there is no refresh token that could renew it."""

    connection_id: str
    expired_at: datetime


ConnectionEvent = (
    ConnectionStarted
    | ConnectionEstablished
    | ConnectionAttemptFailed
    | UpstreamRefreshStarted
    | UpstreamTokenRefreshed
    | UpstreamRefreshFailed
    | ConnectionReauthenticationRequired
    | ConnectionHealthChecked
    | ConnectionRevoked
    | ConnectionExpired
)
