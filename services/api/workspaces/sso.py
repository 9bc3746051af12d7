"""A workspace's single sign-on over HTTP: its Owner or an Admin configures (`PUT`) or
disables it, every member may see it. No answer holds the client secret."""

from __future__ import annotations

from typing import Any

from litestar import Request, delete, get, put
from litestar.di import NamedDependency
from litestar.params import FromPath

from schemas.http.sso import SsoDisabling, SsoRequest, SsoView
from services.api.management.body import read_body
from services.api.workspaces.auth import Member, authority_of
from services.api.workspaces.members import require_member
from services.connections.connector import Connector
from services.sso import config

__all__ = ["configure_sso", "disable_sso", "show_sso"]


def _connector(request: Request[Any, Any, Any]) -> Connector:
    connector: Connector = request.app.state.connector
    return connector


@put("/workspaces/{workspace_id:str}/sso", status_code=200)
async def configure_sso(
    request: Request[Any, Any, Any], member: NamedDependency[Member], workspace_id: FromPath[str]
) -> SsoView:
    body = await read_body(request, SsoRequest)
    return await config.configure(
        _connector(request), workspace_id, member.user_id, body, member.metadata
    )


@get("/workspaces/{workspace_id:str}/sso")
async def show_sso(
    request: Request[Any, Any, Any], member: NamedDependency[Member], workspace_id: FromPath[str]
) -> SsoView:
    await require_member(authority_of(request), workspace_id, member.user_id)
    return await config.show(_connector(request), workspace_id)


@delete("/workspaces/{workspace_id:str}/sso", status_code=204)
async def disable_sso(
    request: Request[Any, Any, Any], member: NamedDependency[Member], workspace_id: FromPath[str]
) -> None:
    body = await read_body(request, SsoDisabling, optional=True)
    await config.disable(
        _connector(request), workspace_id, member.user_id, body.reason, member.metadata
    )
