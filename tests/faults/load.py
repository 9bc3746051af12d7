"""Client-credentials token requests, a few dozen in flight, and what each one got back."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import httpx

from infra.crypto.digests import token_digest
from schemas.events import Digest

__all__ = ["Answer", "TokenLoad"]

_REQUEST_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class Answer:
    """One request: when it was sent and answered (monotonic), and what came back.

    `status` is None when no HTTP answer came (the connection was cut, or refused).
    """

    sent_at: float
    answered_at: float
    status: int | None
    retry_after: str | None = None
    error: str | None = None  # the OAuth `error`, or the transport error's type
    digest: Digest | None = None  # of the access token a 200 handed out


@dataclass
class TokenLoad:
    """`concurrency` tasks, each sending one request after the other, over the given servers
    in turn, until `stop`."""

    base_urls: Sequence[str]
    client_id: str
    secret: str
    concurrency: int = 32
    answers: list[Answer] = field(default_factory=list)
    _stopping: asyncio.Event = field(default_factory=asyncio.Event)
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)
    _clients: list[httpx.AsyncClient] = field(default_factory=list)

    async def __aenter__(self) -> TokenLoad:
        limits = httpx.Limits(max_connections=self.concurrency)
        for url in self.base_urls:
            timeout = httpx.Timeout(_REQUEST_TIMEOUT_S)
            self._clients.append(httpx.AsyncClient(base_url=url, limits=limits, timeout=timeout))
        turns = itertools.cycle(self._clients)
        self._tasks = [
            asyncio.create_task(self._send_until_stopped(next(turns)))
            for _ in range(self.concurrency)
        ]
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.stop()

    async def stop(self) -> None:
        self._stopping.set()
        if self._tasks:
            await asyncio.gather(*self._tasks)
            self._tasks = []
        for client in self._clients:
            await client.aclose()
        self._clients = []

    async def _send_until_stopped(self, http: httpx.AsyncClient) -> None:
        form = {"grant_type": "client_credentials", "scope": "read"}
        while not self._stopping.is_set():
            sent_at = time.monotonic()
            try:
                response = await http.post("/oauth/token", data=form, auth=self._auth)
            except httpx.TransportError as error:
                self.answers.append(
                    Answer(sent_at, time.monotonic(), None, error=type(error).__name__)
                )
                # A refused connection answers at once: do not spin while the server is away.
                await asyncio.sleep(0.05)
                continue
            self.answers.append(_answer(sent_at, response))

    @property
    def _auth(self) -> tuple[str, str]:
        return (self.client_id, self.secret)

    async def until_ok_after(self, instant: float, timeout: float) -> float:
        """Wait for a 200 to a request sent after `instant`; returns when it was answered."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            ok = [a for a in self.answers if a.status == 200 and a.sent_at > instant]
            if ok:
                return min(a.answered_at for a in ok)
            await asyncio.sleep(0.05)
        raise AssertionError(f"no 200 within {timeout}s: {self.statuses()}")

    def statuses(self, answers: Sequence[Answer] | None = None) -> Counter[int | str]:
        """How many of each HTTP status (or transport error) the answers hold."""
        chosen = self.answers if answers is None else answers
        return Counter(
            a.status if a.status is not None else f"no answer: {a.error}" for a in chosen
        )

    def acknowledged(self) -> list[Answer]:
        """The 200s: each one handed a client a token its event must back."""
        return [a for a in self.answers if a.status == 200]

    def sent_between(self, start: float, end: float) -> list[Answer]:
        return [a for a in self.answers if start <= a.sent_at < end]


def _answer(sent_at: float, response: httpx.Response) -> Answer:
    answered_at = time.monotonic()
    error = digest = None
    with contextlib.suppress(ValueError):
        body = response.json()
        if response.status_code == 200:
            digest = token_digest(body["access_token"])
        else:
            error = body.get("error") if isinstance(body, dict) else None
    return Answer(
        sent_at,
        answered_at,
        response.status_code,
        retry_after=response.headers.get("retry-after"),
        error=error,
        digest=digest,
    )
