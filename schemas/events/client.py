"""Events of the `client` stream: OAuth client registration and lifecycle (RFC 6749 section 2)."""

from __future__ import annotations

from datetime import datetime

from schemas.events.base import Digest, EventBase

__all__ = ["ClientBanned", "ClientEvent", "ClientRegistered", "ClientReinstated", "ClientSuspended"]


class ClientRegistered(EventBase, frozen=True, kw_only=True):
    client_id: str
    name: str
    confidential: bool
    # Keyed hash of the client secret; absent for public clients.
    secret_digest: Digest | None = None
    redirect_uris: tuple[str, ...] = ()
    grant_types: tuple[str, ...] = ()
    scopes: tuple[str, ...] = ()
    workspace_id: str | None = None


class ClientSecretRotated(EventBase, frozen=True, kw_only=True):
    """A new secret; the previous one stays valid until `previous_valid_until` (the overlap)."""

    client_id: str
    secret_digest: Digest
    previous_valid_until: datetime


class ClientSuspended(EventBase, frozen=True, kw_only=True):
    client_id: str
    reason: str = ""


class ClientReinstated(EventBase, frozen=True, kw_only=True):
    client_id: str


class ClientBanned(EventBase, frozen=True, kw_only=True):
    client_id: str
    reason: str = ""


ClientEvent = (
    ClientRegistered | ClientSecretRotated | ClientSuspended | ClientReinstated | ClientBanned
)
