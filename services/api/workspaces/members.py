"""Workspaces and their members: create, invite, accept, change a role, remove, list."""

from __future__ import annotations

from typing import Any

from litestar import Request, delete, get, post, put
from litestar.di import NamedDependency
from litestar.params import FromPath

from schemas.http.workspaces import Invitation, RoleChange, WorkspaceCreated, WorkspaceRequest
from services import workspace_queries, workspaces
from services.api.management.body import read_body
from services.api.workspaces.auth import Member, authority_of
from services.authority import Authority
from services.refusals import Refused
from services.users import user_id_of
from services.workspace_queries import Member as MemberRow

__all__ = [
    "accept_invitation",
    "change_role",
    "create_workspace",
    "invite_member",
    "list_members",
    "remove_member",
]


async def require_member(authority: Authority, workspace_id: str, user_id: str) -> str:
    """The caller's role; reads are for members only (a non-member learns nothing)."""
    role = await workspace_queries.role_of(authority.pool, workspace_id, user_id)
    if role is None:
        raise Refused("access_denied", "you are not a member of this workspace")
    return role


@post("/workspaces", status_code=201)
async def create_workspace(
    request: Request[Any, Any, Any], member: NamedDependency[Member]
) -> WorkspaceCreated:
    body = await read_body(request, WorkspaceRequest)
    workspace_id = await workspaces.create_workspace(
        authority_of(request), body.name, member.user_id, member.metadata,
        default_key_days=body.default_key_days, max_key_days=body.max_key_days,
        unlimited_keys=body.unlimited_keys,
    )  # fmt: skip
    return WorkspaceCreated(workspace_id=workspace_id, name=body.name)


@get("/workspaces/{workspace_id:str}/members")
async def list_members(
    request: Request[Any, Any, Any], member: NamedDependency[Member], workspace_id: FromPath[str]
) -> list[MemberRow]:
    authority = authority_of(request)
    await require_member(authority, workspace_id, member.user_id)
    return await workspace_queries.members(authority.pool, workspace_id)


@post("/workspaces/{workspace_id:str}/invitations", status_code=201)
async def invite_member(
    request: Request[Any, Any, Any], member: NamedDependency[Member], workspace_id: FromPath[str]
) -> None:
    authority = authority_of(request)
    body = await read_body(request, Invitation)
    user_id = body.user_id
    if (user_id is None) == (body.username is None):
        raise Refused("invalid_request", "name the user by user_id or by username")
    if body.username is not None:
        user_id = await user_id_of(authority.pool, body.username)
        if user_id is None:
            raise Refused("not_found", "there is no such user")
    assert user_id is not None
    await workspaces.invite(
        authority, workspace_id, member.user_id, user_id, role=body.role, metadata=member.metadata
    )


@post("/workspaces/{workspace_id:str}/invitations/accept", status_code=204)
async def accept_invitation(
    request: Request[Any, Any, Any], member: NamedDependency[Member], workspace_id: FromPath[str]
) -> None:
    await workspaces.accept_invitation(
        authority_of(request), workspace_id, member.user_id, member.metadata
    )


@put("/workspaces/{workspace_id:str}/members/{user_id:str}", status_code=204)
async def change_role(
    request: Request[Any, Any, Any],
    member: NamedDependency[Member],
    workspace_id: FromPath[str],
    user_id: FromPath[str],
) -> None:
    body = await read_body(request, RoleChange)
    await workspaces.change_role(
        authority_of(request), workspace_id, member.user_id, user_id, role=body.role,
        metadata=member.metadata,
    )  # fmt: skip


@delete("/workspaces/{workspace_id:str}/members/{user_id:str}", status_code=204)
async def remove_member(
    request: Request[Any, Any, Any],
    member: NamedDependency[Member],
    workspace_id: FromPath[str],
    user_id: FromPath[str],
) -> None:
    await workspaces.remove_member(
        authority_of(request), workspace_id, member.user_id, user_id, member.metadata
    )
