"""One translation table: a refusal's reason -> RFC `error`, HTTP status (RFC 6749 5.2).

Bodies are `{"error", "error_description", "error_code"}`: `error` is the RFC code a
generic client understands, `error_code` the precise reason.
"""

from __future__ import annotations

from typing import Any, Final

import msgspec
from litestar import Request, Response
from litestar.exceptions import HTTPException

from infra.postgres.outage import is_outage
from services.refusals import Reason, Refused

__all__ = [
    "NO_STORE",
    "TRANSLATION",
    "ErrorBody",
    "error_parts",
    "error_response",
    "failure_parts",
    "http_exception_handler",
    "refused_handler",
]

TRANSLATION: Final[dict[Reason, tuple[str, int]]] = {
    "invalid_request": ("invalid_request", 400),
    "request_too_large": ("invalid_request", 413),
    "invalid_client": ("invalid_client", 401),
    "invalid_redirect_uri": ("invalid_request", 400),
    "invalid_grant": ("invalid_grant", 400),
    "invalid_code": ("invalid_grant", 400),
    "pkce_mismatch": ("invalid_grant", 400),
    "invalid_credentials": ("invalid_grant", 401),
    "too_many_attempts": ("invalid_grant", 429),
    # A rate limit: RFC 6749 names no token-endpoint code for it; this is the registered code
    # that says "try again later" (RFC 6749 4.1.2.1). Retry-After says when.
    "too_many_requests": ("temporarily_unavailable", 429),
    "password_expired": ("invalid_grant", 401),
    "otp_required": ("invalid_grant", 401),
    # The company's people sign in through its identity provider, never with a password here.
    "sso_required": ("invalid_grant", 400),
    "invalid_scope": ("invalid_scope", 400),
    "unauthorized_client": ("unauthorized_client", 400),
    "unsupported_grant_type": ("unsupported_grant_type", 400),
    "unsupported_token_type": ("unsupported_token_type", 400),
    "access_denied": ("access_denied", 403),
    "invalid_token": ("invalid_token", 401),
    "insufficient_scope": ("insufficient_scope", 403),
    "not_found": ("not_found", 404),
    "conflict": ("conflict", 409),
    # RFC 6749 4.1.2.1's code for a server that cannot answer now (here: a provider).
    "temporarily_unavailable": ("temporarily_unavailable", 503),
}

# What Litestar itself refuses (routing, body size, parameter types), in the same shape:
# status -> (RFC `error`, `error_code`). Statuses not named are `invalid_request`.
_HTTP_ERRORS: Final[dict[int, tuple[str, str]]] = {
    404: ("not_found", "not_found"),
    405: ("invalid_request", "method_not_allowed"),
    413: ("invalid_request", "request_too_large"),
    503: ("temporarily_unavailable", "temporarily_unavailable"),
}

# RFC 6749 5.1 / 5.2: token responses must not be cached.
NO_STORE: Final = {"Cache-Control": "no-store", "Pragma": "no-cache"}


class ErrorBody(msgspec.Struct, frozen=True, kw_only=True):
    error: str
    error_description: str
    error_code: str


def error_parts(refused: Refused) -> tuple[int, bytes, dict[str, str]]:
    """Status, JSON body and headers of a refusal, for any kind of handler."""
    error, status = TRANSLATION[refused.reason]
    headers = dict(NO_STORE)
    if refused.retry_after is not None:
        headers["Retry-After"] = str(refused.retry_after)
    if refused.reason == "invalid_client":
        headers["WWW-Authenticate"] = 'Basic realm="keyledger"'
    elif status == 401 and refused.reason == "invalid_token":
        headers["WWW-Authenticate"] = 'Bearer error="invalid_token"'
    body = ErrorBody(error=error, error_description=refused.description, error_code=refused.reason)
    return status, msgspec.json.encode(body), headers


# Long enough for a restart or a failover to finish, short enough not to lose the caller.
RETRY_AFTER_S: Final = 2


def failure_parts(error: Exception) -> tuple[int, bytes, dict[str, str]]:
    """Status, JSON body and headers for an exception that is not a refusal: a database
    outage is a 503 the caller may retry (infra/postgres/outage.py), anything else a 500."""
    headers = dict(NO_STORE)
    if is_outage(error):
        headers["Retry-After"] = str(RETRY_AFTER_S)
        body = ErrorBody(
            error="temporarily_unavailable",
            error_description="the service is briefly unavailable; retry after the delay given",
            error_code="temporarily_unavailable",
        )
        return 503, msgspec.json.encode(body), headers
    body = ErrorBody(
        error="server_error", error_description="internal error", error_code="server_error"
    )
    return 500, msgspec.json.encode(body), headers


def error_response(refused: Refused) -> Response[bytes]:
    status, body, headers = error_parts(refused)
    return Response(body, status_code=status, media_type="application/json", headers=headers)


def refused_handler(_request: Request[Any, Any, Any], exc: Exception) -> Response[bytes]:
    assert isinstance(exc, Refused)
    return error_response(exc)


def http_exception_handler(_request: Request[Any, Any, Any], exc: Exception) -> Response[bytes]:
    """Litestar's own refusals (no route, wrong method, body too large, a query parameter of
    the wrong type) in the error shape of every other answer; other server errors say
    nothing more than that."""
    assert isinstance(exc, HTTPException)
    status = exc.status_code
    if status >= 500:
        error, code = _HTTP_ERRORS.get(status, ("server_error", "server_error"))
        description = "the server could not answer; retry later"
    else:
        error, code = _HTTP_ERRORS.get(status, ("invalid_request", "invalid_request"))
        description = exc.detail or error
    body = ErrorBody(error=error, error_description=description, error_code=code)
    headers = {**NO_STORE, **(exc.headers or {})}
    return Response(
        msgspec.json.encode(body),
        status_code=status,
        media_type="application/json",
        headers=headers,
    )
