"""The console session: a sealed cookie naming the user and the digest of the access token
their sign-in got, checked against the live token state and their roles on every request.

Cookies are HttpOnly, SameSite=Strict and scoped to `/console`; every form carries a CSRF
token bound to the browser's nonce and the user; every answer is `no-store` under a strict
CSP whose only allowance is the page's own stylesheet, by nonce.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any, Final

import msgspec
from litestar import Request, Response
from litestar.datastructures import Cookie, FormMultiDict
from litestar.enums import MediaType

from schemas.envelope import Metadata
from schemas.events.console_role import ConsoleRole
from services.api.console.html import Viewer, layout, notice
from services.api.oauth.endpoint import request_metadata
from services.api.pages.signed import (
    Expiring,
    browser_nonce,
    form_token,
    is_browser_nonce,
    unseal,
    valid_form_token,
)
from services.api.rate_limits import page_limit
from services.authority import Authority
from services.clients import ClientRecord
from services.commands import utcnow
from services.console_client import console_client
from services.console_roles import roles_of

__all__ = [
    "CONSOLE_PATH",
    "CSRF_COOKIE",
    "SESSION_COOKIE",
    "ConsoleSession",
    "Operator",
    "console_cookie",
    "denied",
    "html_page",
    "operator",
    "redirect",
    "submitted_form",
    "the_console_client",
    "valid_csrf",
]

CONSOLE_PATH: Final = "/console"
SESSION_COOKIE: Final = "kl_console"
CSRF_COOKIE: Final = "kl_console_csrf"
_FORM: Final = "console"
_CLIENT_STATE: Final = "console_client_id"
_CSP: Final = (
    "default-src 'none'; style-src 'nonce-{}'; form-action 'self'; frame-ancestors 'none';"
    " base-uri 'none'"
)


class ConsoleSession(Expiring, frozen=True, kw_only=True):
    user_id: str
    username: str
    # The console access token, by digest and family: the session ends when it stops working.
    token_digest: str
    family_id: str


@dataclass(frozen=True, slots=True)
class Operator:
    """The signed-in console user, the console client and what their events carry."""

    user_id: str
    username: str
    roles: frozenset[ConsoleRole]
    family_id: str
    client: ClientRecord
    viewer: Viewer
    cookies: tuple[Cookie, ...]

    def metadata(self, request: Request[Any, Any, Any], *, admin: bool = False) -> Metadata:
        base = request_metadata(request, self.client.client_id, "admin" if admin else "user")
        return msgspec.structs.replace(base, actor_id=self.user_id)


def headers(nonce: str) -> dict[str, str]:
    return {
        "Content-Security-Policy": _CSP.format(nonce),
        "X-Frame-Options": "DENY",
        "Cache-Control": "no-store",
        "Pragma": "no-cache",
        "Referrer-Policy": "no-referrer",
        "X-Content-Type-Options": "nosniff",
    }


def console_cookie(authority: Authority, name: str, value: str, max_age: int) -> Cookie:
    return Cookie(
        key=name,
        value=value,
        path=CONSOLE_PATH,
        max_age=max_age,
        httponly=True,
        samesite="strict",
        secure=authority.issuer.startswith("https://"),
    )


def html_page(
    title: str,
    body: str,
    *,
    viewer: Viewer | None,
    status: int = 200,
    cookies: tuple[Cookie, ...] | list[Cookie] = (),
    refresh_s: int | None = None,
    extra: dict[str, str] | None = None,
) -> Response[str]:
    nonce = secrets.token_urlsafe(16)
    html = layout(title, body, nonce=nonce, viewer=viewer, refresh_s=refresh_s)
    return Response(
        html,
        status_code=status,
        media_type=MediaType.HTML,
        headers={**headers(nonce), **(extra or {})},
        cookies=list(cookies),
    )


def redirect(location: str, cookies: list[Cookie] | None = None) -> Response[str]:
    # 303: a POST becomes a GET (RFC 9700 section 4.12); only paths of ours are given here.
    return Response(
        "",
        status_code=303,
        headers={**headers(secrets.token_urlsafe(16)), "Location": location},
        cookies=cookies or [],
    )


def denied(viewer: Viewer | None, message: str, status: int = 403) -> Response[str]:
    titles = {400: "Bad request", 403: "Not allowed", 404: "Not found", 409: "Not possible"}
    back = '<p><a id="back" href="/console">Back to the console</a></p>'
    return html_page(
        titles.get(status, "Error"),
        notice(message, error=True) + back,
        viewer=viewer,
        status=status,
    )


def _nonce(request: Request[Any, Any, Any], authority: Authority) -> tuple[str, list[Cookie]]:
    nonce = request.cookies.get(CSRF_COOKIE)
    if is_browser_nonce(nonce):
        return nonce, []
    nonce = browser_nonce()
    return nonce, [console_cookie(authority, CSRF_COOKIE, nonce, 12 * 3600)]


def valid_csrf(request: Request[Any, Any, Any], user: Operator, presented: str | None) -> bool:
    authority: Authority = request.app.state.authority
    return valid_form_token(
        authority.csrf_key,
        form=_FORM,
        sealed_request="",
        nonce=request.cookies.get(CSRF_COOKIE),
        presented=presented,
        user_id=user.user_id,
    )


async def submitted_form(
    request: Request[Any, Any, Any], user: Operator
) -> FormMultiDict | Response[str]:
    """The POSTed form if its CSRF token is this browser's, else the page that refuses it."""
    submitted = await request.form()
    csrf = submitted.get("csrf")
    if not valid_csrf(request, user, csrf if isinstance(csrf, str) else None):
        return denied(user.viewer, "This form was not sent from this browser's console page.")
    return submitted


async def the_console_client(request: Request[Any, Any, Any]) -> ClientRecord:
    """The console client, found once per process, then read like any client (2 s records)."""
    authority: Authority = request.app.state.authority
    known: str | None = request.app.state.get(_CLIENT_STATE)
    client = None if known is None else await authority.clients.cached(known)
    if client is None:
        client = await console_client(authority)
        request.app.state[_CLIENT_STATE] = client.client_id
    return client


def _session(request: Request[Any, Any, Any], authority: Authority) -> ConsoleSession | None:
    now = int(utcnow().timestamp())
    sealed = request.cookies.get(SESSION_COOKIE)
    return unseal(authority.csrf_key, "console-session", sealed, ConsoleSession, now)


async def operator(
    request: Request[Any, Any, Any], role: ConsoleRole | None = None
) -> Operator | Response[str]:
    """The signed-in user holding `role` (any role when None), or the answer to give instead:
    to the console's front page when signed out, a 403 page without the role, a 429 page."""
    authority: Authority = request.app.state.authority
    if (limited := await page_limit(authority, "page", request, "en")) is not None:
        return limited
    session = _session(request, authority)
    if session is None:
        return redirect(CONSOLE_PATH)
    client = await the_console_client(request)
    record = await authority.tokens.find_digest(session.token_digest)
    # Revoked, expired, its user disabled or its consent withdrawn: the session is over.
    if record is None or (record.subject, record.client_id) != (session.user_id, client.client_id):
        return redirect(CONSOLE_PATH)
    roles = await roles_of(authority, session.user_id)
    nonce, cookies = _nonce(request, authority)
    csrf = form_token(authority.csrf_key, _FORM, "", nonce, session.user_id)
    viewer = Viewer(username=session.username, roles=frozenset(roles), csrf=csrf)
    user = Operator(
        user_id=session.user_id,
        username=session.username,
        roles=roles,
        family_id=session.family_id,
        client=client,
        viewer=viewer,
        cookies=tuple(cookies),
    )
    if role is not None and role not in roles:
        return denied(viewer, f"This page needs the console role {role!r}.")
    return user
