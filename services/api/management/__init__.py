"""The management API under `/manage`: clients, users, keys, workspaces; admin tokens only.

Every route depends on `admin` (auth.py), so nothing here answers without a live access
token holding `keyledger:admin`. Responses are never cached: some carry a secret, once.
"""

from __future__ import annotations

from litestar import Router
from litestar.datastructures import CacheControlHeader
from litestar.di import Provide

from services.api.management import clients, keys, users, workspaces
from services.api.management.auth import admin_caller

__all__ = ["management_router"]


def management_router() -> Router:
    return Router(
        path="/manage",
        route_handlers=[
            clients.register_client,
            clients.list_clients,
            clients.get_client,
            clients.rotate_client_secret,
            clients.suspend_client,
            clients.reinstate_client,
            clients.ban_client,
            users.create_user,
            users.set_password,
            users.enrol_otp,
            users.disable_user,
            users.revoke_user_tokens,
            users.erase_user,
            users.withdraw_consent,
            keys.rotate_keys,
            keys.revoke_key,
            workspaces.revoke_workspace_tokens,
        ],
        dependencies={"admin": Provide(admin_caller)},
        cache_control=CacheControlHeader(no_store=True),
    )
