"""The web console under `/console`: compliance and operations pages, server-rendered.

Operators sign in through keyledger's own authorization code flow as the first-party console
client (sign_in.py); what each may see comes from their console roles (services/console_roles.py),
checked with the live console token on every request (session.py).
"""

from __future__ import annotations

from litestar import Router

from services.api.console import clients, compliance, exports, integrity, platform, sign_in

__all__ = ["console_router"]


def console_router() -> Router:
    return Router(
        path="/",
        route_handlers=[
            sign_in.front_page,
            sign_in.sign_in,
            sign_in.callback,
            sign_in.sign_out,
            compliance.audit_search,
            compliance.user_timeline,
            compliance.access_as_of,
            exports.export_search,
            exports.signed_export,
            integrity.integrity,
            integrity.run_verification,
            clients.client_list,
            clients.client_details,
            clients.change_client,
            platform.keys_page,
            platform.rotate_keys,
            platform.workspaces_page,
            platform.status_page,
        ],
    )
