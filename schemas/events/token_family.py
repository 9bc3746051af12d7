"""Events of the `token_family` stream: one grant and every token derived from it."""

from __future__ import annotations

from datetime import datetime

from schemas.events.base import EventBase, Jti

__all__ = ["AccessTokenIssued", "TokenFamilyEvent", "TokenFamilyRevoked"]


class AccessTokenIssued(EventBase, frozen=True, kw_only=True):
    jti: Jti
    client_id: str
    grant_type: str
    scopes: tuple[str, ...]
    expires_at: datetime
    subject: str | None = None
    workspace_id: str | None = None


class TokenFamilyRevoked(EventBase, frozen=True, kw_only=True):
    reason: str


TokenFamilyEvent = AccessTokenIssued | TokenFamilyRevoked
