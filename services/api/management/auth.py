"""Who may manage: a bearer access token (RFC 6750) holding the `keyledger:admin` scope.

The token is checked against the live token state, so a revoked token or a suspended
admin client loses access at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from litestar import Request

from schemas.envelope import Metadata
from services.api.oauth.endpoint import request_metadata
from services.authority import Authority
from services.refusals import Refused

__all__ = ["ADMIN_SCOPE", "Admin", "admin_caller"]

ADMIN_SCOPE: Final = "keyledger:admin"


@dataclass(frozen=True, slots=True)
class Admin:
    """The authenticated caller: the admin client, and the metadata its events carry."""

    client_id: str
    metadata: Metadata


async def admin_caller(request: Request[Any, Any, Any]) -> Admin:
    """The `admin` dependency of every management route (RFC 6750 section 3.1 errors)."""
    authority: Authority = request.app.state.authority
    header = request.headers.get("authorization", "")
    if header[:7].lower() != "bearer " or not header[7:].strip():
        raise Refused("invalid_token", "a bearer access token is required")
    record = await authority.tokens.find(header[7:].strip())
    if record is None or record.kind != "access":
        raise Refused("invalid_token", "the access token is not active")
    if ADMIN_SCOPE not in record.scopes:
        raise Refused("insufficient_scope", f"the {ADMIN_SCOPE} scope is required")
    return Admin(
        client_id=record.client_id,
        metadata=request_metadata(request, record.client_id, actor="admin"),
    )
