"""The hot OAuth endpoints, dispatched ahead of Litestar's middleware and router.

A token or introspection request costs a few hundred microseconds of CPU; the exception
middleware, the router and the request-id header rewrite would add about a tenth to it.
The endpoints served here (services/api/oauth/endpoint.py) set their own request id header
and answer every failure as an OAuth error, so they need nothing of what they skip.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from typing import Any

from litestar.enums import ScopeType
from litestar.handlers import ASGIRouteHandler
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from infra.logging import REQUEST_ID
from services.api.request_id import log, log_request, request_id_of

__all__ = ["FastLane"]


class FastLane:
    """Sends requests for the given routes' paths straight to them, the rest to `app`."""

    def __init__(self, app: ASGIApp, routes: Iterable[ASGIRouteHandler]) -> None:
        self._app = app
        self._routes: dict[str, Any] = {path: route.fn for route in routes for path in route.paths}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        endpoint = self._routes.get(scope["path"]) if scope["type"] == ScopeType.HTTP else None
        if endpoint is None:
            await self._app(scope, receive, send)
            return
        bound = REQUEST_ID.set(request_id_of(scope))
        try:
            if log.is_enabled_for(logging.DEBUG):
                await _logged(endpoint, scope, receive, send)
            else:
                await endpoint(scope, receive, send)
        finally:
            REQUEST_ID.reset(bound)


async def _logged(endpoint: Any, scope: Scope, receive: Receive, send: Send) -> None:
    status, started = 0, time.perf_counter()

    async def send_noting_status(message: Message) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        await send(message)

    await endpoint(scope, receive, send_noting_status)
    log_request(scope, status, started)
