"""Revocation: RFC 7009 at /oauth/revoke, and DELETE /oauth/token/{token_id}.

Revoking a refresh token revokes its whole family, and so every access token derived
from it. Per RFC 7009 2.2, an unknown or foreign token still answers 200.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, delete, post
from litestar.params import FromPath

from services import revocation
from services.api.errors import NO_STORE
from services.api.oauth.client_auth import authenticate_client
from services.api.oauth.endpoint import request_metadata
from services.api.oauth.params import read_params, refuse_secrets_in_query
from services.authority import Authority
from services.refusals import Refused

__all__ = ["revoke_by_id", "revoke_token"]


@post("/oauth/revoke", status_code=200)
async def revoke_token(request: Request[Any, Any, Any]) -> Response[bytes]:
    authority: Authority = request.app.state.authority
    params = await read_params(request)
    client = await authenticate_client(authority, request, params, endpoint="revocation")
    token = params.get("token")
    if not token:
        raise Refused("invalid_request", "missing parameter token")
    hint = params.get("token_type_hint")
    if hint is not None and hint not in ("access_token", "refresh_token"):
        raise Refused("unsupported_token_type", f"token_type_hint {hint!r} is not supported")
    await revocation.revoke_token(
        authority,
        client,
        token,
        request_metadata(request, client.client_id, workspace_id=client.registration.workspace_id),
    )
    return Response(b"", headers=NO_STORE)


@delete("/oauth/token/{token_id:str}", status_code=204)
async def revoke_by_id(request: Request[Any, Any, Any], token_id: FromPath[str]) -> None:
    authority: Authority = request.app.state.authority
    refuse_secrets_in_query(request.scope.get("query_string", b""))
    client = await authenticate_client(
        authority, request, {}, endpoint="revocation", allow_public=False
    )
    found = await revocation.revoke_by_id(
        authority,
        client,
        token_id,
        request_metadata(request, client.client_id, workspace_id=client.registration.workspace_id),
    )
    if not found:
        raise Refused("not_found", "no token or token family of this client has that id")
