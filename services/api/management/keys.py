"""Signing key management: rotate the ES256 and RS256 pair (the JWKS keeps the old ones)."""

from __future__ import annotations

from typing import Any

from litestar import Request, post
from litestar.di import NamedDependency

from schemas.http.management import KeysRotated
from services import administration
from services.api.management.auth import Admin
from services.authority import Authority

__all__ = ["rotate_keys"]


@post("/keys/rotate", status_code=200)
async def rotate_keys(
    request: Request[Any, Any, Any], admin: NamedDependency[Admin]
) -> KeysRotated:
    authority: Authority = request.app.state.authority
    return await administration.rotate_signing_keys(authority, admin.metadata)
