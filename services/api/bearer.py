"""RFC 6750 bearer tokens: the request's access token, checked against the live token state,
so a revoked token or a suspended client is refused at once (section 3.1 errors)."""

from __future__ import annotations

from typing import Any

from litestar import Request

from services.authority import Authority
from services.introspection import TokenRecord
from services.refusals import Refused

__all__ = ["bearer_token", "live_access_token"]


def bearer_token(request: Request[Any, Any, Any]) -> str:
    """The `Authorization: Bearer` credential (RFC 6750 section 2.1), or "" if none."""
    header = request.headers.get("authorization", "")
    return header[7:].strip() if header[:7].lower() == "bearer " else ""


async def live_access_token(
    request: Request[Any, Any, Any], *, scope: str | None = None
) -> TokenRecord:
    """The live access token of the `Authorization: Bearer` header, holding `scope` if one is
    named."""
    authority: Authority = request.app.state.authority
    token = bearer_token(request)
    if not token:
        raise Refused("invalid_token", "a bearer access token is required")
    record = await authority.tokens.find(token)
    if record is None or record.kind != "access":
        raise Refused("invalid_token", "the access token is not active")
    if scope is not None and scope not in record.scopes:
        raise Refused("insufficient_scope", f"the {scope} scope is required")
    return record
