"""A database outage is a 503 with Retry-After, never a 500: the caller may simply retry.

Nothing acknowledged is lost meanwhile: a response is only sent once its events are
committed, so a request cut short by the outage answers 503 and is retried by its client.
Pages answer with the error page, everything else in the OAuth JSON error shape
(`temporarily_unavailable`, RFC 6749 4.1.2.1). Any other driver error is a fault: it gets
the same 500 as every unexpected error.
"""

from __future__ import annotations

from typing import Any, Final

import structlog
from litestar import Request, Response
from litestar.exceptions.responses import create_exception_response

from infra.postgres.outage import is_outage
from services.api.errors import RETRY_AFTER_S, failure_parts
from services.api.pages.messages import pick_lang
from services.api.pages.responses import error

__all__ = ["outage_handler"]

# Paths that answer a browser with HTML pages.
_PAGES: Final = ("/oauth/authorize", "/account")

log = structlog.get_logger(__name__)


def outage_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    if not is_outage(exc):
        return create_exception_response(request, exc)  # logged as unhandled by the app
    log.warning("database_unavailable", path=request.url.path, error=str(exc) or type(exc).__name__)
    if request.url.path.startswith(_PAGES):
        query = request.query_params
        page = error(pick_lang(query.get("lang"), query.get("ui_locales")), "unavailable", 503)
        page.headers["Retry-After"] = str(RETRY_AFTER_S)
        return page
    status, body, headers = failure_parts(exc)  # the same answer as the hot endpoints'
    return Response(body, status_code=status, media_type="application/json", headers=headers)
