"""The ceiling for `bench_oauth`: a token endpoint that parses the request and does nothing else.

`POST /oauth/token` decodes the same urlencoded form body keyledger's endpoint gets
(`grant_type=client_credentials&scope=...`) into a msgspec Struct, reads the Basic
Authorization header, and answers a token-shaped JSON with `Cache-Control: no-store`:
no database, no NATS, no signing. Served the way `keyledger serve` serves (granian, ASGI,
uvloop, access log off), it is the most a Litestar token endpoint can do on this machine.

    granian --interface asgi --loop uvloop --no-log-access tests.bench.ceiling_app:app
"""

from __future__ import annotations

import base64
import binascii
import secrets
from typing import Annotated, Final

import msgspec
from litestar import Litestar, Response, post
from litestar.datastructures import CacheControlHeader
from litestar.enums import RequestEncodingType
from litestar.params import Body, Parameter

__all__ = ["app"]

# Token-shaped: about the length of a signed JWT access token.
_TOKEN: Final = secrets.token_urlsafe(225)  # 300 characters


class TokenRequest(msgspec.Struct, frozen=True):
    grant_type: str
    scope: str = ""


class TokenResponse(msgspec.Struct, frozen=True):
    access_token: str
    token_type: str
    expires_in: int
    scope: str


class TokenError(msgspec.Struct, frozen=True):
    error: str


def _basic_client_id(authorization: str) -> str | None:
    scheme, _, encoded = authorization.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        client_id, sep, _secret = base64.b64decode(encoded, validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return client_id if sep and client_id else None


@post("/oauth/token", status_code=200, cache_control=CacheControlHeader(no_store=True))
async def token(
    data: Annotated[TokenRequest, Body(media_type=RequestEncodingType.URL_ENCODED)],
    authorization: Annotated[str, Parameter(header="Authorization")] = "",
) -> Response[TokenResponse | TokenError]:
    if _basic_client_id(authorization) is None:
        return Response(TokenError("invalid_client"), status_code=401)
    return Response(TokenResponse(_TOKEN, "Bearer", 3600, data.scope))


app = Litestar(route_handlers=[token], logging_config=None, openapi_config=None, debug=False)
