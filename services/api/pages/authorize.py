"""The authorization endpoint's pages: sign in, consent, redirect back (RFC 6749 section 4.1).

`GET|POST /oauth/authorize` validates the request (OpenID Connect Core 3.1.2.1 asks for
both methods), then shows the login page, the consent page, or redirects at once when a
session and remembered consent cover it. The validated request travels signed in a hidden
field; every form carries a CSRF token bound to that request, the browser and the user.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final
from urllib.parse import parse_qsl

from litestar import HttpMethod, Request, Response, post, route

from services.api.pages.messages import (
    messages,
    pick_lang,
)
from services.api.pages.responses import (
    error,
    outcome_response,
    redirect,
    sign_in_refusal,
)
from services.api.pages.signed import (
    REQUEST_TTL,
    Pending,
    seal,
    unseal,
    valid_form_token,
)
from services.api.pages.sso import sso_for, to_provider
from services.api.pages.steps import (
    CSRF_COOKIE,
    continue_signed_in,
    login_response,
    page_metadata,
    session_cookie,
    signed_in,
)
from services.api.rate_limits import form_limit, page_limit
from services.authority import Authority
from services.authorization import (
    PageError,
    Redirect,
    active_client,
    approve,
    deny,
    needs_login,
    refuse,
    validate,
)
from services.clients import ClientRecord
from services.commands import utcnow
from services.users import SignIn, sign_in

__all__ = ["authorize", "consent", "sign_in_page"]

_MAX_USERNAME: Final = 255
_MAX_PASSWORD: Final = 1024


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


@route("/oauth/authorize", http_method=[HttpMethod.GET, HttpMethod.POST], status_code=200)
async def authorize(request: Request[Any, Any, Any]) -> Response[str]:
    """The authorization endpoint (RFC 6749 3.1, 4.1.1)."""
    authority: Authority = request.app.state.authority
    params, repeated = await _params(request)
    lang = pick_lang(params.get("lang"), params.get("ui_locales"))
    if (limited := await page_limit(authority, "page", request, lang)) is not None:
        return limited
    metadata = page_metadata(request, params.get("client_id"))
    outcome = await validate(authority, params, repeated, metadata)
    if isinstance(outcome, PageError | Redirect):
        return outcome_response(outcome, lang, [])
    now = utcnow()
    pending = Pending(request=outcome.request, lang=lang, exp=int(now.timestamp()) + REQUEST_TTL)
    sealed = seal(authority.csrf_key, "request", pending)
    user = await signed_in(request, authority, now)
    if user is None or needs_login(outcome.request, user, now):
        if "none" in outcome.request.prompt:
            wanted = outcome.request
            refused = refuse(
                authority.issuer, wanted.redirect_uri, wanted.state, "login_required",
                "the user is not signed in",
            )  # fmt: skip
            return redirect(refused.location)
        hint = params.get("login_hint", "")
        company = await sso_for(authority, hint) if hint else None
        if company is not None:  # OIDC Core 3.1.2.1: the hint names a company's person
            return to_provider(request, company, pending, hint, now, from_form=False)
        return login_response(request, authority, outcome.client, pending, sealed)
    return await continue_signed_in(
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
    early = None
    if username and len(username) <= _MAX_USERNAME and (form.get("sso") or not password):
        early = await _company_sign_in(request, authority, client, pending, form=form, now=now)
    if early is None and (
        not username
        or not password
        or len(username) > _MAX_USERNAME
        or len(password) > _MAX_PASSWORD
    ):
        early = login_response(
            request, authority, client, pending, sealed,
            status=400, error=text.login_errors["missing"], username=username[:_MAX_USERNAME],
        )  # fmt: skip
    if early is not None:
        return early
    attempt = await sign_in(
        authority.pool,
        authority.group,
        authority.sealer,
        username=username,
        password=password,
        otp_code=form.get("otp", "").strip() or None,
        method="page",
        metadata=page_metadata(request, client.client_id),
        client_id=client.client_id,
    )
    if attempt.user_id is None:
        return _refused(
            request, authority, client=client, pending=pending, sealed=sealed, attempt=attempt,
            username=username,
        )  # fmt: skip
    session, user = session_cookie(authority, attempt.user_id, now)
    return await continue_signed_in(
        request, authority, client=client, pending=pending, sealed=sealed, user=user,
        cookies=[session],
    )  # fmt: skip


async def _company_sign_in(
    request: Request[Any, Any, Any],
    authority: Authority,
    client: ClientRecord,
    pending: Pending,
    *,
    form: dict[str, str],
    now: datetime,
) -> Response[str] | None:
    """A work email (with no password, or the SSO button): on to the company's provider."""
    username = form["username"]
    company = await sso_for(authority, username)
    if company is not None:
        return to_provider(request, company, pending, username, now, from_form=True)
    if not form.get("sso"):
        return None
    return login_response(
        request, authority, client, pending, form["request"],
        status=400, error=messages(pending.lang).login_errors["sso_unknown"], username=username,
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
    return login_response(
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
    user = await signed_in(request, authority, now)
    if user is None:
        # The session ended, or the user was disabled, while the page was open.
        return login_response(request, authority, client, pending, form["request"])
    if not _csrf_ok(request, authority, form, "consent", user.user_id):
        return error(pending.lang, "forbidden", 403)
    metadata = page_metadata(request, client.client_id, user.user_id)
    outcome: Redirect | PageError
    match form.get("decision"):
        case "approve":
            outcome = await approve(authority, pending.request, user, metadata)
        case "deny":
            outcome = await deny(authority, pending.request, user, metadata)
        case _:
            return error(pending.lang, "request_invalid")
    return outcome_response(outcome, pending.lang, [])
