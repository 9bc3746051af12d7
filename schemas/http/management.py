"""Management API bodies (`/manage/...`), also the `--json` output of the admin CLI.

Requests forbid unknown fields: a typo in our own API is an error, not a silent default.
Responses never carry a secret digest; a plaintext secret appears once, in the response
that created it.
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

__all__ = [
    "ClientCreated",
    "ClientList",
    "ClientRegistrationRequest",
    "ClientStatusChange",
    "ClientSummary",
    "KeyRevoked",
    "KeysRotated",
    "OtpEnrolled",
    "PasswordChange",
    "SecretRotated",
    "SecretRotation",
    "TokensRevocation",
    "UserCreated",
    "UserCreation",
    "UserDisabling",
    "UserErasing",
    "UserErasure",
    "UserUpdated",
    "WorkspaceUpdated",
]


# Lifetimes are bounded where they are read: a date beyond year 9999 is no lifetime.
_Days = Annotated[int, msgspec.Meta(ge=0, le=36_500)]


class _Request(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    pass


class _Response(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    pass


class ClientRegistrationRequest(_Request, frozen=True, kw_only=True):
    """A client's registration, from the API or the CLI; see `registration_problems`."""

    name: str
    grant_types: tuple[str, ...]
    scopes: tuple[str, ...]
    redirect_uris: tuple[str, ...] = ()
    confidential: bool = True
    require_pkce: bool = True
    token_format: Literal["jwt", "opaque"] = "jwt"
    access_token_ttl: int = 3600
    refresh_token_ttl: int = 2_592_000
    scope_reasons: dict[str, str] = msgspec.field(default_factory=dict)
    review_scopes: tuple[str, ...] = ()
    workspace_id: str | None = None


class ClientCreated(_Response, frozen=True, kw_only=True):
    client_id: str
    # Absent for a public client.
    client_secret: str | None = None


class ClientSummary(msgspec.Struct, frozen=True, kw_only=True):
    """A client's configuration and status: what a listing shows, never a secret or digest."""

    client_id: str
    name: str
    status: Literal["active", "suspended", "banned"]
    confidential: bool
    grant_types: tuple[str, ...]
    scopes: tuple[str, ...]
    redirect_uris: tuple[str, ...]
    require_pkce: bool
    token_format: Literal["jwt", "opaque"]
    access_token_ttl: int
    refresh_token_ttl: int
    scope_reasons: dict[str, str]
    review_scopes: tuple[str, ...]
    workspace_id: str | None


class ClientList(msgspec.Struct, frozen=True, kw_only=True):
    clients: list[ClientSummary]


class SecretRotation(_Request, frozen=True, kw_only=True):
    # Seconds the previous secret keeps working; unset: KEYLEDGER_SECRET_OVERLAP_S.
    overlap_s: Annotated[int, msgspec.Meta(ge=0, le=30 * 86_400)] | None = None


class SecretRotated(_Response, frozen=True, kw_only=True):
    client_id: str
    client_secret: str


class ClientStatusChange(_Request, frozen=True, kw_only=True):
    reason: str = ""


class UserCreation(_Request, frozen=True, kw_only=True):
    username: str
    password: str
    otp: bool = False
    service_account: bool = False
    password_ttl_days: _Days | None = None


class UserCreated(_Response, frozen=True, kw_only=True):
    user_id: str
    # With `otp`: the TOTP seed (RFC 6238) and its otpauth:// URI, shown this once.
    otp_secret: str | None = None
    otp_uri: str | None = None


class PasswordChange(_Request, frozen=True, kw_only=True):
    password: str
    password_ttl_days: _Days | None = None


class UserDisabling(_Request, frozen=True, kw_only=True):
    reason: str = ""


class UserErasing(_Request, frozen=True, kw_only=True):
    """Why a user's personal data is forgotten; kept in clear, so it names no one."""

    reason: str = ""


class UserUpdated(_Response, frozen=True, kw_only=True):
    user_id: str
    username: str


class UserErasure(_Response, frozen=True, kw_only=True):
    """A user forgotten: the id stays (it names no one once their data key is gone)."""

    user_id: str
    erased: bool


class OtpEnrolled(_Response, frozen=True, kw_only=True):
    user_id: str
    otp_secret: str
    otp_uri: str


class KeysRotated(_Response, frozen=True, kw_only=True):
    kids: list[str]


class TokensRevocation(_Request, frozen=True, kw_only=True):
    """Why every token of a user, a workspace or a signing key is revoked (an incident)."""

    reason: str = ""


class KeyRevoked(_Response, frozen=True, kw_only=True):
    kid: str
    # The new pair made current when the revoked key was still signing.
    kids: list[str]


class WorkspaceUpdated(_Response, frozen=True, kw_only=True):
    workspace_id: str
