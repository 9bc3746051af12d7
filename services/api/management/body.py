"""Management request bodies: JSON decoded into one Struct, or refused as `invalid_request`."""

from __future__ import annotations

from typing import Any, TypeVar

import msgspec
from litestar import Request

from services.api.oauth.params import MAX_BODY
from services.refusals import Refused

__all__ = ["read_body"]

T = TypeVar("T")


async def read_body(request: Request[Any, Any, Any], into: type[T], *, optional: bool = False) -> T:
    """The body as `into`; an `optional` body may be empty, meaning every field's default."""
    body = await request.body()
    if len(body) > MAX_BODY:
        raise Refused("request_too_large", "request body too large")
    content_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if optional and not body.strip():
        body = b"{}"
    elif content_type not in ("application/json", ""):
        raise Refused("invalid_request", "send the body as application/json")
    try:
        decoded = msgspec.json.decode(body, type=into)
    except msgspec.ValidationError as error:
        message = str(error).replace("`$.", "`").replace("Object missing required field", "missing")
        raise Refused("invalid_request", message) from None
    except (msgspec.DecodeError, UnicodeDecodeError):  # msgspec checks UTF-8 in strings
        raise Refused("invalid_request", "the body is not valid JSON") from None
    if _holds_nul(msgspec.to_builtins(decoded)):
        # PostgreSQL text holds no NUL: refused here rather than as a failed write later.
        raise Refused("invalid_request", "text must not contain NUL characters")
    return decoded


def _holds_nul(value: object) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_holds_nul(k) or _holds_nul(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(_holds_nul(item) for item in value)
    return False
