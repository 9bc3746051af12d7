"""The authorization endpoint's pages: sign in, consent, redirect back (RFC 6749 section 4.1).

`GET|POST /oauth/authorize` validates the request (OpenID Connect Core 3.1.2.1 asks for
both methods), then shows the login page, the consent page, or redirects at once when a
session and remembered consent cover it. The validated request travels signed in a hidden
field; every form carries a CSRF token bound to that request, the browser and the user.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Final
from urllib.parse import parse_qsl

import msgspec
from litestar import HttpMethod, Request, Response, post, route
from litestar.datastructures import Cookie

from domain.consent import covers
from schemas.envelope import Metadata
from services.api.oauth.endpoint import request_metadata
from services.api.pages.messages import (
    Lang,
    Messages,
    describe_scope,
    duration,
    messages,
    pick_lang,
)
from services.api.pages.responses import (
    cookie,
    error,
    outcome_response,
    page,
    redirect,
    sign_in_refusal,
)
from services.api.pages.signed import (
    REQUEST_TTL,
    SESSION_TTL,
    Pending,
    Session,
    browser_nonce,
    form_token,
    is_browser_nonce,
    seal,
    unseal,
    valid_form_token,
)
from services.api.pages.templates import ScopeView, consent_page, login_page
from services.api.rate_limits import form_limit, page_limit
from services.authority import Authority
from services.authorization import (
    PageError,
    Redirect,
    SignedIn,
    active_client,
    approve,
    deny,
    issue_code,
    needs_login,
    refuse,
    user_active,
    validate,
)
from services.clients import ClientRecord
from services.commands import utcnow
from services.consents import consented
from services.users import SignIn, sign_in

__all__ = ["active_session", "authorize", "consent", "sign_in_page"]

SESSION_COOKIE: Final = "kl_session"
CSRF_COOKIE: Final = "kl_csrf"
_MAX_USERNAME: Final = 255
_MAX_PASSWORD: Final = 1024


def _metadata(
    request: Request[Any, Any, Any], client_id: str | None, user_id: str | None = None
) -> Metadata:
    if user_id is None:
        return request_metadata(request, client_id, "client")
    base = request_metadata(request, client_id, "user")
    return msgspec.structs.replace(base, actor_id=user_id, subject_user=user_id)


async def _params(request: Request[Any, Any, Any]) -> tuple[dict[str, str], frozenset[str]]:
    """Query (GET) or form body (POST) parameters; empty ones count as omitted (RFC 6749 3.1)."""
    raw = request.scope.get("query_string", b"").decode("latin-1")
    if request.method == HttpMethod.POST:
        content_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
        body = await request.body()
        is_form = content_type == "application/x-www-form-urlencoded"
        raw = body.decode("utf-8", "replace") if is_form else ""
    params: dict[str, str] = {}
    repeated: set[str] = set()
    for name, value in parse_qsl(raw, keep_blank_values=True, errors="replace"):
        if value == "":
            continue
        if name in params:
            repeated.add(name)
        params[name] = value
    return params, frozenset(repeated)


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


async def _signed_in(
    request: Request[Any, Any, Any], authority: Authority, now: datetime
) -> SignedIn | None:
    session = await active_session(request, authority, now)
    if session is None:
        return None
    return SignedIn(session.user_id, datetime.fromtimestamp(session.auth_time, UTC))


def _nonce(request: Request[Any, Any, Any], authority: Authority, cookies: list[Cookie]) -> str:
    """This browser's CSRF nonce, set now if it has none (double submit, bound by HMAC)."""
    nonce = request.cookies.get(CSRF_COOKIE)
    if not is_browser_nonce(nonce):
        nonce = browser_nonce()
        cookies.append(cookie(authority, CSRF_COOKIE, nonce, SESSION_TTL))
    return nonce


def _login(
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
    csrf = form_token(authority.csrf_key, "login", sealed, _nonce(request, authority, cookies))
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


def _scope_views(
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


async def _continue(
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
        metadata = _metadata(request, client.client_id, user.user_id)
        outcome = await issue_code(authority, wanted, user, metadata)
        return outcome_response(outcome, pending.lang, cookies)
    if "none" in wanted.prompt:
        refused = refuse(
            authority.issuer, wanted.redirect_uri, wanted.state, "consent_required",
            "the user has not consented to this request",
        )  # fmt: skip
        return redirect(refused.location, cookies)
    nonce = _nonce(request, authority, cookies)
    csrf = form_token(authority.csrf_key, "consent", sealed, nonce, user.user_id)
    text = messages(pending.lang)
    html = consent_page(
        text,
        pending.lang,
        client_name=client.registration.name,
        scopes=_scope_views(text, pending.lang, client, pending),
        sealed_request=sealed,
        csrf=csrf,
    )
    return page(html, form_target=wanted.redirect_uri, cookies=cookies)


@route("/oauth/authorize", http_method=[HttpMethod.GET, HttpMethod.POST], status_code=200)
async def authorize(request: Request[Any, Any, Any]) -> Response[str]:
    """The authorization endpoint (RFC 6749 3.1, 4.1.1)."""
    authority: Authority = request.app.state.authority
    params, repeated = await _params(request)
    lang = pick_lang(params.get("lang"), params.get("ui_locales"))
    if (limited := await page_limit(authority, "page", request, lang)) is not None:
        return limited
    metadata = _metadata(request, params.get("client_id"))
    outcome = await validate(authority, params, repeated, metadata)
    if isinstance(outcome, PageError | Redirect):
        return outcome_response(outcome, lang, [])
    now = utcnow()
    pending = Pending(request=outcome.request, lang=lang, exp=int(now.timestamp()) + REQUEST_TTL)
    sealed = seal(authority.csrf_key, "request", pending)
    user = await _signed_in(request, authority, now)
    if user is None or needs_login(outcome.request, user, now):
        if "none" in outcome.request.prompt:
            wanted = outcome.request
            refused = refuse(
                authority.issuer, wanted.redirect_uri, wanted.state, "login_required",
                "the user is not signed in",
            )  # fmt: skip
            return redirect(refused.location)
        return _login(request, authority, outcome.client, pending, sealed)
    return await _continue(
        request, authority, client=outcome.client, pending=pending, sealed=sealed, user=user,
        cookies=[],
    )  # fmt: skip


async def _form(
    request: Request[Any, Any, Any], authority: Authority, now: datetime
) -> tuple[dict[str, str], Pending, ClientRecord] | Response[str]:
    """The submitted form and its pending request, or the error page to show instead."""
    form = {key: value for key, value in (await request.form()).items() if isinstance(value, str)}
    lang = pick_lang(form.get("lang"), None)
    pending = unseal(
        authority.csrf_key, "request", form.get("request"), Pending, int(now.timestamp())
    )
    if pending is None:
        return error(lang, "request_invalid")
    client = await active_client(authority, pending.request.client_id)
    if isinstance(client, PageError):
        return error(pending.lang, client.reason)
    return form, pending, client


def _csrf_ok(
    request: Request[Any, Any, Any],
    authority: Authority,
    form: dict[str, str],
    name: str,
    user_id: str = "",
) -> bool:
    return valid_form_token(
        authority.csrf_key,
        form=name,
        sealed_request=form.get("request", ""),
        nonce=request.cookies.get(CSRF_COOKIE),
        presented=form.get("csrf"),
        user_id=user_id,
    )


@post("/oauth/authorize/login", status_code=200)
async def sign_in_page(request: Request[Any, Any, Any]) -> Response[str]:
    """The login form: check credentials (every attempt is an event), then consent or redirect."""
    authority: Authority = request.app.state.authority
    if (limited := await form_limit(authority, "login", request)) is not None:
        return limited
    now = utcnow()
    loaded = await _form(request, authority, now)
    if isinstance(loaded, Response):
        return loaded
    form, pending, client = loaded
    if not _csrf_ok(request, authority, form, "login"):
        return error(pending.lang, "forbidden", 403)
    sealed = form["request"]
    text = messages(pending.lang)
    username, password = form.get("username", ""), form.get("password", "")
    if (
        not username
        or not password
        or len(username) > _MAX_USERNAME
        or len(password) > _MAX_PASSWORD
    ):
        return _login(
            request, authority, client, pending, sealed,
            status=400, error=text.login_errors["missing"], username=username[:_MAX_USERNAME],
        )  # fmt: skip
    attempt = await sign_in(
        authority.pool,
        authority.group,
        authority.sealer,
        username=username,
        password=password,
        otp_code=form.get("otp", "").strip() or None,
        method="page",
        metadata=_metadata(request, client.client_id),
        client_id=client.client_id,
    )
    if attempt.user_id is None:
        return _refused(
            request, authority, client=client, pending=pending, sealed=sealed, attempt=attempt,
            username=username,
        )  # fmt: skip
    session = Session(
        user_id=attempt.user_id,
        auth_time=int(now.timestamp()),
        exp=int(now.timestamp()) + SESSION_TTL,
    )
    session_cookie = cookie(
        authority, SESSION_COOKIE, seal(authority.csrf_key, "session", session), SESSION_TTL
    )
    user = SignedIn(attempt.user_id, datetime.fromtimestamp(session.auth_time, UTC))
    return await _continue(
        request, authority, client=client, pending=pending, sealed=sealed, user=user,
        cookies=[session_cookie],
    )  # fmt: skip


def _refused(
    request: Request[Any, Any, Any],
    authority: Authority,
    *,
    client: ClientRecord,
    pending: Pending,
    sealed: str,
    attempt: SignIn,
    username: str,
) -> Response[str]:
    """The login page again, saying why in the page's language (never which part was wrong)."""
    message, status, extra = sign_in_refusal(pending.lang, attempt)
    return _login(
        request, authority, client, pending, sealed,
        status=status, error=message, username=username,
        extra=extra,
    )  # fmt: skip


@post("/oauth/authorize/consent", status_code=200)
async def consent(request: Request[Any, Any, Any]) -> Response[str]:
    """The consent form: remember the consent and redirect with a code, or deny."""
    authority: Authority = request.app.state.authority
    if (limited := await form_limit(authority, "page", request)) is not None:
        return limited
    now = utcnow()
    loaded = await _form(request, authority, now)
    if isinstance(loaded, Response):
        return loaded
    form, pending, client = loaded
    user = await _signed_in(request, authority, now)
    if user is None:
        # The session ended, or the user was disabled, while the page was open.
        return _login(request, authority, client, pending, form["request"])
    if not _csrf_ok(request, authority, form, "consent", user.user_id):
        return error(pending.lang, "forbidden", 403)
    metadata = _metadata(request, client.client_id, user.user_id)
    outcome: Redirect | PageError
    match form.get("decision"):
        case "approve":
            outcome = await approve(authority, pending.request, user, metadata)
        case "deny":
            outcome = await deny(authority, pending.request, user, metadata)
        case _:
            return error(pending.lang, "request_invalid")
    return outcome_response(outcome, pending.lang, [])
