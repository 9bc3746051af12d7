"""Signing key management: rotate the ES256 and RS256 pair, or revoke a key (an incident).

A rotation keeps the old keys in the JWKS; a revoked key leaves it, and every token it signed
stops working.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, post
from litestar.di import NamedDependency
from litestar.params import FromPath

from schemas.http.management import KeyRevoked, KeysRotated, TokensRevocation
from services import administration
from services.api.management.auth import Admin
from services.api.management.body import read_body
from services.authority import Authority

__all__ = ["revoke_key", "rotate_keys"]


@post("/keys/rotate", status_code=200)
async def rotate_keys(
    request: Request[Any, Any, Any], admin: NamedDependency[Admin]
) -> KeysRotated:
    authority: Authority = request.app.state.authority
    return await administration.rotate_signing_keys(authority, admin.metadata)


@post("/keys/{kid:str}/revoke", status_code=200)
async def revoke_key(
    request: Request[Any, Any, Any], admin: NamedDependency[Admin], kid: FromPath[str]
) -> KeyRevoked:
    authority: Authority = request.app.state.authority
    body = await read_body(request, TokensRevocation, optional=True)
    return await administration.revoke_signing_key(authority, kid, body.reason, admin.metadata)
