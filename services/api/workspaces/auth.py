"""Who calls the workspace API.

A member: a live access token (RFC 6750) acting for a user and holding the `workspaces`
scope; what the user may do is their role's business (domain/workspace.py). An integration:
a workspace API key with the `X-Workspace-Id` it belongs to.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

import msgspec
from litestar import Request

from schemas.envelope import Metadata
from services.api.bearer import bearer_token, live_access_token
from services.api.oauth.endpoint import request_metadata
from services.api_keys import ApiKeyPrincipal, authenticate_api_key
from services.authority import Authority
from services.refusals import Refused

__all__ = ["WORKSPACES_SCOPE", "Member", "api_key_caller", "authority_of", "member_caller"]

WORKSPACES_SCOPE: Final = "workspaces"
WORKSPACE_HEADER: Final = "x-workspace-id"


@dataclass(frozen=True, slots=True)
class Member:
    """The authenticated user, and the metadata their workspace events carry."""

    user_id: str
    metadata: Metadata


def authority_of(request: Request[Any, Any, Any]) -> Authority:
    authority: Authority = request.app.state.authority
    return authority


async def member_caller(request: Request[Any, Any, Any]) -> Member:
    """The `member` dependency of the member routes (RFC 6750 section 3.1 errors)."""
    record = await live_access_token(request, scope=WORKSPACES_SCOPE)
    if any("\x00" in str(value) for value in request.path_params.values()):
        # No workspace, user, key or client id holds NUL (PostgreSQL text cannot).
        raise Refused("invalid_request", "an id in the path must not contain NUL characters")
    if record.subject is None:
        raise Refused("invalid_token", "the access token acts for no user")
    metadata = msgspec.structs.replace(
        request_metadata(request, record.client_id, "user"),
        actor_id=record.subject,
        subject_user=record.subject,
    )
    return Member(user_id=record.subject, metadata=metadata)


async def api_key_caller(
    request: Request[Any, Any, Any], *, scope: str | None = None
) -> ApiKeyPrincipal:
    """The workspace API key of the request, for the workspace it names."""
    authority = authority_of(request)
    key = bearer_token(request)
    if not key:
        raise Refused("invalid_token", "a workspace API key is required")
    return await authenticate_api_key(
        authority, key, request.headers.get(WORKSPACE_HEADER), scope=scope
    )
