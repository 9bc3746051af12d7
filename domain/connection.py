"""A connected third-party account: `pending` at the provider, then `active` (or `failed`),
ending `revoked`, `expired` (nothing can renew it) or `needs_reauthentication`.

A refresh is claimed before its request leaves, one claim at a time; its answer closes it. A
claim a dead worker left open is resolved first: a refresh token that may be spent is never
presented again (the provider would revoke the grant, RFC 9700 4.14.2), the connection needs
re-authentication instead; a late answer to that very claim still brings it back.
"""

from __future__ import annotations

import hmac
from collections.abc import Sequence
from datetime import datetime
from typing import Literal, assert_never

import msgspec
from schemas.events import (
    ConnectionAttemptFailed,
    ConnectionEstablished,
    ConnectionExpired,
    ConnectionHealthChecked,
    ConnectionReauthenticationRequired,
    ConnectionRevoked,
    ConnectionStarted,
    Digest,
    UpstreamRefreshFailed,
    UpstreamRefreshStarted,
    UpstreamTokenRefreshed,
)
from schemas.events.connection import (
    ConnectionEvent,
    HealthResult,
    RefreshTrigger,
    RevocationCause,
)

from domain.decider import Decider

__all__ = [
    "ClaimRefresh",
    "CompleteConnection",
    "ConnectionCommand",
    "ConnectionRefusal",
    "ConnectionState",
    "ExpireConnection",
    "FailConnection",
    "Lifecycle",
    "RecordHealthCheck",
    "RecordRefresh",
    "RecordRefreshFailure",
    "ResolveOpenClaim",
    "RevokeConnection",
    "StartConnection",
    "Tokens",
    "decider",
]

Lifecycle = Literal[
    "new", "pending", "failed", "active", "needs_reauthentication", "revoked", "expired"
]
RefusalCode = Literal["not_found", "conflict", "invalid"]
# OAuth errors that say the grant itself is gone (RFC 6749 5.2): the connection is revoked.
_GRANT_GONE = frozenset({"invalid_grant"})


class ConnectionRefusal(Exception):
    def __init__(self, code: RefusalCode, description: str) -> None:
        super().__init__(description)
        self.code: RefusalCode = code
        self.description = description


class Tokens(msgspec.Struct, frozen=True, kw_only=True):
    """What a token response gave, as digests (the tokens are stored encrypted elsewhere)."""

    access_token_digest: Digest
    refresh_token_digest: Digest | None
    access_expires_at: datetime | None
    refresh_expires_at: datetime | None


class StartConnection(msgspec.Struct, frozen=True, kw_only=True):
    connection_id: str
    provider_id: str
    user_id: str
    workspace_id: str | None
    scopes: tuple[str, ...]
    state_digest: Digest
    redirect_uri: str
    expires_at: datetime


class CompleteConnection(msgspec.Struct, frozen=True, kw_only=True):
    """The callback's code was exchanged; `state_digest` is what the browser brought back."""

    state_digest: Digest
    now: datetime
    tokens: Tokens
    scopes: tuple[str, ...]
    upstream_subject: str | None = None


class FailConnection(msgspec.Struct, frozen=True, kw_only=True):
    state_digest: Digest
    reason: str
    description: str = ""


class ClaimRefresh(msgspec.Struct, frozen=True, kw_only=True):
    attempt_id: str
    trigger: RefreshTrigger


class RecordRefresh(msgspec.Struct, frozen=True, kw_only=True):
    attempt_id: str
    tokens: Tokens


class RecordRefreshFailure(msgspec.Struct, frozen=True, kw_only=True):
    attempt_id: str
    error: str
    description: str = ""
    in_doubt: bool = False
    retry_at: datetime | None = None


class ResolveOpenClaim(msgspec.Struct, frozen=True, kw_only=True):
    """A claim (or an attempt in doubt) no live worker will finish. `token_spent`: True if the
    provider says the refresh token no longer works, False if it still does (or is reusable),
    None if nobody can tell."""

    attempt_id: str
    token_spent: bool | None


class RecordHealthCheck(msgspec.Struct, frozen=True, kw_only=True):
    method: Literal["introspection", "userinfo"]
    result: HealthResult
    detail: str = ""


class RevokeConnection(msgspec.Struct, frozen=True, kw_only=True):
    cause: RevocationCause
    reason: str = ""
    upstream_revoked: bool = False


class ExpireConnection(msgspec.Struct, frozen=True, kw_only=True):
    now: datetime


ConnectionCommand = (
    StartConnection
    | CompleteConnection
    | FailConnection
    | ClaimRefresh
    | RecordRefresh
    | RecordRefreshFailure
    | ResolveOpenClaim
    | RecordHealthCheck
    | RevokeConnection
    | ExpireConnection
)


class ConnectionState(msgspec.Struct, frozen=True, kw_only=True):
    lifecycle: Lifecycle = "new"
    started: ConnectionStarted | None = None
    tokens: Tokens | None = None
    # The open claim (a refresh request that may be in flight), and the last attempt whose
    # outcome is in doubt (its request may have spent the refresh token).
    claim: UpstreamRefreshStarted | None = None
    in_doubt: str | None = None
    # The attempt whose interruption cost the connection its tokens: its late answer counts.
    interrupted: str | None = None
    # A health check found the access token dead while a refresh token may still work.
    refresh_requested: bool = False

    @property
    def connection_id(self) -> str:
        return self.started.connection_id if self.started else ""


def decide(command: ConnectionCommand, state: ConnectionState) -> Sequence[ConnectionEvent]:
    match command:
        case StartConnection():
            if state.lifecycle != "new":
                raise ConnectionRefusal("conflict", "the connection exists already")
            return [ConnectionStarted(**msgspec.structs.asdict(command))]
        case CompleteConnection() | FailConnection():
            return _callback(command, state)
        case ClaimRefresh() | RecordRefresh() | RecordRefreshFailure() | ResolveOpenClaim():
            return _refresh(command, state)
        case RecordHealthCheck():
            _require_active(state)
            return _health(command, state)
        case RevokeConnection(cause=cause, reason=reason, upstream_revoked=upstream):
            if state.lifecycle == "new":
                raise ConnectionRefusal("not_found", "there is no such connection")
            if state.lifecycle in ("failed", "revoked"):
                return []
            return [
                ConnectionRevoked(connection_id=state.connection_id, cause=cause, reason=reason,
                                  upstream_revoked=upstream)
            ]  # fmt: skip
        case ExpireConnection(now=now):
            _require_active(state)
            return _expire(state, now)
        case _:
            assert_never(command)


def _require_active(state: ConnectionState) -> None:
    if state.lifecycle == "new":
        raise ConnectionRefusal("not_found", "there is no such connection")
    if state.lifecycle != "active":
        raise ConnectionRefusal("conflict", f"the connection is {state.lifecycle}")


def _callback(
    command: CompleteConnection | FailConnection, state: ConnectionState
) -> Sequence[ConnectionEvent]:
    started = state.started
    # The state digest names the stream, so a mismatch here means a forged or stale state.
    if started is None or not hmac.compare_digest(started.state_digest, command.state_digest):
        raise ConnectionRefusal("not_found", "no authorization is waiting for this state")
    if state.lifecycle != "pending":
        raise ConnectionRefusal("conflict", "this authorization has already been completed")
    connection_id = started.connection_id
    match command:
        case FailConnection(reason=reason, description=description):
            failed = ConnectionAttemptFailed(
                connection_id=connection_id, reason=reason, description=description
            )
            return [failed]
        case CompleteConnection(now=now, tokens=tokens):
            if now >= started.expires_at:
                description = "the authorization took too long; start again"
                return [ConnectionAttemptFailed(connection_id=connection_id, reason="expired",
                                                description=description)]  # fmt: skip
            return [
                ConnectionEstablished(
                    connection_id=connection_id, provider_id=started.provider_id,
                    upstream_subject=command.upstream_subject, scopes=command.scopes,
                    **msgspec.structs.asdict(tokens),
                )
            ]  # fmt: skip


def _refresh(
    command: ClaimRefresh | RecordRefresh | RecordRefreshFailure | ResolveOpenClaim,
    state: ConnectionState,
) -> Sequence[ConnectionEvent]:
    connection_id = state.connection_id
    match command:
        case ClaimRefresh(attempt_id=attempt_id, trigger=trigger):
            _require_active(state)
            if state.claim is not None or state.in_doubt is not None:
                raise ConnectionRefusal("conflict", "a refresh is already under way")
            refresh = state.tokens.refresh_token_digest if state.tokens else None
            if refresh is None:
                raise ConnectionRefusal("conflict", "the connection holds no refresh token")
            return [
                UpstreamRefreshStarted(connection_id=connection_id, attempt_id=attempt_id,
                                       refresh_token_digest=refresh, trigger=trigger)
            ]  # fmt: skip
        case RecordRefresh(attempt_id=attempt_id, tokens=tokens):
            return _refreshed(state, attempt_id, tokens)
        case RecordRefreshFailure(attempt_id=attempt_id):
            if state.claim is None or state.claim.attempt_id != attempt_id:
                return []  # resolved meanwhile by another worker: nothing to record
            failed = UpstreamRefreshFailed(
                connection_id=connection_id, attempt_id=attempt_id, error=command.error,
                description=command.description, in_doubt=command.in_doubt,
                retry_at=command.retry_at,
            )  # fmt: skip
            if command.error not in _GRANT_GONE:
                return [failed]
            return [failed, ConnectionRevoked(connection_id=connection_id, cause="upstream",
                                              reason=command.error)]  # fmt: skip
        case ResolveOpenClaim(attempt_id=attempt_id, token_spent=spent):
            return _resolve(state, attempt_id, spent)


def _refreshed(state: ConnectionState, attempt_id: str, tokens: Tokens) -> list[ConnectionEvent]:
    claimed = state.claim is not None and state.claim.attempt_id == attempt_id
    late = state.lifecycle == "needs_reauthentication" and state.interrupted == attempt_id
    if not (claimed or late) or state.tokens is None:
        return []  # the attempt no longer counts (revoked or resolved meanwhile)
    previous = (
        state.claim.refresh_token_digest if state.claim else state.tokens.refresh_token_digest
    )
    refresh = tokens.refresh_token_digest or previous
    assert refresh is not None  # a claim needs a refresh token
    return [
        UpstreamTokenRefreshed(
            connection_id=state.connection_id, attempt_id=attempt_id,
            access_token_digest=tokens.access_token_digest, refresh_token_digest=refresh,
            refresh_token_rotated=refresh != previous,
            access_expires_at=tokens.access_expires_at,
            refresh_expires_at=tokens.refresh_expires_at or state.tokens.refresh_expires_at,
        )
    ]  # fmt: skip


def _resolve(state: ConnectionState, attempt_id: str, spent: bool | None) -> list[ConnectionEvent]:
    open_claim = state.claim is not None and state.claim.attempt_id == attempt_id
    if state.lifecycle != "active" or not (open_claim or state.in_doubt == attempt_id):
        return []
    if spent is False:
        # Nothing was spent: the claim is released and the next refresh may go ahead.
        return [
            UpstreamRefreshFailed(
                connection_id=state.connection_id, attempt_id=attempt_id, error="interrupted",
                description="the attempt ended without an answer; the refresh token still works",
            )
        ]  # fmt: skip
    return [
        ConnectionReauthenticationRequired(
            connection_id=state.connection_id, attempt_id=attempt_id,
            reason="refresh_token_spent" if spent else "refresh_outcome_unknown",
        )
    ]  # fmt: skip


def _health(command: RecordHealthCheck, state: ConnectionState) -> Sequence[ConnectionEvent]:
    checked = ConnectionHealthChecked(
        connection_id=state.connection_id, method=command.method, result=command.result,
        detail=command.detail,
    )  # fmt: skip
    no_refresh = state.tokens is None or state.tokens.refresh_token_digest is None
    if command.result == "inactive" and no_refresh:
        # Nothing could renew it: the provider has ended the grant.
        revoked = ConnectionRevoked(
            connection_id=state.connection_id, cause="upstream", reason="token_inactive"
        )
        return [checked, revoked]
    return [checked]


def _expire(state: ConnectionState, now: datetime) -> Sequence[ConnectionEvent]:
    tokens = state.tokens
    assert tokens is not None
    expired_at, refresh_until = tokens.access_expires_at, tokens.refresh_expires_at
    renewable = tokens.refresh_token_digest is not None and (
        refresh_until is None or now < refresh_until
    )
    if expired_at is None or now < expired_at or renewable:
        raise ConnectionRefusal("conflict", "the connection can still be used or renewed")
    return [ConnectionExpired(connection_id=state.connection_id, expired_at=expired_at)]


def _tokens_of(event: ConnectionEstablished | UpstreamTokenRefreshed) -> Tokens:
    return Tokens(
        access_token_digest=event.access_token_digest,
        refresh_token_digest=event.refresh_token_digest,
        access_expires_at=event.access_expires_at, refresh_expires_at=event.refresh_expires_at,
    )  # fmt: skip


def evolve(state: ConnectionState, event: ConnectionEvent) -> ConnectionState:
    replace = msgspec.structs.replace
    match event:
        case ConnectionStarted():
            return replace(state, lifecycle="pending", started=event)
        case ConnectionEstablished():
            return replace(state, lifecycle="active", tokens=_tokens_of(event))
        case ConnectionAttemptFailed():
            return replace(state, lifecycle="failed")
        case UpstreamRefreshStarted():
            return replace(state, claim=event)
        case UpstreamTokenRefreshed():
            return replace(
                state, lifecycle="active", tokens=_tokens_of(event), claim=None, in_doubt=None,
                interrupted=None, refresh_requested=False,
            )  # fmt: skip
        case UpstreamRefreshFailed(attempt_id=attempt_id, in_doubt=in_doubt):
            return replace(state, claim=None, in_doubt=attempt_id if in_doubt else None)
        case ConnectionReauthenticationRequired(attempt_id=attempt_id):
            return replace(
                state, lifecycle="needs_reauthentication", claim=None, in_doubt=None,
                interrupted=attempt_id,
            )  # fmt: skip
        case ConnectionHealthChecked(result=result):
            return replace(state, refresh_requested=state.refresh_requested or result == "inactive")
        case ConnectionRevoked():
            return replace(state, lifecycle="revoked", claim=None, in_doubt=None)
        case ConnectionExpired():
            return replace(state, lifecycle="expired")
        case _:
            assert_never(event)


decider: Decider[ConnectionCommand, ConnectionEvent, ConnectionState] = Decider(
    initial_state=ConnectionState(),
    decide=decide,
    evolve=evolve,
    is_terminal=lambda state: state.lifecycle in ("failed", "revoked", "expired"),
)
