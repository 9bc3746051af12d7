"""Bodies of the provider and connection routes, also the `--json` output of the CLI.

Requests forbid unknown fields. No view holds a token or a client secret: a provider says
only whether it has a secret, a connection only when its tokens expire.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

import msgspec

__all__ = [
    "CallbackQuery",
    "ConnectionList",
    "ConnectionRequest",
    "ConnectionStarted",
    "ConnectionView",
    "ConnectionsQuery",
    "DisconnectRequest",
    "KeyRotated",
    "ProviderList",
    "ProviderRequest",
    "ProviderView",
]

Status = Literal[
    "pending", "failed", "healthy", "expiring", "expired", "revoked", "needs_reauthentication"
]


class ProviderRequest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """With `issuer`, the endpoints come from its metadata (RFC 8414 / OIDC discovery); any
    endpoint given here takes precedence. Without it, authorization and token endpoints are
    required."""

    name: str
    client_id: str
    client_secret: str | None = None
    client_auth: Literal["client_secret_basic", "client_secret_post", "none"] = (
        "client_secret_basic"
    )
    issuer: str | None = None
    authorization_endpoint: str | None = None
    token_endpoint: str | None = None
    revocation_endpoint: str | None = None
    introspection_endpoint: str | None = None
    userinfo_endpoint: str | None = None
    jwks_uri: str | None = None
    scopes: list[str] = msgspec.field(default_factory=list)
    refresh_margin_s: int = 300
    max_token_age_s: int | None = None
    health_check_interval_s: int | None = 3600
    refresh_reuse: Literal["one_time", "reusable"] = "one_time"


class ProviderView(msgspec.Struct, frozen=True, kw_only=True):
    provider_id: str
    name: str
    workspace_id: str | None
    issuer: str | None
    authorization_endpoint: str
    token_endpoint: str
    revocation_endpoint: str | None
    introspection_endpoint: str | None
    userinfo_endpoint: str | None
    jwks_uri: str | None
    client_id: str
    has_client_secret: bool
    client_auth: str
    scopes: tuple[str, ...]
    refresh_margin_s: int
    max_token_age_s: int | None
    health_check_interval_s: int | None
    refresh_reuse: str
    iss_parameter_supported: bool
    registered_at: datetime
    removed_at: datetime | None


class ProviderList(msgspec.Struct, frozen=True, kw_only=True):
    providers: list[ProviderView]


class ConnectionRequest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """`provider` by name; with `workspace_id`, the connection is the workspace's (an Owner or
    Admin starts it). `scopes` default to the provider's."""

    provider: str
    workspace_id: str | None = None
    scopes: list[str] | None = None


class ConnectionStarted(msgspec.Struct, frozen=True, kw_only=True):
    """Send the user's browser to `authorization_url`; the provider sends it back to
    `/connections/callback`, which completes the connection."""

    connection_id: str
    authorization_url: str
    expires_at: datetime


class ConnectionView(msgspec.Struct, frozen=True, kw_only=True):
    connection_id: str
    provider_id: str
    provider: str
    user_id: str
    workspace_id: str | None
    status: Status
    scopes: list[str]
    upstream_subject: str | None
    started_at: datetime
    established_at: datetime | None
    access_expires_at: datetime | None
    refresh_expires_at: datetime | None
    has_refresh_token: bool
    last_refreshed_at: datetime | None
    refresh_count: int
    refresh_in_progress: bool
    last_error: str | None
    consecutive_failures: int
    last_health_check_at: datetime | None
    last_health: str | None
    ended_at: datetime | None
    end_reason: str | None


class ConnectionList(msgspec.Struct, frozen=True, kw_only=True):
    connections: list[ConnectionView]


class DisconnectRequest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    reason: str = ""


class KeyRotated(msgspec.Struct, frozen=True, kw_only=True):
    kid: str
    retired: list[str]
    reencrypted: int


class CallbackQuery(msgspec.Struct, frozen=True, kw_only=True):
    """The provider's redirect back (RFC 6749 4.1.2 and 4.1.2.1, RFC 9207); none repeated."""

    state: str | None = None
    code: str | None = None
    iss: str | None = None
    error: str | None = None
    error_description: str | None = None


class ConnectionsQuery(msgspec.Struct, frozen=True, kw_only=True):
    # A workspace the caller is a member of: its connections instead of the caller's own.
    workspace_id: str | None = None
