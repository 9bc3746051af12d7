"""Token endpoint requests (RFC 6749 section 4): one tagged union on `grant_type`.

An unknown grant fails decoding and becomes `unsupported_grant_type`; the grant's own
parameters are checked by the type. Unknown parameters are ignored (RFC 6749 3.2).
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

__all__ = [
    "GRANT_REQUESTS",
    "AuthorizationCodeRequest",
    "AuthorizationParameters",
    "ClientAuthentication",
    "ClientCredentialsRequest",
    "IntrospectionRequest",
    "PasswordRequest",
    "RefreshTokenRequest",
    "RevocationRequest",
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


class ClientAuthentication(msgspec.Struct, frozen=True, kw_only=True):
    """client_secret_post (RFC 6749 2.3.1), or a public client naming itself, in the body.

    A confidential client may use HTTP Basic instead (never both); a secret is never
    accepted in the query string.
    """

    client_id: str | None = None
    client_secret: str | None = None


class IntrospectionRequest(ClientAuthentication, frozen=True, kw_only=True):
    """RFC 7662 section 2.1; without a token the answer is `{"active": false}`."""

    token: str | None = None
    token_type_hint: str | None = None


class RevocationRequest(ClientAuthentication, frozen=True, kw_only=True):
    """RFC 7009 section 2.1."""

    token: str
    token_type_hint: Literal["access_token", "refresh_token"] | None = None


# The code challenge of RFC 7636 4.2 with S256: BASE64URL(SHA-256), 43 characters.
_Challenge = Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9_-]{43}$")]
# `state` and `nonce` come back to the client unchanged: bounded.
_Echoed = Annotated[str, msgspec.Meta(max_length=1024)]


class AuthorizationParameters(msgspec.Struct, frozen=True, kw_only=True):
    """The authorization request (RFC 6749 4.1.1, RFC 7636 4.3, OpenID Connect Core 3.1.2.1).

    An unknown client or an unregistered `redirect_uri` gets an error page; any other
    problem is redirected to the client as an error.
    """

    response_type: Literal["code"]
    client_id: str
    redirect_uri: str
    scope: str | None = None
    state: _Echoed | None = None
    code_challenge: _Challenge | None = None
    code_challenge_method: Literal["S256"] | None = None
    nonce: _Echoed | None = None
    prompt: str | None = None
    max_age: Annotated[str, msgspec.Meta(pattern=r"^[0-9]+$")] | None = None
    response_mode: Literal["query"] | None = None
    lang: str | None = None
    ui_locales: str | None = None
    # A work email whose domain has a workspace's SSO: straight to that company's provider.
    login_hint: str | None = None
