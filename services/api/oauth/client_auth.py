"""Client authentication at the token, revocation and introspection endpoints (RFC 6749 2.3).

Methods: client_secret_basic, client_secret_post, and none for public clients (with PKCE).
A failed authentication is recorded as an event (services/refusal_log.py) before it is
answered: a wrong secret, an unknown client, a suspended or banned one.

Rate limits (DECISIONS 20): every request counts against its source address, an authenticated
confidential client against its own limit, and a failed authentication against the address's
failure limit, past which failures are answered 429 and counted instead of each appended.
"""

from __future__ import annotations

from typing import Final

from schemas.events.refusal import OAuthEndpoint
from services.api.oauth.endpoint import OAuthRequest, request_metadata
from services.api.oauth.params import basic_credentials
from services.api.rate_limits import client_address, enforce
from services.authority import Authority
from services.clients import ClientRecord, authenticate
from services.refusal_log import record_refusal
from services.refusals import Refused

__all__ = ["authenticate_client"]

# A claimed client id is caller input: what an event keeps of it is bounded.
_CLAIM_MAX: Final = 128


async def authenticate_client(
    authority: Authority,
    request: OAuthRequest,
    params: dict[str, str],
    *,
    endpoint: OAuthEndpoint,
    allow_public: bool = True,
) -> ClientRecord:
    address = client_address(request)
    await enforce(authority, "source", address, request)
    client_id, secret_or_none = _claimed(request, params)
    client = await authority.clients.cached(client_id)
    if not authenticate(authority.hasher, client, secret_or_none) and client is not None:
        client = await authority.clients.get(client_id)  # a secret newer than the kept record?
        if not authenticate(authority.hasher, client, secret_or_none):
            client = None
    if client is None or client.status != "active":
        why = "client authentication failed" if client is None else f"the client is {client.status}"
        refused = Refused("invalid_client", why)
        await enforce(authority, "client_auth", address, request, client_id=client_id[:_CLAIM_MAX])
        workspace = client.registration.workspace_id if client is not None else None
        await record_refusal(
            authority, refused, request_metadata(request, client_id, workspace_id=workspace),
            endpoint=endpoint, client_id=client_id, grant_type=params.get("grant_type"),
        )  # fmt: skip
        raise refused
    if not client.confidential and not allow_public:
        raise Refused("invalid_client", "a public client cannot use this endpoint")
    if client.confidential:  # anyone may name a public client: its id proves nothing
        await enforce(authority, "client", client.client_id, request, client_id=client.client_id)
    return client


def _claimed(request: OAuthRequest, params: dict[str, str]) -> tuple[str, str | None]:
    """The client id and secret the caller presents, by exactly one method."""
    basic = basic_credentials(request.headers.get("authorization"))
    posted_id, posted_secret = params.get("client_id"), params.get("client_secret")
    if basic is not None:
        if posted_secret is not None:
            raise Refused("invalid_request", "use one client authentication method, not two")
        client_id, secret = basic
        if posted_id is not None and posted_id != client_id:
            raise Refused("invalid_request", "client_id differs from the authenticated client")
        return client_id, secret
    if posted_id is not None:
        return posted_id, posted_secret
    raise Refused("invalid_client", "client authentication is required")
