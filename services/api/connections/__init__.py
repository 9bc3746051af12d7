"""Connected accounts over HTTP: `/connections` (a user's `connections` token; the callback
needs none) and providers (`/manage/providers` for operators, `/workspaces/{id}/providers`).
Responses are never cached."""

from __future__ import annotations

from litestar import Router
from litestar.datastructures import CacheControlHeader
from litestar.di import Provide

from services.api.connections import connections, providers
from services.api.connections.auth import owner_caller

__all__ = ["connection_router"]


def connection_router() -> Router:
    return Router(
        path="/",
        route_handlers=[
            connections.start_connection,
            connections.complete_connection,
            connections.list_connections,
            connections.show_connection,
            connections.end_connection,
            providers.register_platform_provider,
            providers.list_platform_providers,
            providers.remove_platform_provider,
            providers.register_workspace_provider,
            providers.list_workspace_providers,
            providers.remove_workspace_provider,
        ],
        dependencies={"owner": Provide(owner_caller)},
        cache_control=CacheControlHeader(no_store=True),
    )
