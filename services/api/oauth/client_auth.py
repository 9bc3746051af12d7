"""Client authentication at the token, revocation and introspection endpoints (RFC 6749 2.3).

Methods: client_secret_basic, client_secret_post, and none for public clients (with PKCE).
"""

from __future__ import annotations

from services.api.oauth.endpoint import OAuthRequest
from services.api.oauth.params import basic_credentials
from services.authority import Authority
from services.clients import ClientRecord, authenticate
from services.refusals import Refused

__all__ = ["authenticate_client"]


async def authenticate_client(
    authority: Authority,
    request: OAuthRequest,
    params: dict[str, str],
    *,
    allow_public: bool = True,
) -> ClientRecord:
    basic = basic_credentials(request.headers.get("authorization"))
    posted_id, posted_secret = params.get("client_id"), params.get("client_secret")
    if basic is not None:
        if posted_secret is not None:
            raise Refused("invalid_request", "use one client authentication method, not two")
        client_id, secret = basic
        if posted_id is not None and posted_id != client_id:
            raise Refused("invalid_request", "client_id differs from the authenticated client")
        secret_or_none: str | None = secret
    elif posted_id is not None:
        client_id, secret_or_none = posted_id, posted_secret
    else:
        raise Refused("invalid_client", "client authentication is required")
    client = await authority.clients.cached(client_id)
    if not authenticate(authority.hasher, client, secret_or_none) and client is not None:
        client = await authority.clients.get(client_id)  # a secret newer than the kept record?
        if not authenticate(authority.hasher, client, secret_or_none):
            client = None
    if client is None:
        raise Refused("invalid_client", "client authentication failed")
    if client.status != "active":
        raise Refused("invalid_client", f"the client is {client.status}")
    if not client.confidential and not allow_public:
        raise Refused("invalid_client", "a public client cannot use this endpoint")
    return client
