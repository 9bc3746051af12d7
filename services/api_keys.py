"""Workspace API keys as presented: `Authorization: Bearer klk_...` with `X-Workspace-Id`.

A key is found by the keyed digest of what is presented (one indexed read of the inline key
state, so a revocation is in force the instant it commits) and must belong to the workspace
the request names. Each refusal says which rule refused it; none reveals another workspace.
"""

from __future__ import annotations

from datetime import datetime
from typing import Final

import msgspec

from services.authority import Authority
from services.commands import utcnow
from services.refusals import Refused
from services.workspaces import API_KEY_PREFIX

__all__ = ["ApiKeyPrincipal", "authenticate_api_key", "is_api_key"]

_MAX_KEY: Final = 200
_LOOKUP: Final = """
SELECT key_id, workspace_id, name, scopes, expires_at, revoked_at,
       key_digest = $1 AS current, previous_valid_until
FROM api_keys WHERE key_digest = $1 OR previous_digest = $1
"""


class ApiKeyPrincipal(msgspec.Struct, frozen=True, kw_only=True):
    key_id: str
    workspace_id: str
    name: str
    scopes: tuple[str, ...]
    expires_at: datetime | None


def is_api_key(token: str) -> bool:
    return token.startswith(API_KEY_PREFIX)


async def authenticate_api_key(
    authority: Authority, key: str, workspace_id: str | None, *, scope: str | None = None
) -> ApiKeyPrincipal:
    """The key's principal, or `Refused` (invalid_token 401, insufficient_scope 403)."""
    if not workspace_id:
        raise Refused("invalid_request", "an API key is used with the X-Workspace-Id header")
    if len(key) > _MAX_KEY:
        raise Refused("invalid_token", "the API key is not valid")
    async with authority.pool.acquire() as conn:
        row = await conn.fetchrow(_LOOKUP, authority.hasher.digest(key))
    now = utcnow()
    if row is None:
        raise Refused("invalid_token", "the API key is not valid")
    if row["workspace_id"] != workspace_id:
        raise Refused("invalid_token", "the API key does not belong to this workspace")
    if row["revoked_at"] is not None:
        raise Refused("invalid_token", "the API key was revoked")
    expires_at: datetime | None = row["expires_at"]
    if expires_at is not None and expires_at <= now:
        raise Refused("invalid_token", f"the API key expired at {expires_at.isoformat()}")
    if not row["current"] and row["previous_valid_until"] <= now:
        raise Refused("invalid_token", "the API key was rotated out; use its replacement")
    scopes = tuple(row["scopes"])
    if scope is not None and scope not in scopes:
        raise Refused("insufficient_scope", f"the {scope} scope is required")
    return ApiKeyPrincipal(
        key_id=row["key_id"], workspace_id=workspace_id, name=row["name"], scopes=scopes,
        expires_at=expires_at,
    )  # fmt: skip
