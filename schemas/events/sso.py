"""Events of the `sso` stream: a workspace's (a company's) own OpenID Connect identity
provider, that its people sign in through (one stream per workspace, `sso-<workspace id>`)."""

from __future__ import annotations

import msgspec

from schemas.events.base import EventBase, Sealed
from schemas.events.provider import ClientAuthMethod

__all__ = ["ClaimMapping", "SsoConfigured", "SsoDisabled", "SsoEvent"]


class ClaimMapping(msgspec.Struct, frozen=True, kw_only=True):
    """Which claim of the ID token (or UserInfo) holds each fact about the person."""

    subject: str = "sub"
    email: str = "email"
    email_verified: str = "email_verified"
    name: str = "name"


class SsoConfigured(EventBase, frozen=True, kw_only=True):
    """The workspace's identity provider, as discovered once; a later one replaces it.

    The client secret is sealed under the master key, never in clear."""

    workspace_id: str
    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    userinfo_endpoint: str | None = None
    client_id: str
    sealed_client_secret: Sealed | None = None
    client_auth: ClientAuthMethod = "client_secret_basic"
    scopes: tuple[str, ...] = ("openid", "email", "profile")
    # Lower-case DNS names: who signs in here, and whose accounts may be linked or made.
    allowed_domains: tuple[str, ...]
    claims: ClaimMapping = msgspec.field(default_factory=ClaimMapping)
    # The provider is the company's directory: its email claim counts as verified.
    trust_email: bool = False
    # Password sign-in is refused for the company's people (service accounts excepted).
    required: bool = False
    # The provider says it sends `iss` with every authorization response (RFC 9207 3).
    iss_parameter_supported: bool = False


class SsoDisabled(EventBase, frozen=True, kw_only=True):
    """Nobody signs in through the provider any more; passwords work again."""

    workspace_id: str
    reason: str = ""


SsoEvent = SsoConfigured | SsoDisabled
