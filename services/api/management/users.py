"""User management: create accounts, set passwords, enrol TOTP, disable, revoke tokens, erase."""

from __future__ import annotations

from typing import Any

from litestar import Request, delete, post
from litestar.di import NamedDependency
from litestar.params import FromPath

from schemas.http.management import (
    OtpEnrolled,
    PasswordChange,
    TokensRevocation,
    UserCreated,
    UserCreation,
    UserDisabling,
    UserErasing,
    UserErasure,
    UserUpdated,
)
from services import administration
from services.api.management.auth import Admin
from services.api.management.body import read_body
from services.authority import Authority

__all__ = [
    "create_user",
    "disable_user",
    "enrol_otp",
    "erase_user",
    "revoke_user_tokens",
    "set_password",
    "withdraw_consent",
]


def _authority(request: Request[Any, Any, Any]) -> Authority:
    authority: Authority = request.app.state.authority
    return authority


@post("/users", status_code=201)
async def create_user(
    request: Request[Any, Any, Any], admin: NamedDependency[Admin]
) -> UserCreated:
    body = await read_body(request, UserCreation)
    return await administration.create_user(_authority(request), body, admin.metadata)


@post("/users/{username:str}/password", status_code=200)
async def set_password(
    request: Request[Any, Any, Any], admin: NamedDependency[Admin], username: FromPath[str]
) -> UserUpdated:
    body = await read_body(request, PasswordChange)
    user_id = await administration.change_password(
        _authority(request), username, body.password, body.password_ttl_days, admin.metadata
    )
    return UserUpdated(user_id=user_id, username=username)


@post("/users/{username:str}/otp", status_code=200)
async def enrol_otp(
    request: Request[Any, Any, Any], admin: NamedDependency[Admin], username: FromPath[str]
) -> OtpEnrolled:
    return await administration.enrol_otp(_authority(request), username, admin.metadata)


@post("/users/{username:str}/disable", status_code=200)
async def disable_user(
    request: Request[Any, Any, Any], admin: NamedDependency[Admin], username: FromPath[str]
) -> UserUpdated:
    body = await read_body(request, UserDisabling, optional=True)
    user_id = await administration.disable_user(
        _authority(request), username, body.reason, admin.metadata
    )
    return UserUpdated(user_id=user_id, username=username)


@post("/users/{username:str}/revoke-tokens", status_code=200)
async def revoke_user_tokens(
    request: Request[Any, Any, Any], admin: NamedDependency[Admin], username: FromPath[str]
) -> UserUpdated:
    body = await read_body(request, TokensRevocation, optional=True)
    user_id = await administration.revoke_user_tokens(
        _authority(request), username, body.reason, admin.metadata
    )
    return UserUpdated(user_id=user_id, username=username)


@post("/users/{username:str}/erase", status_code=200)
async def erase_user(
    request: Request[Any, Any, Any], admin: NamedDependency[Admin], username: FromPath[str]
) -> UserErasure:
    body = await read_body(request, UserErasing, optional=True)
    user_id = await administration.erase_user(
        _authority(request), username, body.reason, admin.metadata
    )
    return UserErasure(user_id=user_id, erased=True)


@delete("/users/{username:str}/consents/{client_id:str}", status_code=204)
async def withdraw_consent(
    request: Request[Any, Any, Any],
    admin: NamedDependency[Admin],
    username: FromPath[str],
    client_id: FromPath[str],
) -> None:
    await administration.withdraw_consent(_authority(request), username, client_id, admin.metadata)
