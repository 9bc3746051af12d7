"""Which logged events revoke tokens, and what each one revokes, as resource servers see it.

A revocation is remembered until `expires_at`, the moment after which nothing it matches can
still be presented: the longest lifetime of the access tokens it covers, counted from the
last instant such a token can have been issued.

- one token: its own expiry (the family's latest access-token expiry, which is no earlier);
- a token family: the expiry of its latest access token (a revoked family issues no more);
- a client, or a user for a client: `issued_before` + that client's access-token lifetime;
- a user, a signing key, a workspace: `issued_before` + the longest lifetime any client may
  configure (24 h), because they span clients.

Only access tokens count: refresh tokens and codes are presented to keyledger alone, which
checks them against its own token state. A suspended or banned client's revocation covers
tokens issued up to `client_record_ttl` after the event, the time an API process may still
act on the client's cached record (DECISIONS.md 12).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Final

import msgspec
from schemas.envelope import RecordedEvent
from schemas.events import (
    AccessTokenRevoked,
    ApiKeyRevoked,
    ClientBanned,
    ClientSuspended,
    ConsentWithdrawn,
    EventBase,
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

from domain.policies.lifetimes import MAX_ACCESS_TOKEN_TTL

__all__ = ["REVOKING", "Lifetimes", "client_of", "revocation_of"]

_REVOKING_TYPES: Final[tuple[type[EventBase], ...]] = (
    AccessTokenRevoked,
    TokenFamilyRevoked,
    ClientSuspended,
    ClientBanned,
    ConsentWithdrawn,
    UserDisabled,
    UserPasswordChanged,
    UserTokensRevoked,
    SigningKeyRevoked,
    WorkspaceTokensRevoked,
    ApiKeyRevoked,
)
# Event types that may revoke: followers decode only these to find out.
REVOKING: Final = frozenset(to_snake_case(cls.__name__) for cls in _REVOKING_TYPES)


class Lifetimes(msgspec.Struct, frozen=True, kw_only=True):
    """What the shell knows about lifetimes when it maps an event."""

    # Per client, where known (the client's registration); else `max_access_token_ttl`.
    access_token_ttl: Mapping[str, timedelta] = msgspec.field(default_factory=dict)
    max_access_token_ttl: timedelta = MAX_ACCESS_TOKEN_TTL
    client_record_ttl: timedelta = timedelta(0)
    # How long a resource server may cache an API key's introspection answer.
    api_key_ttl: timedelta = timedelta(minutes=5)

    def of_client(self, client_id: str) -> timedelta:
        return self.access_token_ttl.get(client_id, self.max_access_token_ttl)


def client_of(event: EventBase) -> str | None:
    """The client whose lifetime sets the revocation's expiry, if the event names one."""
    match event:
        case ClientSuspended() | ClientBanned() | ConsentWithdrawn():
            return event.client_id
        case _:
            return None


def revocation_of(recorded: RecordedEvent, lifetimes: Lifetimes) -> Revocation | None:
    """What the event revokes, or None if it revokes nothing."""
    event, at = recorded.event, recorded.occurred_at
    event_id, position, cause = recorded.event_id, recorded.global_position, recorded.event_type
    longest = at + lifetimes.max_access_token_ttl
    match event:
        case AccessTokenRevoked(jti=jti, expires_at=expires_at):
            return TokenRevocation(
                event_id=event_id, global_position=position, occurred_at=at, cause=cause,
                expires_at=_at_most(expires_at, longest), jti=jti,
            )  # fmt: skip
        case TokenFamilyRevoked(expires_at=expires_at):
            return TokenFamilyRevocation(
                event_id=event_id, global_position=position, occurred_at=at, cause=cause,
                expires_at=_at_most(expires_at, longest),
                family_id=recorded.stream_id.split("-", 1)[1],
            )  # fmt: skip
        case ClientSuspended(client_id=client_id) | ClientBanned(client_id=client_id):
            before = at + lifetimes.client_record_ttl
            return ClientRevocation(
                event_id=event_id, global_position=position, occurred_at=at, cause=cause,
                expires_at=before + lifetimes.of_client(client_id),
                client_id=client_id, issued_before=before,
            )  # fmt: skip
        case ConsentWithdrawn(user_id=user_id, client_id=client_id):
            return UserClientRevocation(
                event_id=event_id, global_position=position, occurred_at=at, cause=cause,
                expires_at=at + lifetimes.of_client(client_id),
                user_id=user_id, client_id=client_id, issued_before=at,
            )  # fmt: skip
        case (
            UserDisabled(user_id=user_id)
            | UserPasswordChanged(user_id=user_id)
            | UserTokensRevoked(user_id=user_id)
        ):
            return UserRevocation(
                event_id=event_id, global_position=position, occurred_at=at, cause=cause,
                expires_at=longest, user_id=user_id, issued_before=at,
            )  # fmt: skip
        case SigningKeyRevoked(kid=kid):
            return SigningKeyRevocation(
                event_id=event_id, global_position=position, occurred_at=at, cause=cause,
                expires_at=longest, kid=kid, issued_before=at,
            )  # fmt: skip
        case WorkspaceTokensRevoked(workspace_id=workspace_id):
            return WorkspaceRevocation(
                event_id=event_id, global_position=position, occurred_at=at, cause=cause,
                expires_at=longest, workspace_id=workspace_id, issued_before=at,
            )  # fmt: skip
        case ApiKeyRevoked(workspace_id=workspace_id, key_id=key_id):
            return ApiKeyRevocation(
                event_id=event_id, global_position=position, occurred_at=at, cause=cause,
                expires_at=at + lifetimes.api_key_ttl, workspace_id=workspace_id, key_id=key_id,
            )  # fmt: skip
        case _:
            return None


def _at_most(expires_at: datetime | None, longest: datetime) -> datetime:
    # Events logged before they carried an expiry get the longest lifetime any token has.
    return longest if expires_at is None else min(expires_at, longest)
