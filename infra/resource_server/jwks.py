"""keyledger's signing keys as a resource server keeps them: fetched, cached, refreshed.

https://www.rfc-editor.org/rfc/rfc7517#section-5
The JWKS is fetched at start, again when it is older than `max_age_s` (keys are rotated and
retired), and at once when a token names a `kid` it does not hold (a new key), at most once
per `min_interval_s` so that tokens with made-up kids cannot flood keyledger.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Final

import httpx

from infra.resource_server.jws import KeySet

__all__ = ["JwksCache", "JwksUnavailable"]

_TIMEOUT_S: Final = 5.0

log = logging.getLogger(__name__)


class JwksUnavailable(Exception):
    """The JWKS could not be fetched and no earlier copy is held."""


class JwksCache:
    def __init__(
        self,
        url: str,
        *,
        http: httpx.AsyncClient | None = None,
        max_age_s: float = 300.0,
        min_interval_s: float = 5.0,
    ) -> None:
        self.url = url
        self._http = http or httpx.AsyncClient(timeout=_TIMEOUT_S)
        self._owns_http = http is None
        self._max_age = max_age_s
        self._min_interval = min_interval_s
        self.keys = KeySet({})
        self._fetched_at = float("-inf")
        self._attempted_at = float("-inf")
        self._fetching: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """The first fetch; JwksUnavailable if keyledger does not answer with a JWKS."""
        await self._fetch()
        if not self.keys.kids:
            raise JwksUnavailable(f"{self.url} holds no usable ES256/RS256 signing key")

    async def close(self) -> None:
        if self._fetching is not None:
            self._fetching.cancel()
        if self._owns_http:
            await self._http.aclose()

    async def keys_for(self, kid: str | None) -> KeySet:
        """The keys to verify a token naming `kid` with, fetched again if need be."""
        now = time.monotonic()
        unknown = kid is not None and kid not in self.keys
        if unknown and now - self._attempted_at >= self._min_interval:
            await self._refresh()
        elif now - self._fetched_at >= self._max_age and (
            self._fetching is None or self._fetching.done()
        ):
            # Old but usable: refresh in the background, answer with what is held.
            self._fetching = asyncio.create_task(self._refresh())
        return self.keys

    async def _refresh(self) -> None:
        try:
            await self._fetch()
        except JwksUnavailable as error:
            log.warning("jwks refresh failed, keeping %d keys: %s", len(self.keys.kids), error)

    async def _fetch(self) -> None:
        self._attempted_at = time.monotonic()
        try:
            response = await self._http.get(self.url, headers={"Accept": "application/json"})
            response.raise_for_status()
            keys = KeySet.from_jwks(response.content)
        except (httpx.HTTPError, ValueError) as error:
            raise JwksUnavailable(f"{self.url}: {error}") from None
        self.keys = keys
        self._fetched_at = time.monotonic()
