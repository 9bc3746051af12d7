"""The hot OAuth endpoints as plain ASGI route handlers: form in, JSON out, nothing between.

The token and introspection endpoints take a body and return JSON; they need none of
Litestar's parameter parsing or response machinery, which would cost more CPU than the
endpoint's own work. They stay Litestar routes: middleware, exception handling and
logging apply as everywhere else.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Final, Protocol

from litestar import asgi
from litestar.handlers import ASGIRouteHandler
from litestar.types import HTTPResponseStartEvent, HTTPScope, Receive, Scope, Send

from schemas.envelope import ActorKind, Metadata
from services.api.errors import NO_STORE, error_parts
from services.api.oauth.params import MAX_BODY
from services.refusals import Refused

__all__ = ["OAuthRequest", "RawRequest", "json_post_endpoint", "request_metadata"]

_JSON: Final = (b"content-type", b"application/json")
_USE_POST: Final = (
    b'{"error":"invalid_request","error_description":"use POST","error_code":"method_not_allowed"}'
)


class OAuthRequest(Protocol):
    """What an OAuth endpoint reads of a request (Litestar's Request has it too)."""

    @property
    def scope(self) -> Any: ...

    @property
    def headers(self) -> Mapping[str, str]: ...

    async def body(self) -> bytes: ...


def request_metadata(
    request: OAuthRequest,
    client_id: str | None = None,
    actor: ActorKind = "client",
    *,
    workspace_id: str | None = None,
) -> Metadata:
    """Who is calling and from where, as every event of this request records it."""
    client = request.scope.get("client")
    return Metadata(
        actor=actor,
        actor_id=client_id,
        client_id=client_id,
        workspace_id=workspace_id,
        ip=client[0] if client else None,
        user_agent=request.headers.get("user-agent"),
        request_id=request.scope.get("state", {}).get("request_id"),
    )


class RawRequest:
    __slots__ = ("_receive", "headers", "scope")

    def __init__(self, scope: Scope, receive: Receive) -> None:
        self.scope = scope
        self._receive = receive
        self.headers = {
            name.decode("latin-1").lower(): value.decode("latin-1")
            for name, value in scope["headers"]
        }

    async def body(self) -> bytes:
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await self._receive()
            if message["type"] != "http.request":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > MAX_BODY:
                raise Refused("request_too_large", "request body too large")
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return b"".join(chunks)


Core = Callable[[OAuthRequest, Any], Awaitable[bytes]]


def json_post_endpoint(path: str | list[str], core: Core, name: str) -> ASGIRouteHandler:
    """A POST-only route whose `core(request, authority)` returns the JSON body to send."""

    async def endpoint(scope: HTTPScope, receive: Receive, send: Send) -> None:
        status, headers = 200, dict(NO_STORE)
        if scope["method"] != "POST":
            status, body = 405, _USE_POST
            headers["Allow"] = "POST"
        else:
            authority = scope["litestar_app"].state.authority
            try:
                body = await core(RawRequest(scope, receive), authority)
            except Refused as refused:
                status, body, headers = error_parts(refused)
        start: HTTPResponseStartEvent = {
            "type": "http.response.start",
            "status": status,
            "headers": [_JSON, *((k.lower().encode(), v.encode()) for k, v in headers.items())],
        }
        await send(start)
        await send({"type": "http.response.body", "body": body, "more_body": False})

    endpoint.__name__ = name
    handler: ASGIRouteHandler = asgi(path, name=name, copy_scope=False)(endpoint)
    return handler
