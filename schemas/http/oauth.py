"""Token endpoint requests (RFC 6749 section 4): one tagged union on `grant_type`.

An unknown grant fails decoding and becomes `unsupported_grant_type`; the grant's own
parameters are checked by the type. Unknown parameters are ignored (RFC 6749 3.2).
"""

from __future__ import annotations

import msgspec

__all__ = [
    "GRANT_REQUESTS",
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

# The request type of each grant, so a decoder can convert to one Struct (which msgspec
# caches) rather than to the union (which it would re-analyse on every call).
GRANT_REQUESTS: dict[str, type[TokenRequest]] = {
    cls.__struct_config__.tag: cls  # type: ignore[misc]
    for cls in (
        AuthorizationCodeRequest,
        ClientCredentialsRequest,
        RefreshTokenRequest,
        PasswordRequest,
    )
}
