"""Discovery: RFC 8414 server metadata, OpenID Connect Discovery 1.0, and the JWKS (RFC 7517)."""

from __future__ import annotations

from typing import Any

from litestar import Request, get

from services.authority import Authority
from services.keys import ACCESS_ALG, ID_TOKEN_ALG, published_jwks

__all__ = ["jwks", "openid_configuration", "server_metadata"]


def _metadata(issuer: str) -> dict[str, Any]:
    return {
        "issuer": issuer,
        "authorization_endpoint": f"{issuer}/oauth/authorize",
        "token_endpoint": f"{issuer}/oauth/token",
        "revocation_endpoint": f"{issuer}/oauth/revoke",
        "introspection_endpoint": f"{issuer}/oauth/introspect",
        "userinfo_endpoint": f"{issuer}/oauth/userinfo",
        "jwks_uri": f"{issuer}/.well-known/jwks.json",
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": [
            "authorization_code",
            "client_credentials",
            "refresh_token",
            "password",
        ],
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": [
            "client_secret_basic",
            "client_secret_post",
            "none",
        ],
        "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "introspection_endpoint_auth_methods_supported": [
            "client_secret_basic",
            "client_secret_post",
        ],
        "scopes_supported": ["openid", "profile", "offline_access"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": [ID_TOKEN_ALG],
        "access_token_signing_alg_values_supported": [ACCESS_ALG],
        "claims_supported": [
            "sub",
            "iss",
            "aud",
            "exp",
            "iat",
            "auth_time",
            "nonce",
            "preferred_username",
        ],
        "authorization_response_iss_parameter_supported": True,
        "ui_locales_supported": ["en", "fr"],
    }


@get("/.well-known/oauth-authorization-server", cache=60)
async def server_metadata(request: Request[Any, Any, Any]) -> dict[str, Any]:
    authority: Authority = request.app.state.authority
    return _metadata(authority.issuer)


@get("/.well-known/openid-configuration", cache=60)
async def openid_configuration(request: Request[Any, Any, Any]) -> dict[str, Any]:
    authority: Authority = request.app.state.authority
    return _metadata(authority.issuer)


@get("/.well-known/jwks.json")
async def jwks(request: Request[Any, Any, Any]) -> dict[str, list[dict[str, str]]]:
    authority: Authority = request.app.state.authority
    return await published_jwks(authority.pool)
