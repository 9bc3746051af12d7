"""The token family: one grant's tokens, refresh rotation and reuse detection.

Refresh tokens are one-time use and rotate on every refresh (RFC 9700 section 4.14.2):
presenting a spent one means a copy exists somewhere, so the whole family is revoked.
A refusal that changes nothing decides no events; `refresh_refusal` says why.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Literal, assert_never

import msgspec
from schemas.events import (
    AccessTokenIssued,
    AccessTokenRevoked,
    Digest,
    Jti,
    RefreshTokenIssued,
    RefreshTokenReuseDetected,
    RefreshTokenRotated,
    TokenFamilyRevoked,
)
from schemas.events.token_family import TokenFamilyEvent

from domain.decider import Decider

__all__ = [
    "Active",
    "NoFamily",
    "RefreshRefusal",
    "RevokeAccessToken",
    "RevokeFamily",
    "Revoked",
    "RotateRefreshToken",
    "StartFamily",
    "TokenFamilyCommand",
    "TokenFamilyState",
    "decider",
    "refresh_refusal",
    "subject_of",
]


class StartFamily(msgspec.Struct, frozen=True, kw_only=True):
    access: AccessTokenIssued
    refresh: RefreshTokenIssued | None = None


class RotateRefreshToken(msgspec.Struct, frozen=True, kw_only=True):
    presented: Digest
    client_id: str
    now: datetime
    access: AccessTokenIssued
    refresh: RefreshTokenIssued


class RevokeFamily(msgspec.Struct, frozen=True, kw_only=True):
    reason: str


class RevokeAccessToken(msgspec.Struct, frozen=True, kw_only=True):
    jti: Jti


TokenFamilyCommand = StartFamily | RotateRefreshToken | RevokeFamily | RevokeAccessToken


class NoFamily(msgspec.Struct, frozen=True):
    pass


class Active(msgspec.Struct, frozen=True, kw_only=True):
    client_id: str
    subject: str | None
    scopes: tuple[str, ...]
    workspace_id: str | None
    refresh_digest: Digest | None = None
    refresh_expires_at: datetime | None = None
    spent: frozenset[Digest] = frozenset()
    # The latest expiry of the family's access tokens: revoking any of them is moot after it.
    access_expires_at: datetime | None = None


class Revoked(msgspec.Struct, frozen=True, kw_only=True):
    client_id: str
    reason: str
    subject: str | None = None


TokenFamilyState = NoFamily | Active | Revoked

RefreshRefusal = Literal["unknown", "expired", "wrong_client", "reused", "revoked"]


def refresh_refusal(command: RotateRefreshToken, state: TokenFamilyState) -> RefreshRefusal | None:
    """Why a refresh is refused, or None when it rotates."""
    match state:
        case NoFamily():
            return "unknown"
        case Revoked():
            return "revoked"
        case Active():
            if command.presented in state.spent:
                return "reused"
            if command.presented != state.refresh_digest:
                return "unknown"
            if command.client_id != state.client_id:
                return "wrong_client"
            if state.refresh_expires_at is None or command.now >= state.refresh_expires_at:
                return "expired"
            return None
        case _:
            assert_never(state)


def decide(command: TokenFamilyCommand, state: TokenFamilyState) -> Sequence[TokenFamilyEvent]:
    match command, state:
        case StartFamily(access=access, refresh=refresh), NoFamily():
            return [access] if refresh is None else [access, refresh]
        case RotateRefreshToken(), Active():
            refusal = refresh_refusal(command, state)
            if refusal is None:
                return [
                    RefreshTokenRotated(spent_digest=command.presented),
                    command.access,
                    command.refresh,
                ]
            if refusal == "reused":
                return [
                    RefreshTokenReuseDetected(presented_digest=command.presented),
                    TokenFamilyRevoked(
                        reason="refresh_token_reuse", expires_at=state.access_expires_at
                    ),
                ]
            return []
        case RevokeFamily(reason=reason), Active():
            return [TokenFamilyRevoked(reason=reason, expires_at=state.access_expires_at)]
        case RevokeAccessToken(jti=jti), Active():
            return [AccessTokenRevoked(jti=jti, expires_at=state.access_expires_at)]
        case _:
            return []


def evolve(state: TokenFamilyState, event: TokenFamilyEvent) -> TokenFamilyState:
    match event:
        case AccessTokenIssued():
            if isinstance(state, Active):
                latest = state.access_expires_at
                if latest is not None and latest >= event.expires_at:
                    return state
                return msgspec.structs.replace(state, access_expires_at=event.expires_at)
            return Active(
                client_id=event.client_id,
                subject=event.subject,
                scopes=event.scopes,
                workspace_id=event.workspace_id,
                access_expires_at=event.expires_at,
            )
        case RefreshTokenIssued():
            if not isinstance(state, Active):
                return state
            return msgspec.structs.replace(
                state, refresh_digest=event.token_digest, refresh_expires_at=event.expires_at
            )
        case RefreshTokenRotated():
            if not isinstance(state, Active):
                return state
            return msgspec.structs.replace(
                state, refresh_digest=None, spent=state.spent | {event.spent_digest}
            )
        case TokenFamilyRevoked():
            if isinstance(state, Active | Revoked):
                return Revoked(
                    client_id=state.client_id, reason=event.reason, subject=state.subject
                )
            return Revoked(client_id="", reason=event.reason)
        case RefreshTokenReuseDetected() | AccessTokenRevoked():
            return state
        case _:
            assert_never(event)


def subject_of(state: TokenFamilyState) -> str | None:
    """The user the family's tokens act for (None for a client acting as itself)."""
    return state.subject if isinstance(state, Active | Revoked) else None


def _is_revoked(state: TokenFamilyState) -> bool:
    return isinstance(state, Revoked)


decider: Decider[TokenFamilyCommand, TokenFamilyEvent, TokenFamilyState] = Decider(
    initial_state=NoFamily(), decide=decide, evolve=evolve, is_terminal=_is_revoked
)
