"""Providers over HTTP: an operator's (`/manage/providers`, `keyledger:admin`) for every user,
and a workspace's own (`/workspaces/{id}/providers`, its Owner or Admins). No response holds
the client secret: only whether there is one."""

from __future__ import annotations

from typing import Any

from litestar import Request, delete, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath

from schemas.http.connections import DisconnectRequest, ProviderList, ProviderRequest, ProviderView
from services.api.connections.auth import Owner, connector_of
from services.api.management.auth import Admin, admin_caller
from services.api.management.body import read_body
from services.connections import providers
from services.connections.providers import require_workspace_role

__all__ = [
    "list_platform_providers",
    "list_workspace_providers",
    "register_platform_provider",
    "register_workspace_provider",
    "remove_platform_provider",
    "remove_workspace_provider",
]

_ADMIN = {"admin": Provide(admin_caller)}


@post("/manage/providers", status_code=201, dependencies=_ADMIN)
async def register_platform_provider(
    request: Request[Any, Any, Any], admin: NamedDependency[Admin]
) -> ProviderView:
    body = await read_body(request, ProviderRequest)
    return await providers.register_provider(connector_of(request), body, admin.metadata)


@get("/manage/providers", dependencies=_ADMIN)
async def list_platform_providers(
    request: Request[Any, Any, Any], admin: NamedDependency[Admin]
) -> ProviderList:
    del admin  # authenticated, nothing more
    return ProviderList(providers=await providers.providers_of(connector_of(request), None))


@delete("/manage/providers/{provider_id:str}", status_code=204, dependencies=_ADMIN)
async def remove_platform_provider(
    request: Request[Any, Any, Any], admin: NamedDependency[Admin], provider_id: FromPath[str]
) -> None:
    body = await read_body(request, DisconnectRequest, optional=True)
    await providers.remove_provider(
        connector_of(request), provider_id, admin.metadata, reason=body.reason[:200]
    )


@post("/workspaces/{workspace_id:str}/providers", status_code=201)
async def register_workspace_provider(
    request: Request[Any, Any, Any], owner: NamedDependency[Owner], workspace_id: FromPath[str]
) -> ProviderView:
    body = await read_body(request, ProviderRequest)
    return await providers.register_provider(
        connector_of(request), body, owner.metadata, workspace_id=workspace_id,
        acting_user=owner.user_id,
    )  # fmt: skip


@get("/workspaces/{workspace_id:str}/providers")
async def list_workspace_providers(
    request: Request[Any, Any, Any], owner: NamedDependency[Owner], workspace_id: FromPath[str]
) -> ProviderList:
    connector = connector_of(request)
    await require_workspace_role(connector, workspace_id, owner.user_id, "member")
    return ProviderList(providers=await providers.providers_of(connector, workspace_id))


@delete("/workspaces/{workspace_id:str}/providers/{provider_id:str}", status_code=204)
async def remove_workspace_provider(
    request: Request[Any, Any, Any],
    owner: NamedDependency[Owner],
    workspace_id: FromPath[str],
    provider_id: FromPath[str],
) -> None:
    body = await read_body(request, DisconnectRequest, optional=True)
    await providers.remove_provider(
        connector_of(request), provider_id, owner.metadata, workspace_id=workspace_id,
        acting_user=owner.user_id, reason=body.reason[:200],
    )  # fmt: skip
