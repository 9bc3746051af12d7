"""Events of the `provider` stream: an upstream OAuth 2.0 / OpenID Connect provider that users
and workspaces connect third-party accounts from, and how keyledger keeps their tokens fresh."""

from __future__ import annotations

from typing import Literal

from schemas.events.base import EventBase, Sealed

__all__ = [
    "ClientAuthMethod",
    "ProviderEvent",
    "ProviderRegistered",
    "ProviderRemoved",
    "RefreshReuse",
]

# How keyledger authenticates to the provider's token endpoint (RFC 6749 2.3.1).
ClientAuthMethod = Literal["client_secret_basic", "client_secret_post", "none"]
# Whether a refresh token works once (rotated on use, reuse revokes) or until revoked.
RefreshReuse = Literal["one_time", "reusable"]


class ProviderRegistered(EventBase, frozen=True, kw_only=True):
    """A provider and keyledger's client at it; the client secret is sealed, never in clear."""

    provider_id: str
    name: str
    # None: registered by an operator, open to every user; else one workspace's own.
    workspace_id: str | None = None
    # RFC 8414 / OIDC discovery `issuer`, checked against `iss` (RFC 9207) and id_tokens.
    issuer: str | None = None
    authorization_endpoint: str
    token_endpoint: str
    revocation_endpoint: str | None = None
    introspection_endpoint: str | None = None
    userinfo_endpoint: str | None = None
    jwks_uri: str | None = None
    client_id: str
    sealed_client_secret: Sealed | None = None
    client_auth: ClientAuthMethod = "client_secret_basic"
    scopes: tuple[str, ...] = ()
    # Refresh this long before the access (or refresh) token expires.
    refresh_margin_s: int
    # Refresh at least this often whatever the expiry says (None: only by expiry).
    max_token_age_s: int | None = None
    # Ask the provider whether the grant still works this often (None: never).
    health_check_interval_s: int | None = None
    refresh_reuse: RefreshReuse = "one_time"
    # The provider says it sends `iss` with every authorization response (RFC 9207 3).
    iss_parameter_supported: bool = False


class ProviderRemoved(EventBase, frozen=True, kw_only=True):
    """No new connection may start through it; existing ones keep their state."""

    provider_id: str
    workspace_id: str | None = None
    reason: str = ""


ProviderEvent = ProviderRegistered | ProviderRemoved
