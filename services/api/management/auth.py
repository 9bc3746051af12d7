"""Who may manage: a bearer access token (RFC 6750) holding the `keyledger:admin` scope.

The token is checked against the live token state, so a revoked token or a suspended
admin client loses access at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from litestar import Request

from schemas.envelope import Metadata
from services.api.bearer import live_access_token
from services.api.oauth.endpoint import request_metadata

__all__ = ["ADMIN_SCOPE", "Admin", "admin_caller"]

ADMIN_SCOPE: Final = "keyledger:admin"


@dataclass(frozen=True, slots=True)
class Admin:
    """The authenticated caller: the admin client, and the metadata its events carry."""

    client_id: str
    metadata: Metadata


async def admin_caller(request: Request[Any, Any, Any]) -> Admin:
    """The `admin` dependency of every management route (RFC 6750 section 3.1 errors)."""
    record = await live_access_token(request, scope=ADMIN_SCOPE)
    return Admin(
        client_id=record.client_id,
        metadata=request_metadata(request, record.client_id, actor="admin"),
    )
