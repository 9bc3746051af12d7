"""Client management: register, list, inspect, rotate secrets, suspend, reinstate, ban."""

from __future__ import annotations

from typing import Any

from litestar import Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath

from schemas.http.management import (
    ClientCreated,
    ClientList,
    ClientRegistrationRequest,
    ClientStatusChange,
    ClientSummary,
    SecretRotated,
    SecretRotation,
)
from services import administration
from services.administration import StatusAction
from services.api.management.auth import Admin
from services.api.management.body import read_body
from services.authority import Authority

__all__ = [
    "ban_client",
    "get_client",
    "list_clients",
    "register_client",
    "reinstate_client",
    "rotate_client_secret",
    "suspend_client",
]


def _authority(request: Request[Any, Any, Any]) -> Authority:
    authority: Authority = request.app.state.authority
    return authority


@post("/clients", status_code=201)
async def register_client(
    request: Request[Any, Any, Any], admin: NamedDependency[Admin]
) -> ClientCreated:
    body = await read_body(request, ClientRegistrationRequest)
    return await administration.create_client(_authority(request), body, admin.metadata)


@get("/clients")
async def list_clients(
    request: Request[Any, Any, Any], admin: NamedDependency[Admin]
) -> ClientList:
    del admin  # authorisation only
    return await administration.list_clients(_authority(request))


@get("/clients/{client_id:str}")
async def get_client(
    request: Request[Any, Any, Any], admin: NamedDependency[Admin], client_id: FromPath[str]
) -> ClientSummary:
    del admin  # authorisation only
    client = await administration.get_client(_authority(request), client_id)
    return administration.client_summary(client)


@post("/clients/{client_id:str}/rotate-secret", status_code=200)
async def rotate_client_secret(
    request: Request[Any, Any, Any], admin: NamedDependency[Admin], client_id: FromPath[str]
) -> SecretRotated:
    body = await read_body(request, SecretRotation, optional=True)
    return await administration.rotate_client_secret(
        _authority(request), client_id, body.overlap_s, admin.metadata
    )


async def _change_status(
    request: Request[Any, Any, Any], admin: Admin, client_id: str, action: StatusAction
) -> ClientSummary:
    body = await read_body(request, ClientStatusChange, optional=True)
    return await administration.change_client_status(
        _authority(request), client_id, action, body.reason, admin.metadata
    )


@post("/clients/{client_id:str}/suspend", status_code=200)
async def suspend_client(
    request: Request[Any, Any, Any], admin: NamedDependency[Admin], client_id: FromPath[str]
) -> ClientSummary:
    return await _change_status(request, admin, client_id, "suspend")


@post("/clients/{client_id:str}/reinstate", status_code=200)
async def reinstate_client(
    request: Request[Any, Any, Any], admin: NamedDependency[Admin], client_id: FromPath[str]
) -> ClientSummary:
    return await _change_status(request, admin, client_id, "reinstate")


@post("/clients/{client_id:str}/ban", status_code=200)
async def ban_client(
    request: Request[Any, Any, Any], admin: NamedDependency[Admin], client_id: FromPath[str]
) -> ClientSummary:
    return await _change_status(request, admin, client_id, "ban")
