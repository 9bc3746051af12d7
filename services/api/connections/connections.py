"""Connections over HTTP: start one (then the provider's callback completes it), list them,
see one's status, end one. No response ever holds an upstream token."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request, delete, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery

from projections import connection_queries
from schemas.http.connections import (
    ConnectionList,
    ConnectionRequest,
    ConnectionStarted,
    ConnectionView,
    DisconnectRequest,
)
from services.api.connections.auth import Owner, connector_of
from services.api.management.body import read_body
from services.api.oauth.endpoint import request_metadata
from services.connections import flow, upkeep, views
from services.connections.connector import CALLBACK_PATH
from services.connections.providers import require_workspace_role
from services.refusals import Refused

__all__ = [
    "complete_connection",
    "end_connection",
    "list_connections",
    "show_connection",
    "start_connection",
]

_MAX_ID = 64


@post("/connections", status_code=201)
async def start_connection(
    request: Request[Any, Any, Any], owner: NamedDependency[Owner]
) -> ConnectionStarted:
    body = await read_body(request, ConnectionRequest)
    if len(body.provider) > 64 or (body.workspace_id and len(body.workspace_id) > _MAX_ID):
        raise Refused("invalid_request", "provider names and workspace ids are short")
    metadata = owner.metadata
    if body.workspace_id is not None:
        metadata = msgspec.structs.replace(metadata, workspace_id=body.workspace_id)
    started = await flow.start(
        connector_of(request), provider_name=body.provider, user_id=owner.user_id,
        workspace_id=body.workspace_id, scopes=body.scopes, metadata=metadata,
    )  # fmt: skip
    return ConnectionStarted(
        connection_id=started.connection_id, authorization_url=started.authorization_url,
        expires_at=started.expires_at,
    )  # fmt: skip


_CALLBACK_PARAMS = ("state", "code", "iss", "error", "error_description")


@get(CALLBACK_PATH)
async def complete_connection(request: Request[Any, Any, Any]) -> ConnectionView:
    """The provider's redirect back (RFC 6749 4.1.2): no token of ours, the state is the key."""
    query = request.query_params
    params: dict[str, str] = {}
    for name in _CALLBACK_PARAMS:
        values = query.getall(name, [])
        if len(values) > 1:  # RFC 6749 3.1: parameters must not be repeated
            raise Refused("invalid_request", f"{name} is repeated")
        if values:
            params[name] = values[0]
    connector = connector_of(request)
    callback = msgspec.convert(params, flow.Callback)
    metadata = request_metadata(request, None, "user")
    connection_id = await flow.complete(connector, callback, metadata)
    async with connector.pool.acquire() as conn:
        row = await connection_queries.connection(conn, connection_id)
    assert row is not None  # inline: read-your-writes
    return views.connection_view(row)


@get("/connections")
async def list_connections(
    request: Request[Any, Any, Any],
    owner: NamedDependency[Owner],
    workspace_id: FromQuery[str | None] = None,
) -> ConnectionList:
    """The caller's own connections, or (`workspace_id`) a workspace's, to its members."""
    connector = connector_of(request)
    if workspace_id is not None:
        if len(workspace_id) > _MAX_ID:
            raise Refused("invalid_request", "workspace_id is too long")
        if "\x00" in workspace_id:  # PostgreSQL text cannot hold it: a 400, not a 500
            raise Refused("invalid_request", "workspace_id must not contain NUL characters")
        await require_workspace_role(connector, workspace_id, owner.user_id, "member")
        return ConnectionList(connections=await views.listed(connector, workspace_id=workspace_id))
    return ConnectionList(connections=await views.listed(connector, user_id=owner.user_id))


@get("/connections/{connection_id:str}")
async def show_connection(
    request: Request[Any, Any, Any], owner: NamedDependency[Owner], connection_id: FromPath[str]
) -> ConnectionView:
    row = await views.visible_connection(connector_of(request), connection_id, owner.user_id)
    return views.connection_view(row)


@delete("/connections/{connection_id:str}", status_code=204)
async def end_connection(
    request: Request[Any, Any, Any], owner: NamedDependency[Owner], connection_id: FromPath[str]
) -> None:
    """The provider is asked to revoke the tokens (RFC 7009); then they are erased here."""
    body = await read_body(request, DisconnectRequest, optional=True)
    connector = connector_of(request)
    row = await views.visible_connection(connector, connection_id, owner.user_id, to_end=True)
    await upkeep.disconnect(
        connector, row.connection_id, cause="owner", reason=body.reason[:200],
        metadata=owner.metadata,
    )  # fmt: skip
