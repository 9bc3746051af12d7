"""Rate limits at the HTTP edge: 429 with Retry-After, the trip recorded once a window.

The OAuth endpoints answer in the OAuth JSON error format (`temporarily_unavailable`,
`error_code: too_many_requests`); the pages answer with an error page in their language.
"""

from __future__ import annotations

import math
from typing import Any, Final

from litestar import Request, Response

from schemas.envelope import ActorKind
from schemas.events.rate_limit import RateLimitName
from services.api.oauth.endpoint import OAuthRequest, request_metadata
from services.api.pages.messages import Lang, messages, pick_lang
from services.api.pages.responses import page
from services.api.pages.templates import error_page
from services.authority import Authority
from services.refusals import Refused

__all__ = ["client_address", "enforce", "form_limit", "page_limit"]

_WHY: Final[dict[RateLimitName, str]] = {
    "client": "this client sends too many requests; retry after the delay given",
    "source": "too many requests from this address; retry after the delay given",
    "client_auth": "too many failed client authentications from this address; retry later",
    "login": "too many sign-in attempts from this address; retry after the delay given",
    "page": "too many requests from this address; retry after the delay given",
}


def client_address(request: OAuthRequest) -> str | None:
    """The address the connection comes from, as events record it (`Metadata.ip`)."""
    client = request.scope.get("client")
    return client[0] if client else None


async def _over(
    authority: Authority,
    limit: RateLimitName,
    key: str | None,
    request: OAuthRequest,
    *,
    client_id: str | None,
    actor: ActorKind,
) -> int | None:
    """Seconds the caller must wait if `key` is over `limit` (recorded once a window)."""
    if key is None:
        return None
    refusal = authority.limits.take(limit, key)
    if refusal is None:
        return None
    metadata = request_metadata(request, client_id, actor)
    await authority.limits.record(limit, refusal, metadata)
    return max(1, math.ceil(refusal.retry_after))


async def enforce(
    authority: Authority,
    limit: RateLimitName,
    key: str | None,
    request: OAuthRequest,
    *,
    client_id: str | None = None,
) -> None:
    """Raise `too_many_requests` (429, Retry-After) if `key` is over `limit`."""
    wait = await _over(authority, limit, key, request, client_id=client_id, actor="client")
    if wait is not None:
        raise Refused("too_many_requests", _WHY[limit], retry_after=wait)


async def page_limit(
    authority: Authority, limit: RateLimitName, request: Request[Any, Any, Any], lang: Lang
) -> Response[str] | None:
    """The 429 page if this address is over `limit`, else None: the page may go on."""
    wait = await _over(
        authority, limit, client_address(request), request, client_id=None, actor="user"
    )
    if wait is None:
        return None
    text = messages(lang)
    html = error_page(text, lang, text.rate_limited.format(seconds=wait))
    return page(html, 429, extra={"Retry-After": str(wait)})


async def form_limit(
    authority: Authority, limit: RateLimitName, request: Request[Any, Any, Any]
) -> Response[str] | None:
    """`page_limit` for a form post, in the form's language, before any other work on it."""
    form = await request.form()  # parsed once: the handler reads it again for free
    lang = form.get("lang")
    return await page_limit(
        authority, limit, request, pick_lang(lang if isinstance(lang, str) else None, None)
    )
