"""What `keyledger serve` runs in each HTTP worker: the app over granian's RSGI interface.

The token and introspection endpoints are answered here directly: RSGI reads the body and
sends the response in one call each, where ASGI's awaited receive and two sends cost about a
third of such a request's CPU in the worker (DECISIONS 27). They run the same core as their
ASGI routes (services/api/oauth/endpoint.py), so both answer alike; every other route is
Litestar's, through services/api/asgi_over_rsgi.py.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterable, Mapping
from typing import Any, Final

from litestar import Litestar
from litestar.handlers import ASGIRouteHandler

from infra.heap import freeze_startup_objects
from infra.logging import REQUEST_ID
from services.api.app import create_app
from services.api.asgi_over_rsgi import Lifespan, address, serve_asgi
from services.api.oauth.endpoint import Core, answer
from services.api.oauth.introspection import introspect_token
from services.api.oauth.params import MAX_BODY
from services.api.oauth.token import issue_token
from services.api.request_id import log, log_request, sane_request_id
from services.refusals import Refused

__all__ = ["KeyledgerRSGI", "create_server_app"]

_JSON: Final = ("content-type", "application/json")


class _Request:
    """An OAuth endpoint's view of an RSGI request (services.api.oauth.endpoint.OAuthRequest)."""

    __slots__ = ("_protocol", "headers", "scope")

    def __init__(self, scope: Any, protocol: Any, request_id: str) -> None:
        self._protocol = protocol
        self.headers: Mapping[str, str] = scope.headers  # lower-case names, first value
        self.scope = {
            "client": address(scope.client),
            "query_string": scope.query_string.encode("utf-8"),
            "state": {"request_id": request_id},
        }

    async def body(self) -> bytes:
        declared = self.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) <= MAX_BODY:
            body: bytes = await self._protocol()
            return body
        # Too long by its own account, or of unknown length: counted as it streams in, and
        # refused once past the limit (the server drops the rest with the connection).
        chunks, size = [], 0
        async for chunk in self._protocol:
            size += len(chunk)
            if size > MAX_BODY:
                raise Refused("request_too_large", "request body too large")
            chunks.append(chunk)
        return b"".join(chunks)


class KeyledgerRSGI:
    """The Litestar app, its hot JSON endpoints served without ASGI."""

    def __init__(self, app: Litestar, routes: Iterable[ASGIRouteHandler]) -> None:
        self._app = app
        self._lifespan = Lifespan(app)
        self._cores: dict[str, Core] = {
            path: route.opt["core"] for route in routes for path in route.paths
        }

    def __rsgi_init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._lifespan.start(loop)
        freeze_startup_objects()  # the app and its state are built: they live as long

    def __rsgi_del__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._lifespan.stop(loop)

    async def __rsgi__(self, scope: Any, protocol: Any) -> None:
        if scope.proto != "http":
            protocol.close(1008)  # no websocket routes
            return
        core = self._cores.get(scope.path)
        if core is None:
            await serve_asgi(self._app, scope, protocol)
            return
        request_id = sane_request_id(scope.headers.get("x-request-id"))
        bound = REQUEST_ID.set(request_id)
        started = time.perf_counter()
        try:
            request = _Request(scope, protocol, request_id)
            authority = self._app.state.authority
            status, headers, body = await answer(core, request, scope.method, authority)
            headers["X-Request-Id"] = request_id
            protocol.response_bytes(status, [_JSON, *headers.items()], body)
            if log.is_enabled_for(logging.DEBUG):
                query = request.scope["query_string"]
                logged: Any = {"method": scope.method, "path": scope.path, "query_string": query}
                log_request(logged, status, started)
        finally:
            REQUEST_ID.reset(bound)


def create_server_app() -> KeyledgerRSGI:
    """The factory granian calls in each worker (settings from the environment)."""
    return KeyledgerRSGI(create_app(), [issue_token, introspect_token])
