"""Events of the `client` stream: OAuth client registration and lifecycle (RFC 6749 section 2)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

import msgspec

from schemas.events.base import Digest, EventBase

__all__ = [
    "ClientBanned",
    "ClientEvent",
    "ClientRegistered",
    "ClientReinstated",
    "ClientSuspended",
    "TokenFormat",
]


TokenFormat = Literal["jwt", "opaque"]


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
    # Always true for public clients (RFC 9700 section 2.1.1).
    require_pkce: bool = True
    # Lifetimes in seconds (DESIGN.md: code 60 s, access 1 h, refresh 30 days rolling).
    code_ttl: int = 60
    access_token_ttl: int = 3600
    refresh_token_ttl: int = 2_592_000
    # "jwt" (RFC 9068, validated locally) or "opaque" (introspection only).
    token_format: TokenFormat = "jwt"
    # Why the client says it needs each scope, shown on the consent page.
    scope_reasons: dict[str, str] = msgspec.field(default_factory=dict)
    # Scopes granted only after review: asking for one flags the request.
    review_scopes: tuple[str, ...] = ()


class ClientSecretRotated(EventBase, frozen=True, kw_only=True):
    """A new secret; the previous one stays valid until `previous_valid_until` (the overlap)."""

    client_id: str
    secret_digest: Digest
    previous_valid_until: datetime
    reason: str = ""


class ClientSuspended(EventBase, frozen=True, kw_only=True):
    client_id: str
    reason: str = ""


class ClientReinstated(EventBase, frozen=True, kw_only=True):
    client_id: str
    reason: str = ""


class ClientBanned(EventBase, frozen=True, kw_only=True):
    client_id: str
    reason: str = ""


ClientEvent = (
    ClientRegistered | ClientSecretRotated | ClientSuspended | ClientReinstated | ClientBanned
)
