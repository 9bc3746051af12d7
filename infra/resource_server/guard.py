"""Litestar integration: bearer-token middleware, scope guards, and the lifespan that opens it.

https://www.rfc-editor.org/rfc/rfc6750#section-3
Requests without an accepted access token get `401` with `WWW-Authenticate: Bearer
error="invalid_token"`, a request lacking a scope `403 insufficient_scope`, and every request
`503` until the revocations that can still matter have been replayed. Accepted requests carry
the token's claims as `request.user` (an AccessTokenClaims) and the ValidatedToken as
`request.auth`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any, Final

import msgspec
from litestar import Litestar
from litestar.connection import ASGIConnection
from litestar.exceptions import PermissionDeniedException
from litestar.handlers import BaseRouteHandler
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Receive, Scope, Send

from infra.resource_server.access_tokens import (
    AccessTokens,
    InvalidToken,
    NotReady,
    ResourceServerSettings,
)
from schemas.access_token import AccessTokenClaims

__all__ = ["STATE_KEY", "BearerTokenMiddleware", "access_tokens_lifespan", "require_scope"]

# Where the lifespan keeps the AccessTokens, in `app.state`.
STATE_KEY: Final = "access_tokens"
_RETRY_AFTER_S: Final = b"1"


class _Error(msgspec.Struct, frozen=True):
    error: str
    error_description: str


def access_tokens_lifespan(
    settings: ResourceServerSettings,
) -> Callable[[Litestar], Any]:
    """A Litestar lifespan: the app serves only once the revocations have been replayed."""

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        tokens = await AccessTokens.open(settings)
        app.state[STATE_KEY] = tokens
        try:
            yield
        finally:
            await tokens.close()

    return lifespan


class BearerTokenMiddleware(ASGIMiddleware):
    """Every HTTP request needs `Authorization: Bearer <keyledger access token>`, except paths
    matching `exclude_path_pattern` (e.g. health checks)."""

    def __init__(self, *, exclude: str | tuple[str, ...] | None = None) -> None:
        self.exclude_path_pattern = exclude

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        tokens: AccessTokens = scope["litestar_app"].state[STATE_KEY]
        token = _bearer(scope)
        if token is None:
            await _refuse(send, 401, "invalid_token", "a bearer access token is required")
            return
        try:
            validated = await tokens.validate(token)
        except InvalidToken as refused:
            await _refuse(send, 401, "invalid_token", str(refused))
            return
        except NotReady as not_ready:
            await _refuse(send, 503, "temporarily_unavailable", str(not_ready))
            return
        scope["user"] = validated.claims
        scope["auth"] = validated
        await next_app(scope, receive, send)


Guard = Callable[[ASGIConnection[Any, Any, Any, Any], BaseRouteHandler], None]


def require_scope(*scopes: str) -> Guard:
    """A guard: the token must hold every one of `scopes` (RFC 6750 `insufficient_scope`)."""
    needed = frozenset(scopes)
    challenge = f'Bearer error="insufficient_scope", scope="{" ".join(sorted(needed))}"'

    def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        claims = connection.scope.get("user")
        if not isinstance(claims, AccessTokenClaims) or not needed <= claims.scopes:
            raise PermissionDeniedException(
                detail="insufficient_scope", headers={"WWW-Authenticate": challenge}
            )

    return guard


def _bearer(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            token = token.strip()
            return token if scheme.lower() == "bearer" and token else None
    return None


async def _refuse(send: Send, status: int, error: str, description: str) -> None:
    headers = [(b"content-type", b"application/json"), (b"cache-control", b"no-store")]
    if status == 401:
        challenge = f'Bearer error="{error}", error_description="{description}"'
        headers.append((b"www-authenticate", challenge.encode()))
    else:
        headers.append((b"retry-after", _RETRY_AFTER_S))
    body = msgspec.json.encode(_Error(error=error, error_description=description))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body, "more_body": False})
