"""A request id per request: taken from `X-Request-Id` if sane, bound to every log line."""

from __future__ import annotations

import logging
import re
import time
import uuid

import structlog
from litestar.datastructures import MutableScopeHeaders
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from infra.logging import REQUEST_ID

__all__ = ["RequestIdMiddleware", "log_request", "request_id_of", "sane_request_id"]

log = structlog.get_logger(__name__)

_SANE_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")


def request_id_of(scope: Scope) -> str:
    """The caller's `X-Request-Id` if sane, else a new one; kept in the scope's state."""
    offered = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"x-request-id"), "")
    request_id = sane_request_id(offered)
    scope.setdefault("state", {})["request_id"] = request_id
    return request_id


def sane_request_id(offered: str | None) -> str:
    """`offered` if it is a sane request id, else a new one."""
    return offered if offered and _SANE_ID.fullmatch(offered) else uuid.uuid4().hex


class RequestIdMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return
        request_id = request_id_of(scope)

        status = 0
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableScopeHeaders.from_message(message)["X-Request-Id"] = request_id
            await send(message)

        bound = REQUEST_ID.set(request_id)
        try:
            await self.app(scope, receive, send_with_id)
            log_request(scope, status, started)
        finally:
            REQUEST_ID.reset(bound)


def log_request(scope: Scope, status: int, started: float) -> None:
    """One debug line per request: never bodies; the query string goes through redaction."""
    if log.is_enabled_for(logging.DEBUG):
        log.debug(
            "http_request",
            method=scope.get("method"),
            path=scope["path"],
            query=scope.get("query_string", b"").decode("latin-1"),
            status=status,
            ms=round((time.perf_counter() - started) * 1000, 2),
        )
