"""The client aggregate: registration, secret rotation, suspension and ban (RFC 6749 section 2).

A command that does not apply to the client's state decides no events; the caller reports
that as a conflict. A banned client is final: nothing reinstates it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import assert_never

import msgspec
from schemas.events import (
    ClientBanned,
    ClientRegistered,
    ClientReinstated,
    ClientSecretRotated,
    ClientSuspended,
    Digest,
)
from schemas.events.client import ClientEvent, TokenFormat

from domain.decider import Decider

__all__ = [
    "Active",
    "BanClient",
    "Banned",
    "ClientCommand",
    "ClientState",
    "RegisterClient",
    "ReinstateClient",
    "RotateClientSecret",
    "SuspendClient",
    "Suspended",
    "Unregistered",
    "decider",
]


# Commands: the shell fills in time and digests, so deciding stays pure.
class RegisterClient(msgspec.Struct, frozen=True, kw_only=True):
    client_id: str
    name: str
    confidential: bool
    secret_digest: Digest | None
    redirect_uris: tuple[str, ...] = ()
    grant_types: tuple[str, ...] = ()
    scopes: tuple[str, ...] = ()
    workspace_id: str | None = None
    require_pkce: bool = True
    access_token_ttl: int = 3600
    refresh_token_ttl: int = 2_592_000
    token_format: TokenFormat = "jwt"
    scope_reasons: dict[str, str] = msgspec.field(default_factory=dict)
    review_scopes: tuple[str, ...] = ()


class RotateClientSecret(msgspec.Struct, frozen=True, kw_only=True):
    secret_digest: Digest
    now: datetime
    overlap: timedelta
    reason: str = ""


class SuspendClient(msgspec.Struct, frozen=True, kw_only=True):
    reason: str = ""


class ReinstateClient(msgspec.Struct, frozen=True, kw_only=True):
    reason: str = ""


class BanClient(msgspec.Struct, frozen=True, kw_only=True):
    reason: str = ""


ClientCommand = RegisterClient | RotateClientSecret | SuspendClient | ReinstateClient | BanClient


# States.
class Unregistered(msgspec.Struct, frozen=True):
    pass


class Active(msgspec.Struct, frozen=True, kw_only=True):
    client_id: str
    confidential: bool
    # Digests that authenticate the client: the current one first, then one in overlap.
    secret_digests: tuple[Digest, ...]
    previous_valid_until: datetime | None = None


class Suspended(msgspec.Struct, frozen=True, kw_only=True):
    client: Active


class Banned(msgspec.Struct, frozen=True, kw_only=True):
    client_id: str


ClientState = Unregistered | Active | Suspended | Banned


def decide(command: ClientCommand, state: ClientState) -> Sequence[ClientEvent]:
    match command, state:
        case RegisterClient(), Unregistered():
            return [_registered(command)] if _registrable(command) else []
        case RotateClientSecret(), Active(confidential=True):
            return [
                ClientSecretRotated(
                    client_id=state.client_id,
                    secret_digest=command.secret_digest,
                    previous_valid_until=command.now + command.overlap,
                    reason=command.reason,
                )
            ]
        case SuspendClient(reason=reason), Active(client_id=client_id):
            return [ClientSuspended(client_id=client_id, reason=reason)]
        case ReinstateClient(reason=reason), Suspended(client=client):
            return [ClientReinstated(client_id=client.client_id, reason=reason)]
        case BanClient(reason=reason), Active(client_id=client_id):
            return [ClientBanned(client_id=client_id, reason=reason)]
        case BanClient(reason=reason), Suspended(client=client):
            return [ClientBanned(client_id=client.client_id, reason=reason)]
        case _:
            return []


def _registrable(command: RegisterClient) -> bool:
    # A confidential client authenticates with a secret; a public one never holds one.
    return command.confidential == (command.secret_digest is not None)


def _registered(command: RegisterClient) -> ClientRegistered:
    return ClientRegistered(
        client_id=command.client_id,
        name=command.name,
        confidential=command.confidential,
        secret_digest=command.secret_digest,
        redirect_uris=command.redirect_uris,
        grant_types=command.grant_types,
        scopes=command.scopes,
        workspace_id=command.workspace_id,
        # Public clients cannot keep a secret: PKCE is what binds their codes.
        require_pkce=command.require_pkce or not command.confidential,
        access_token_ttl=command.access_token_ttl,
        refresh_token_ttl=command.refresh_token_ttl,
        token_format=command.token_format,
        scope_reasons=command.scope_reasons,
        review_scopes=command.review_scopes,
    )


def evolve(state: ClientState, event: ClientEvent) -> ClientState:
    match event:
        case ClientRegistered():
            digests = () if event.secret_digest is None else (event.secret_digest,)
            return Active(
                client_id=event.client_id, confidential=event.confidential, secret_digests=digests
            )
        case ClientSecretRotated():
            if not isinstance(state, Active):
                return state
            return Active(
                client_id=state.client_id,
                confidential=state.confidential,
                secret_digests=(event.secret_digest, *state.secret_digests[:1]),
                previous_valid_until=event.previous_valid_until,
            )
        case ClientSuspended():
            return Suspended(client=state) if isinstance(state, Active) else state
        case ClientReinstated():
            return state.client if isinstance(state, Suspended) else state
        case ClientBanned():
            return Banned(client_id=event.client_id)
        case _:
            assert_never(event)


def _is_banned(state: ClientState) -> bool:
    return isinstance(state, Banned)


decider: Decider[ClientCommand, ClientEvent, ClientState] = Decider(
    initial_state=Unregistered(), decide=decide, evolve=evolve, is_terminal=_is_banned
)
