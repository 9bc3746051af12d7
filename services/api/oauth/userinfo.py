"""The UserInfo endpoint (OpenID Connect Core 5.3): claims about the token's user."""

from __future__ import annotations

from typing import Any

from litestar import Request, get, post

from services.api.bearer import live_access_token
from services.authority import Authority
from services.refusals import Refused

__all__ = ["userinfo", "userinfo_post"]


async def _claims(request: Request[Any, Any, Any]) -> dict[str, str]:
    authority: Authority = request.app.state.authority
    record = await live_access_token(request)
    if record.subject is None:
        raise Refused("invalid_token", "the access token has no user")
    if "openid" not in record.scopes:
        raise Refused("insufficient_scope", "the openid scope is required")
    claims = {"sub": record.subject}
    if "profile" in record.scopes:
        async with authority.pool.acquire() as conn:
            username = await conn.fetchval(
                "SELECT username FROM users WHERE user_id = $1", record.subject
            )
        if username is not None:
            claims["preferred_username"] = username
    return claims


@get("/oauth/userinfo")
async def userinfo(request: Request[Any, Any, Any]) -> dict[str, str]:
    return await _claims(request)


@post("/oauth/userinfo", status_code=200)
async def userinfo_post(request: Request[Any, Any, Any]) -> dict[str, str]:
    return await _claims(request)
