"""Events of the `token_family` stream: one grant and every token derived from it.

A family starts with its first access token; refresh tokens rotate inside it (one-time
use), and revoking the family revokes every token in it (RFC 9700 section 4.14.2).
"""

from __future__ import annotations

from datetime import datetime

from schemas.events.base import Digest, EventBase, Jti

__all__ = [
    "AccessTokenIssued",
    "AccessTokenRevoked",
    "RefreshTokenIssued",
    "RefreshTokenReuseDetected",
    "RefreshTokenRotated",
    "TokenFamilyEvent",
    "TokenFamilyRevoked",
]


class AccessTokenIssued(EventBase, frozen=True, kw_only=True):
    jti: Jti
    client_id: str
    grant_type: str
    scopes: tuple[str, ...]
    expires_at: datetime
    subject: str | None = None
    workspace_id: str | None = None
    # SHA-256 of the token as issued: introspection looks it up, a forged one never matches.
    token_digest: Digest | None = None
    # The JWS `kid` that signed a JWT access token (None when opaque): revoking a key finds it.
    kid: str | None = None


class RefreshTokenIssued(EventBase, frozen=True, kw_only=True):
    token_digest: Digest
    expires_at: datetime


class RefreshTokenRotated(EventBase, frozen=True, kw_only=True):
    """The presented refresh token is spent; a new pair follows in the same append."""

    spent_digest: Digest


class RefreshTokenReuseDetected(EventBase, frozen=True, kw_only=True):
    """A spent refresh token came back: someone holds a copy. The family is revoked."""

    presented_digest: Digest


class AccessTokenRevoked(EventBase, frozen=True, kw_only=True):
    jti: Jti
    # No later than the token's own expiry: after it the revocation need not be remembered.
    expires_at: datetime | None = None


class TokenFamilyRevoked(EventBase, frozen=True, kw_only=True):
    reason: str
    # When the family's last access token expires (None if it issued none known).
    expires_at: datetime | None = None


TokenFamilyEvent = (
    AccessTokenIssued
    | RefreshTokenIssued
    | RefreshTokenRotated
    | RefreshTokenReuseDetected
    | AccessTokenRevoked
    | TokenFamilyRevoked
)
