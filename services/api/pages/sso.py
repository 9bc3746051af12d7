"""Single sign-on on the pages: off to the company's identity provider, and back.

The login page sends a person whose email domain belongs to a workspace with SSO (or the
authorization request's `login_hint`) to that workspace's provider; `GET /oauth/sso/callback`
takes them back, signed in, to the consent step of the request they started. The flow's
state travels in a signed cookie of this browser's (`kl_sso`), so a callback carried to any
other browser is refused (login CSRF, code injection).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final
from urllib.parse import urlsplit

import msgspec
from litestar import Request, Response, get

from domain.sso import email_domain
from projections import sso_queries
from services.api.pages.messages import Lang, messages, pick_lang
from services.api.pages.responses import cookie, error, page, redirect
from services.api.pages.signed import REQUEST_TTL, Expiring, Pending, seal, unseal
from services.api.pages.steps import continue_signed_in, page_metadata, session_cookie
from services.api.pages.templates import sso_redirect_page
from services.api.rate_limits import page_limit
from services.authority import Authority
from services.authorization import PageError, active_client
from services.commands import utcnow
from services.connections.connector import Connector
from services.connections.flow import Callback
from services.sso import sign_in
from services.sso.config import CALLBACK_PATH

__all__ = ["SSO_COOKIE", "sso_callback", "sso_for", "to_provider"]

SSO_COOKIE: Final = "kl_sso"
_CALLBACK_PARAMS: Final = ("state", "code", "iss", "error", "error_description")
# What each refusal shows; the others of domain/sso.py have a page text of their own name.
_ACCOUNT_REFUSED: Final = frozenset({"user_disabled", "not_allowed"})


class SsoFlow(Expiring, frozen=True, kw_only=True):
    """This browser's trip to the provider: the state it must come back with, and where to."""

    state: str
    workspace_id: str
    issuer: str
    pending: Pending


async def sso_for(authority: Authority, address: str) -> sso_queries.Configured | None:
    """The enabled SSO of the workspace owning the address's email domain, if any."""
    domain = email_domain(address) if "\x00" not in address else None
    if domain is None:
        return None
    async with authority.pool.acquire() as conn:
        return await sso_queries.configured(conn, domain=domain)


def to_provider(
    request: Request[Any, Any, Any],
    configured: sso_queries.Configured,
    pending: Pending,
    login_hint: str,
    now: datetime,
    *,
    from_form: bool,
) -> Response[str]:
    """Send the browser to the provider with a fresh state, remembered in its flow cookie.

    After a form, a page that moves on by itself: Chromium would apply the login form's
    `form-action` to a redirect to the provider's origin."""
    authority: Authority = request.app.state.authority
    connector: Connector = request.app.state.connector
    sso = configured.configuration
    state = sign_in.new_state()
    flow = SsoFlow(
        state=state, workspace_id=sso.workspace_id, issuer=sso.issuer, pending=pending,
        exp=int(now.timestamp()) + REQUEST_TTL,
    )  # fmt: skip
    flow_cookie = cookie(authority, SSO_COOKIE, seal(authority.csrf_key, "sso", flow), REQUEST_TTL)
    url = sign_in.authorization_url(connector, sso, state, login_hint)
    if not from_form:
        return redirect(url, [flow_cookie])
    html = sso_redirect_page(messages(pending.lang), pending.lang, url, urlsplit(url).netloc)
    return page(html, cookies=[flow_cookie])


def _callback(request: Request[Any, Any, Any]) -> Callback | None:
    """The provider's redirect query (RFC 6749 4.1.2); None if a parameter repeats (3.1)."""
    params: dict[str, str] = {}
    for name in _CALLBACK_PARAMS:
        values = request.query_params.getall(name, [])
        if len(values) > 1:
            return None
        if values:
            params[name] = values[0]
    return msgspec.convert(params, Callback)


@get(CALLBACK_PATH, status_code=200)
async def sso_callback(request: Request[Any, Any, Any]) -> Response[str]:
    """The provider's redirect back: signed in, the request goes on to consent or a code."""
    authority: Authority = request.app.state.authority
    connector: Connector = request.app.state.connector
    now = utcnow()
    flow = unseal(
        authority.csrf_key, "sso", request.cookies.get(SSO_COOKIE), SsoFlow, int(now.timestamp())
    )
    lang: Lang = flow.pending.lang if flow else pick_lang(None, None)
    if (limited := await page_limit(authority, "page", request, lang)) is not None:
        return limited
    spent = cookie(authority, SSO_COOKIE, "", 0)  # a flow is good for one callback
    client_id = flow.pending.request.client_id if flow else None
    callback = _callback(request) or Callback()
    outcome = await sign_in.complete(
        connector, authority.group,
        expected=(flow.state, flow.workspace_id, flow.issuer) if flow else None,
        callback=callback, client_id=client_id, metadata=page_metadata(request, client_id),
    )  # fmt: skip
    if outcome.user_id is None or flow is None:
        reason = outcome.reason or "sso_state_mismatch"
        shown = "sso_account_refused" if reason in _ACCOUNT_REFUSED else reason
        response = error(lang, shown, 403 if reason == "sso_domain_not_allowed" else 400)
        response.cookies.append(spent)
        return response
    client = await active_client(authority, flow.pending.request.client_id)
    if isinstance(client, PageError):
        return error(lang, client.reason)
    session, user = session_cookie(authority, outcome.user_id, now)
    sealed = seal(authority.csrf_key, "request", flow.pending)
    answer = await continue_signed_in(
        request, authority, client=client, pending=flow.pending, sealed=sealed, user=user,
        cookies=[session, spent],
    )  # fmt: skip
    location = answer.headers.get("Location")
    if answer.status_code != 303 or location is None:
        return answer
    # Straight back to the application: the provider's login form led here, and its
    # `form-action` would stop a redirect to the application's origin.
    text = messages(lang)
    html = sso_redirect_page(text, lang, location, urlsplit(location).netloc, back=True)
    return page(html, cookies=answer.cookies)
