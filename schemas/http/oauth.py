"""Token endpoint requests (RFC 6749 section 4): one tagged union on `grant_type`.

An unknown grant fails decoding and becomes `unsupported_grant_type`; the grant's own
parameters are checked by the type. Unknown parameters are ignored (RFC 6749 3.2).
"""

from __future__ import annotations

import msgspec

__all__ = [
    "AuthorizationCodeRequest",
    "ClientCredentialsRequest",
    "PasswordRequest",
    "RefreshTokenRequest",
    "TokenRequest",
]


class _Grant(msgspec.Struct, frozen=True, kw_only=True, tag_field="grant_type"):
    scope: str | None = None


class AuthorizationCodeRequest(_Grant, frozen=True, kw_only=True, tag="authorization_code"):
    code: str
    redirect_uri: str | None = None
    code_verifier: str | None = None


class ClientCredentialsRequest(_Grant, frozen=True, kw_only=True, tag="client_credentials"):
    pass


class RefreshTokenRequest(_Grant, frozen=True, kw_only=True, tag="refresh_token"):
    refresh_token: str


class PasswordRequest(_Grant, frozen=True, kw_only=True, tag="password"):
    username: str
    password: str


TokenRequest = (
    AuthorizationCodeRequest | ClientCredentialsRequest | RefreshTokenRequest | PasswordRequest
)
