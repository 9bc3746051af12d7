"""Reading OAuth parameters: form bodies (RFC 6749) and JSON bodies, the same Structs either way.

A parameter given twice is refused (RFC 6749 section 3.2), and so is any secret in the
query string: URLs end up in logs and browser history.
"""

from __future__ import annotations

import base64
import binascii
from typing import TYPE_CHECKING, Final
from urllib.parse import parse_qsl, unquote_plus

import msgspec

from services.refusals import Refused

if TYPE_CHECKING:
    from services.api.oauth.endpoint import OAuthRequest

__all__ = ["MAX_BODY", "basic_credentials", "read_params", "refuse_secrets_in_query"]

_SECRET_PARAMS: Final = frozenset(
    {"client_secret", "password", "code", "code_verifier", "refresh_token", "token", "assertion"}
)
# Every OAuth and management body: far above any legitimate request.
MAX_BODY: Final = 64 * 1024


def refuse_secrets_in_query(query_string: bytes) -> None:
    if not query_string:
        return
    names = {name for name, _ in parse_qsl(query_string.decode("latin-1"), keep_blank_values=True)}
    leaked = sorted(names & _SECRET_PARAMS)
    if leaked:
        raise Refused("invalid_request", f"{', '.join(leaked)} must not be sent in the URL")


async def read_params(request: OAuthRequest) -> dict[str, str]:
    """The body's parameters as strings: urlencoded form, or a flat JSON object."""
    refuse_secrets_in_query(request.scope.get("query_string", b""))
    body = await request.body()
    if len(body) > MAX_BODY:
        raise Refused("request_too_large", "request body too large")
    content_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if content_type == "application/json":
        params = _json_params(body)
    elif content_type in ("application/x-www-form-urlencoded", ""):
        params = _form_params(body)
    else:
        raise Refused(
            "invalid_request", "use application/x-www-form-urlencoded or application/json"
        )
    if any("\x00" in name or "\x00" in value for name, value in params.items()):
        raise Refused("invalid_request", "parameters must not contain NUL characters")
    return params


def _json_params(body: bytes) -> dict[str, str]:
    try:
        raw = msgspec.json.decode(body, type=dict[str, str | int | bool | None])
    except (msgspec.DecodeError, UnicodeDecodeError):  # msgspec checks UTF-8 in strings
        raise Refused("invalid_request", "the body is not a flat JSON object") from None
    return {k: v if isinstance(v, str) else str(v) for k, v in raw.items() if v is not None}


def _form_params(body: bytes) -> dict[str, str]:
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=bool(body))
    except (UnicodeDecodeError, ValueError):
        raise Refused("invalid_request", "the body is not a valid form") from None
    params: dict[str, str] = {}
    for name, value in pairs:
        if name in params:
            raise Refused("invalid_request", f"parameter {name} is repeated")
        if value != "":  # RFC 6749 3.1: empty parameters are treated as omitted
            params[name] = value
    return params


def basic_credentials(header: str | None) -> tuple[str, str] | None:
    """client_secret_basic (RFC 6749 2.3.1): both halves are form-urlencoded before base64."""
    if not header or header[:6].lower() != "basic ":
        return None
    try:
        decoded = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise Refused("invalid_client", "malformed Basic credentials") from None
    client_id, sep, secret = decoded.partition(":")
    if not sep or not client_id or "\x00" in decoded:
        raise Refused("invalid_client", "malformed Basic credentials")
    return unquote_plus(client_id), unquote_plus(secret)
