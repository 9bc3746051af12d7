"""An ASGI application served over granian's RSGI interface: scope, body, response, lifespan.

`keyledger serve` speaks RSGI, which hands the body and the response across in one call
each instead of ASGI's awaited messages (services/api/rsgi.py); every route but the hot ones
is still Litestar's, reached through this translation.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any, Final
from urllib.parse import quote

from litestar.types import ASGIApp

__all__ = ["Lifespan", "address", "serve_asgi"]

_ASGI: Final = {"version": "3.0", "spec_version": "2.3"}
_FAILED: Final = (
    b'{"error":"server_error","error_description":"the server could not answer",'
    b'"error_code":"server_error"}'
)


def address(text: str) -> tuple[str, int] | None:
    """`host:port` (IPv6 hosts in brackets or not) as ASGI's (host, port)."""
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit():
        return None
    return host.strip("[]"), int(port)


def _header_bytes(text: str) -> bytes:
    try:
        return text.encode("latin-1")
    except UnicodeEncodeError:  # a value the server decoded as UTF-8
        return text.encode("utf-8")


def asgi_scope(scope: Any) -> dict[str, Any]:
    """The ASGI HTTP scope of an RSGI one (RSGI's path is already percent-decoded)."""
    path: str = scope.path
    return {
        "type": "http",
        "asgi": _ASGI,
        "http_version": scope.http_version,
        "method": scope.method,
        "scheme": scope.scheme,
        "path": path,
        "raw_path": quote(path, safe="/%:@!$&'()*+,;=~").encode("ascii"),
        "query_string": scope.query_string.encode("utf-8"),
        "root_path": "",
        "headers": [(_header_bytes(k), _header_bytes(v)) for k, v in scope.headers.items()],
        "client": address(scope.client),
        "server": address(scope.server),
        "state": {},
    }


class _Exchange:
    """One request's ASGI receive and send over an RSGI protocol object."""

    __slots__ = (
        "_body", "_disconnected", "_done", "_headers", "_protocol", "_status", "_stream",
        "_watcher", "answered",
    )  # fmt: skip

    def __init__(self, protocol: Any) -> None:
        self._protocol = protocol
        self._body: AsyncIterator[bytes] = protocol.__aiter__()
        self._done = False
        self._status = 500
        self._headers: list[tuple[str, str]] = []
        self._stream: Any = None
        self._disconnected = asyncio.Event()
        self._watcher: asyncio.Task[None] | None = None
        self.answered = False

    async def receive(self) -> dict[str, Any]:
        if not self._done:
            try:
                chunk = await anext(self._body)
            except StopAsyncIteration:
                self._done = True
                return {"type": "http.request", "body": b"", "more_body": False}
            return {"type": "http.request", "body": chunk, "more_body": True}
        # Awaited through an event, set by the client going away or by the response ending:
        # granian's own awaitable ignores cancellation.
        if self._watcher is None:
            self._watcher = asyncio.create_task(self._watch())
        await self._disconnected.wait()
        return {"type": "http.disconnect"}

    async def _watch(self) -> None:
        await self._protocol.client_disconnect()
        self._disconnected.set()

    async def send(self, message: dict[str, Any]) -> None:
        kind = message["type"]
        if kind == "http.response.start":
            self._status = message["status"]
            self._headers = [
                (k.decode("latin-1"), v.decode("latin-1")) for k, v in message.get("headers", ())
            ]
        elif kind == "http.response.body":
            body: bytes = message.get("body", b"")
            more = message.get("more_body", False)
            if not more:
                # Answered: from now on, as ASGI has it, receive() says the client is gone
                # (a streaming response listens for that until then).
                self._disconnected.set()
            if self._stream is None:
                self.answered = True
                if not more:
                    self._protocol.response_bytes(self._status, self._headers, body)
                    return
                self._stream = self._protocol.response_stream(self._status, self._headers)
            if body:
                await self._stream.send_bytes(body)

    def close(self) -> None:
        """Stop watching for the client going away, and release the response stream."""
        if self._watcher is not None:
            self._watcher.cancel()
        self._stream = None


async def serve_asgi(app: ASGIApp, scope: Any, protocol: Any) -> None:
    """Serve one RSGI HTTP request with the ASGI `app`."""
    exchange = _Exchange(protocol)
    try:
        asgi: Any = app  # its messages are plain dicts here
        await asgi(asgi_scope(scope), exchange.receive, exchange.send)
    finally:
        exchange.close()
        if not exchange.answered:  # the app failed before answering: still an answer
            headers = [("content-type", "application/json"), ("cache-control", "no-store")]
            protocol.response_bytes(500, headers, _FAILED)


class Lifespan:
    """Drives an ASGI app's lifespan (startup, shutdown) from RSGI's worker hooks, which run
    before the event loop serves and after it stops."""

    def __init__(self, app: ASGIApp) -> None:
        self._app = app
        self._inbox: asyncio.Queue[dict[str, Any]] | None = None
        self._task: asyncio.Task[None] | None = None
        self._waiting: dict[str, asyncio.Future[None]] = {}

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        loop.run_until_complete(self._start())

    def stop(self, loop: asyncio.AbstractEventLoop) -> None:
        loop.run_until_complete(self._stop())

    async def _start(self) -> None:
        self._inbox = asyncio.Queue()
        scope = {"type": "lifespan", "asgi": _ASGI, "state": {}}
        asgi: Any = self._app  # its messages are plain dicts here
        self._task = asyncio.create_task(asgi(scope, self._inbox.get, self._send))
        await self._step("startup")

    async def _stop(self) -> None:
        if self._task is None:
            return
        await self._step("shutdown")
        await self._task

    async def _step(self, phase: str) -> None:
        assert self._inbox is not None and self._task is not None
        done = self._waiting[phase] = asyncio.get_running_loop().create_future()
        await self._inbox.put({"type": f"lifespan.{phase}"})
        finished, _ = await asyncio.wait({done, self._task}, return_when=asyncio.FIRST_COMPLETED)
        if done not in finished:
            self._task.result()  # the lifespan ended without answering: raise what it raised
            raise RuntimeError(f"the application's lifespan ended before its {phase}")
        done.result()

    async def _send(self, message: dict[str, Any]) -> None:
        phase, _, outcome = message["type"].removeprefix("lifespan.").partition(".")
        waiting = self._waiting.get(phase)
        if waiting is None or waiting.done():
            return
        if outcome == "complete":
            waiting.set_result(None)
        else:
            waiting.set_exception(RuntimeError(message.get("message") or f"{phase} failed"))
