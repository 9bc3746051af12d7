"""Bodies of a workspace's single sign-on routes, also the `--json` output of the CLI.

No view holds the client secret: only whether there is one.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

import msgspec

__all__ = ["SsoDisabling", "SsoRequest", "SsoView"]


class SsoRequest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The provider by its issuer (endpoints from OpenID Connect discovery). Omitting
    `client_secret` keeps the current one (same `client_id`). `claims` maps `subject`,
    `email`, `email_verified` and `name` to the provider's claim names."""

    issuer: str
    client_id: str
    client_secret: str | None = None
    client_auth: Literal["client_secret_basic", "client_secret_post", "none"] = (
        "client_secret_basic"
    )
    allowed_domains: list[str]
    claims: dict[str, str] = msgspec.field(default_factory=dict)
    scopes: list[str] = msgspec.field(default_factory=lambda: ["openid", "email", "profile"])
    trust_email: bool = False
    required: bool = False


class SsoView(msgspec.Struct, frozen=True, kw_only=True):
    workspace_id: str
    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    userinfo_endpoint: str | None
    client_id: str
    has_client_secret: bool
    client_auth: str
    scopes: tuple[str, ...]
    allowed_domains: tuple[str, ...]
    claims: dict[str, str]
    trust_email: bool
    required: bool
    iss_parameter_supported: bool
    # What to register at the provider as keyledger's redirect URI.
    redirect_uri: str
    configured_at: datetime


class SsoDisabling(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    reason: str = ""
