"""The workspace API under `/workspaces` (members, with a user's `workspaces` token) and
`/api-keys/current` (a workspace API key). Responses are never cached: a key appears once."""

from __future__ import annotations

from litestar import Router
from litestar.datastructures import CacheControlHeader
from litestar.di import Provide

from services.api.workspaces import keys, members, sso
from services.api.workspaces.auth import member_caller

__all__ = ["current_api_key", "workspace_router"]

current_api_key = keys.current_api_key


def workspace_router() -> Router:
    return Router(
        path="/",
        route_handlers=[
            members.create_workspace,
            members.list_members,
            members.invite_member,
            members.accept_invitation,
            members.change_role,
            members.remove_member,
            keys.create_api_key,
            keys.list_api_keys,
            keys.rotate_api_key,
            keys.revoke_api_key,
            keys.cut_off_application,
            sso.configure_sso,
            sso.show_sso,
            sso.disable_sso,
        ],
        dependencies={"member": Provide(member_caller)},
        cache_control=CacheControlHeader(no_store=True),
    )
