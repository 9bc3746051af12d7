"""Who may read the audit trail: a bearer access token (RFC 6750) with the `audit:read` scope,
or a workspace API key holding it (with `X-Workspace-Id`).

The token is checked against the live token state, so a revoked token or a suspended client
loses access at once. The caller's workspace is its client's registered workspace: a
client without one reads every workspace (platform compliance).
"""

from __future__ import annotations

from typing import Any, Final

import msgspec
from litestar import Request

from services.api.bearer import bearer_token, live_access_token
from services.api.oauth.endpoint import request_metadata
from services.api.workspaces.auth import api_key_caller
from services.api_keys import is_api_key
from services.authority import Authority
from services.compliance import Auditor
from services.refusals import Refused

__all__ = ["AUDIT_SCOPE", "audit_caller"]

AUDIT_SCOPE: Final = "audit:read"


async def audit_caller(request: Request[Any, Any, Any]) -> Auditor:
    """The `auditor` dependency of every audit route (RFC 6750 section 3.1 errors)."""
    authority: Authority = request.app.state.authority
    if is_api_key(bearer_token(request)):
        # A workspace integration: confined to its key's workspace.
        principal = await api_key_caller(request, scope=AUDIT_SCOPE)
        metadata = msgspec.structs.replace(
            request_metadata(request, None, workspace_id=principal.workspace_id),
            actor="api_key", actor_id=principal.key_id,
        )  # fmt: skip
        return Auditor(
            client_id=f"api_key:{principal.key_id}",
            workspace_id=principal.workspace_id,
            metadata=metadata,
        )
    record = await live_access_token(request, scope=AUDIT_SCOPE)
    client = await authority.clients.cached(record.client_id)
    if client is None:
        raise Refused("invalid_token", "the access token is not active")
    workspace = client.registration.workspace_id
    return Auditor(
        client_id=record.client_id,
        workspace_id=workspace,
        metadata=request_metadata(request, record.client_id, workspace_id=workspace),
    )
