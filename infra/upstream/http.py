"""One bounded HTTP exchange with a provider, classified by what it tells about the request.

What matters for a one-time refresh token is whether the request may have reached the
provider: a connection that was never made is `Unsent` (safe to retry), one that broke or
timed out after the request left is `InDoubt` (the token may be spent).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

import httpx

__all__ = ["MAX_RESPONSE_BYTES", "Answer", "InDoubt", "Unsent", "exchange"]

# Token, metadata and introspection answers are small; anything larger is not one of them.
MAX_RESPONSE_BYTES: Final = 256 * 1024


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    body: bytes
    content_type: str


@dataclass(frozen=True, slots=True)
class Unsent:
    """The request never reached the provider (no connection, or no free connection)."""

    reason: str


@dataclass(frozen=True, slots=True)
class InDoubt:
    """The request may have reached the provider, but no complete answer came back."""

    reason: str


async def exchange(
    http: httpx.AsyncClient,
    method: str,
    url: str,
    *,
    data: Mapping[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
    auth: tuple[str, str] | None = None,
) -> Answer | Unsent | InDoubt:
    """Never raises for the provider's or the network's behaviour; redirects are not followed."""
    try:
        async with http.stream(
            method, url, data=data, headers=headers, auth=auth, follow_redirects=False
        ) as response:
            body = bytearray()
            async for chunk in response.aiter_bytes():
                body += chunk
                if len(body) > MAX_RESPONSE_BYTES:
                    return InDoubt("the answer is too large")
            content_type = response.headers.get("content-type", "").split(";", 1)[0].strip()
            return Answer(response.status_code, bytes(body), content_type.lower())
    except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as error:
        return Unsent(f"could not connect: {type(error).__name__}")
    except (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError) as error:
        return InDoubt(f"no complete answer: {type(error).__name__}")
    except (httpx.InvalidURL, httpx.UnsupportedProtocol) as error:
        return Unsent(f"bad URL: {type(error).__name__}")
    except httpx.HTTPError as error:  # e.g. an undecodable body: the request was answered
        return InDoubt(f"unreadable answer: {type(error).__name__}")
