"""The hot OAuth endpoints as plain ASGI handlers: form in, JSON out, nothing between.

The token, introspection and revocation endpoints take a body and return JSON; they need
none of Litestar's parameter parsing, response machinery or middleware, which would cost
more CPU than the endpoint's own work. They are registered as Litestar routes (one route
table) but served by services/api/fast_lane.py ahead of the middleware, so each answers
for itself: the request id, and every failure as an OAuth error (never a bare 500 page).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Final, Protocol

import structlog
from litestar import asgi
from litestar.handlers import ASGIRouteHandler
from litestar.types import HTTPResponseStartEvent, HTTPScope, Receive, Scope, Send

from schemas.envelope import ActorKind, Metadata
from services.api.errors import NO_STORE, error_parts, failure_parts
from services.api.oauth.params import MAX_BODY
from services.refusals import Refused

__all__ = ["Core", "OAuthRequest", "RawRequest", "answer", "json_post_endpoint", "request_metadata"]

_JSON: Final = (b"content-type", b"application/json")
_USE_POST: Final = (
    b'{"error":"invalid_request","error_description":"use POST","error_code":"method_not_allowed"}'
)

log = structlog.get_logger(__name__)

_DRAIN_LIMIT: Final = 1024 * 1024


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
                await self._discard(size, message.get("more_body", False))
                raise Refused("request_too_large", "request body too large")
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return b"".join(chunks)

    async def _discard(self, size: int, more: bool) -> None:
        """Read and drop a modest overshoot, so that a client still sending gets to read the
        413; past `_DRAIN_LIMIT` the connection is closed on it instead."""
        while more and size <= _DRAIN_LIMIT:
            message = await self._receive()
            if message["type"] != "http.request":
                return
            size += len(message.get("body", b""))
            more = message.get("more_body", False)


Core = Callable[[OAuthRequest, Any], Awaitable[bytes]]


async def answer(
    core: Core, request: OAuthRequest, method: str, authority: Any
) -> tuple[int, dict[str, str], bytes]:
    """What a JSON POST endpoint answers: status, headers and body; every failure as an OAuth
    error, never a bare 500 page. Shared by the ASGI route and the RSGI fast path."""
    status, headers = 200, dict(NO_STORE)
    if method != "POST":
        status, body = 405, _USE_POST
        headers["Allow"] = "POST"
        return status, headers, body
    try:
        body = await core(request, authority)
    except Refused as refused:
        status, body, headers = error_parts(refused)
    except Exception as error:  # answered, and logged once, here
        status, body, headers = failure_parts(error)
        if status == 500:
            log.error("unhandled_exception", exc_info=error)
    return status, headers, body


def json_post_endpoint(path: str | list[str], core: Core, name: str) -> ASGIRouteHandler:
    """A POST-only route whose `core(request, authority)` returns the JSON body to send.

    The route's `opt["core"]` is `core`, for servers that call it without ASGI (services/api/rsgi).
    """

    async def endpoint(scope: HTTPScope, receive: Receive, send: Send) -> None:
        authority = scope["litestar_app"].state.authority
        request = RawRequest(scope, receive)
        status, headers, body = await answer(core, request, scope["method"], authority)
        headers["X-Request-Id"] = scope.get("state", {}).get("request_id", "")
        start: HTTPResponseStartEvent = {
            "type": "http.response.start",
            "status": status,
            "headers": [_JSON, *((k.lower().encode(), v.encode()) for k, v in headers.items())],
        }
        await send(start)
        await send({"type": "http.response.body", "body": body, "more_body": False})

    endpoint.__name__ = name
    handler: ASGIRouteHandler = asgi(path, name=name, copy_scope=False, opt={"core": core})(
        endpoint
    )
    return handler
