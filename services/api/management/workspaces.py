"""Workspace management: revoke every token of a workspace's clients (an incident)."""

from __future__ import annotations

from typing import Any

from litestar import Request, post
from litestar.di import NamedDependency
from litestar.params import FromPath

from schemas.http.management import TokensRevocation, WorkspaceUpdated
from services import administration
from services.api.management.auth import Admin
from services.api.management.body import read_body
from services.authority import Authority

__all__ = ["revoke_workspace_tokens"]


@post("/workspaces/{workspace_id:str}/revoke-tokens", status_code=200)
async def revoke_workspace_tokens(
    request: Request[Any, Any, Any], admin: NamedDependency[Admin], workspace_id: FromPath[str]
) -> WorkspaceUpdated:
    authority: Authority = request.app.state.authority
    body = await read_body(request, TokensRevocation, optional=True)
    revoked = await administration.revoke_workspace_tokens(
        authority, workspace_id, body.reason, admin.metadata
    )
    return WorkspaceUpdated(workspace_id=revoked)
