"""Workspace API keys over HTTP: create (shown once), list, rotate, revoke; and the Owner's
cut-off of an application from the whole workspace."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import msgspec
from litestar import Request, delete, get, post
from litestar.datastructures import CacheControlHeader
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery

from schemas.http.workspaces import (
    ApiKeyIssued,
    ApiKeyRequest,
    ApiKeyRevocationRequest,
    ApiKeyRotation,
    CurrentApiKey,
)
from services import clients, workspace_queries, workspaces
from services.api.management.body import read_body
from services.api.workspaces.auth import Member, api_key_caller, authority_of
from services.api.workspaces.members import require_member
from services.refusals import Refused
from services.workspace_queries import KeySummary

__all__ = [
    "create_api_key",
    "current_api_key",
    "cut_off_application",
    "list_api_keys",
    "revoke_api_key",
    "rotate_api_key",
]

_MAX_EXPIRING_DAYS = 3650


@post("/workspaces/{workspace_id:str}/api-keys", status_code=201)
async def create_api_key(
    request: Request[Any, Any, Any], member: NamedDependency[Member], workspace_id: FromPath[str]
) -> ApiKeyIssued:
    body = await read_body(request, ApiKeyRequest)
    issued = await workspaces.create_api_key(
        authority_of(request), workspace_id, member.user_id, name=body.name, scopes=body.scopes,
        days=body.expires_in_days, metadata=member.metadata,
    )  # fmt: skip
    return ApiKeyIssued(
        key_id=issued.key_id, workspace_id=workspace_id, key=issued.key,
        expires_at=issued.expires_at,
    )  # fmt: skip


@get("/workspaces/{workspace_id:str}/api-keys")
async def list_api_keys(
    request: Request[Any, Any, Any],
    member: NamedDependency[Member],
    workspace_id: FromPath[str],
    expiring_within_days: FromQuery[int | None] = None,
) -> list[KeySummary]:
    """Every key of the workspace without its secret; or those expiring within N days."""
    authority = authority_of(request)
    await require_member(authority, workspace_id, member.user_id)
    within = None
    if expiring_within_days is not None:
        if not 0 <= expiring_within_days <= _MAX_EXPIRING_DAYS:
            raise Refused("invalid_request", "expiring_within_days is 0 to 3650")
        within = timedelta(days=expiring_within_days)
    return await workspace_queries.list_keys(authority.pool, workspace_id, expiring_within=within)


@post("/workspaces/{workspace_id:str}/api-keys/{key_id:str}/rotate", status_code=200)
async def rotate_api_key(
    request: Request[Any, Any, Any],
    member: NamedDependency[Member],
    workspace_id: FromPath[str],
    key_id: FromPath[str],
) -> ApiKeyIssued:
    body = await read_body(request, ApiKeyRotation, optional=True)
    issued = await workspaces.rotate_api_key(
        authority_of(request), workspace_id, member.user_id, key_id,
        overlap=timedelta(seconds=body.overlap_seconds), metadata=member.metadata,
    )  # fmt: skip
    return ApiKeyIssued(
        key_id=key_id, workspace_id=workspace_id, key=issued.key, expires_at=issued.expires_at
    )


@delete("/workspaces/{workspace_id:str}/api-keys/{key_id:str}", status_code=204)
async def revoke_api_key(
    request: Request[Any, Any, Any],
    member: NamedDependency[Member],
    workspace_id: FromPath[str],
    key_id: FromPath[str],
) -> None:
    body = await read_body(request, ApiKeyRevocationRequest, optional=True)
    await workspaces.revoke_api_key(
        authority_of(request), workspace_id, member.user_id, key_id, reason=body.reason,
        metadata=member.metadata,
    )  # fmt: skip


@post("/workspaces/{workspace_id:str}/applications/{client_id:str}/cut-off", status_code=204)
async def cut_off_application(
    request: Request[Any, Any, Any],
    member: NamedDependency[Member],
    workspace_id: FromPath[str],
    client_id: FromPath[str],
) -> None:
    """The Owner stops an organizational application at once: every token it holds for the
    workspace's users dies and it gets no more (a suspension, published as a revocation)."""
    authority = authority_of(request)
    if await require_member(authority, workspace_id, member.user_id) != "owner":
        raise Refused("access_denied", "only the workspace Owner can cut an application off")
    client = await authority.clients.cached(client_id)
    if client is None or client.registration.workspace_id != workspace_id:
        raise Refused("not_found", "the workspace has no such application")
    metadata = msgspec.structs.replace(member.metadata, workspace_id=workspace_id)
    reason = "cut off by the workspace Owner"
    if not await clients.set_status(authority.store, client_id, "suspend", reason, metadata):
        raise Refused("conflict", "the application is not active")


@get("/api-keys/current", cache_control=CacheControlHeader(no_store=True))
async def current_api_key(request: Request[Any, Any, Any]) -> CurrentApiKey:
    """Which key this is: what an integration checks before it relies on its key."""
    principal = await api_key_caller(request)
    return CurrentApiKey(
        key_id=principal.key_id, workspace_id=principal.workspace_id, name=principal.name,
        scopes=principal.scopes, expires_at=principal.expires_at,
    )  # fmt: skip
