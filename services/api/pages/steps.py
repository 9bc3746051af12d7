"""The steps the sign-in pages share: who is signed in, the login page, and what follows a
sign-in (by password or through single sign-on): consent, or a redirect with a code."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Final

import msgspec
from litestar import Request, Response
from litestar.datastructures import Cookie

from domain.consent import covers
from schemas.envelope import Metadata
from services.api.oauth.endpoint import request_metadata
from services.api.pages.messages import Lang, Messages, describe_scope, duration, messages
from services.api.pages.responses import cookie, outcome_response, page, redirect
from services.api.pages.signed import (
    SESSION_TTL,
    Pending,
    Session,
    browser_nonce,
    form_token,
    is_browser_nonce,
    seal,
    unseal,
)
from services.api.pages.templates import ScopeView, consent_page, login_page
from services.authority import Authority
from services.authorization import SignedIn, issue_code, refuse, user_active
from services.clients import ClientRecord
from services.consents import consented

__all__ = [
    "CSRF_COOKIE",
    "SESSION_COOKIE",
    "active_session",
    "continue_signed_in",
    "csrf_nonce",
    "login_response",
    "page_metadata",
    "session_cookie",
    "signed_in",
]

SESSION_COOKIE: Final = "kl_session"
CSRF_COOKIE: Final = "kl_csrf"


def page_metadata(
    request: Request[Any, Any, Any], client_id: str | None, user_id: str | None = None
) -> Metadata:
    if user_id is None:
        return request_metadata(request, client_id, "client")
    base = request_metadata(request, client_id, "user")
    return msgspec.structs.replace(base, actor_id=user_id, subject_user=user_id)


async def active_session(
    request: Request[Any, Any, Any], authority: Authority, now: datetime
) -> Session | None:
    """This browser's session, if it is valid and its account still active."""
    session = unseal(
        authority.csrf_key,
        "session",
        request.cookies.get(SESSION_COOKIE),
        Session,
        int(now.timestamp()),
    )
    if session is None or not await user_active(authority.pool, session.user_id):
        return None
    return session


async def signed_in(
    request: Request[Any, Any, Any], authority: Authority, now: datetime
) -> SignedIn | None:
    session = await active_session(request, authority, now)
    if session is None:
        return None
    return SignedIn(session.user_id, datetime.fromtimestamp(session.auth_time, UTC))


def csrf_nonce(request: Request[Any, Any, Any], authority: Authority, cookies: list[Cookie]) -> str:
    """This browser's CSRF nonce, set now if it has none (double submit, bound by HMAC)."""
    nonce = request.cookies.get(CSRF_COOKIE)
    if not is_browser_nonce(nonce):
        nonce = browser_nonce()
        cookies.append(cookie(authority, CSRF_COOKIE, nonce, SESSION_TTL))
    return nonce


def login_response(
    request: Request[Any, Any, Any],
    authority: Authority,
    client: ClientRecord,
    pending: Pending,
    sealed: str,
    *,
    status: int = 200,
    error: str | None = None,
    username: str = "",
    extra: dict[str, str] | None = None,
) -> Response[str]:
    cookies: list[Cookie] = []
    csrf = form_token(authority.csrf_key, "login", sealed, csrf_nonce(request, authority, cookies))
    html = login_page(
        messages(pending.lang),
        pending.lang,
        client_name=client.registration.name,
        sealed_request=sealed,
        csrf=csrf,
        username=username,
        error=error,
    )
    return page(
        html, status, form_target=pending.request.redirect_uri, cookies=cookies, extra=extra
    )


def scope_views(
    text: Messages, lang: Lang, client: ClientRecord, pending: Pending
) -> list[ScopeView]:
    registration = client.registration
    access = duration(lang, registration.access_token_ttl)
    how_long = (
        text.access_renewed.format(
            access=access, refresh=duration(lang, registration.refresh_token_ttl)
        )
        if client.allows("refresh_token")
        else text.access_only.format(access=access)
    )
    return [
        ScopeView(
            scope=scope,
            data=describe_scope(text, scope, registration.name),
            why=registration.scope_reasons.get(scope)
            or text.no_reason.format(client=registration.name),
            how_long=how_long,
        )
        for scope in pending.request.scopes
    ]


async def continue_signed_in(
    request: Request[Any, Any, Any],
    authority: Authority,
    *,
    client: ClientRecord,
    pending: Pending,
    sealed: str,
    user: SignedIn,
    cookies: list[Cookie],
) -> Response[str]:
    """Signed in: redirect with a code if consent covers the request, else ask for it."""
    wanted = pending.request
    remembered = await consented(authority, user.user_id, client.client_id)
    if covers(remembered, wanted.scopes) and "consent" not in wanted.prompt:
        metadata = page_metadata(request, client.client_id, user.user_id)
        outcome = await issue_code(authority, wanted, user, metadata)
        return outcome_response(outcome, pending.lang, cookies)
    if "none" in wanted.prompt:
        refused = refuse(
            authority.issuer, wanted.redirect_uri, wanted.state, "consent_required",
            "the user has not consented to this request",
        )  # fmt: skip
        return redirect(refused.location, cookies)
    nonce = csrf_nonce(request, authority, cookies)
    csrf = form_token(authority.csrf_key, "consent", sealed, nonce, user.user_id)
    text = messages(pending.lang)
    html = consent_page(
        text,
        pending.lang,
        client_name=client.registration.name,
        scopes=scope_views(text, pending.lang, client, pending),
        sealed_request=sealed,
        csrf=csrf,
    )
    return page(html, form_target=wanted.redirect_uri, cookies=cookies)


def session_cookie(authority: Authority, user_id: str, now: datetime) -> tuple[Cookie, SignedIn]:
    """A new session for `user_id`, signed in now (its `auth_time`)."""
    at = int(now.timestamp())
    session = Session(user_id=user_id, auth_time=at, exp=at + SESSION_TTL)
    sealed = seal(authority.csrf_key, "session", session)
    return cookie(authority, SESSION_COOKIE, sealed, SESSION_TTL), SignedIn(
        user_id, datetime.fromtimestamp(at, UTC)
    )
