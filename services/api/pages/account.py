"""The account page: the applications a user has connected, and disconnecting them.

`GET /account` asks the user to sign in (`POST /account`: the sign-in service the
authorization pages use, so every attempt is a `login` event and lockout applies), then
lists their consents from the async `consents` projection: each application's name, what
it may access in the consent page's words, and since when. "Disconnect"
(`POST /account/disconnect`) withdraws the consent with the user as actor: every token of
that user for that client stops working in the same commit, and resource servers are told
(a `user_client` revocation). `POST /account/sign-out` ends the session.

The page keeps its own session and CSRF cookies, scoped to `/account`: the authorization
pages' cookies are scoped to `/oauth`, and neither is sent to the other. Every form carries
a CSRF token bound to the browser (and to the user once signed in).
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any, Final
from urllib.parse import urlencode

import msgspec
from litestar import Request, Response, get, post
from litestar.datastructures import Cookie

from projections import consents
from schemas.envelope import Metadata
from schemas.events.incident import ReportedAccess
from services.account_activity import report
from services.api.oauth.endpoint import request_metadata
from services.api.pages.activity import activity_sections
from services.api.pages.messages import (
    Lang,
    calendar_date,
    describe_scope,
    duration,
    messages,
    pick_lang,
)
from services.api.pages.responses import cookie, error, page, redirect, sign_in_refusal
from services.api.pages.signed import (
    NOTICE_TTL,
    SESSION_TTL,
    Disconnected,
    Session,
    browser_nonce,
    form_token,
    is_browser_nonce,
    seal,
    unseal,
    valid_form_token,
)
from services.api.pages.steps import CSRF_COOKIE, SESSION_COOKIE, active_session
from services.api.pages.templates import (
    AppView,
    account_hidden,
    account_page,
    account_sign_in_page,
)
from services.api.rate_limits import form_limit, page_limit
from services.authority import Authority
from services.clients import ClientRecord
from services.commands import utcnow
from services.consents import withdraw_consent
from services.users import sign_in

__all__ = ["ACCOUNT_PATH", "account", "account_sign_in", "disconnect", "report_access", "sign_out"]

ACCOUNT_PATH: Final = "/account"
# CSRF form names: the sign-in form (no user yet), and the signed-in user's forms.
_SIGN_IN_FORM: Final = "account_sign_in"
_USER_FORM: Final = "account"
_MAX_USERNAME: Final = 255
_MAX_PASSWORD: Final = 1024
_MAX_CLIENT_ID: Final = 255


def _home(lang: Lang, **notice: str) -> str:
    return f"{ACCOUNT_PATH}?{urlencode({'lang': lang, **notice})}"


def _metadata(
    request: Request[Any, Any, Any], user_id: str | None, client_id: str | None = None
) -> Metadata:
    base = request_metadata(request, client_id, "user")
    return msgspec.structs.replace(base, actor_id=user_id, subject_user=user_id)


def _nonce(request: Request[Any, Any, Any], authority: Authority, cookies: list[Cookie]) -> str:
    """This browser's CSRF nonce, set now if it has none (double submit, bound by HMAC)."""
    nonce = request.cookies.get(CSRF_COOKIE)
    if not is_browser_nonce(nonce):
        nonce = browser_nonce()
        cookies.append(cookie(authority, CSRF_COOKIE, nonce, SESSION_TTL, path=ACCOUNT_PATH))
    return nonce


async def _signed_in(
    request: Request[Any, Any, Any], authority: Authority, now: datetime
) -> str | None:
    """The user of this browser's session, if it is valid and the account still active."""
    session = await active_session(request, authority, now)
    return None if session is None else session.user_id


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
        sealed_request="",
        nonce=request.cookies.get(CSRF_COOKIE),
        presented=form.get("csrf"),
        user_id=user_id,
    )


async def _form(request: Request[Any, Any, Any]) -> tuple[dict[str, str], Lang]:
    form = {key: value for key, value in (await request.form()).items() if isinstance(value, str)}
    return form, pick_lang(form.get("lang"), None)


def _sign_in_page(
    request: Request[Any, Any, Any],
    authority: Authority,
    lang: Lang,
    *,
    status: int = 200,
    username: str = "",
    error: str | None = None,
    notice: str | None = None,
    extra: dict[str, str] | None = None,
) -> Response[str]:
    cookies: list[Cookie] = []
    csrf = form_token(authority.csrf_key, _SIGN_IN_FORM, "", _nonce(request, authority, cookies))
    html = account_sign_in_page(
        messages(lang), lang, csrf=csrf, username=username, error=error, notice=notice
    )
    return page(html, status, cookies=cookies, extra=extra)


def _just_withdrawn(consent: consents.Consent, done: Disconnected | None) -> bool:
    """A consent this page's last disconnect withdrew (a later grant is a new consent)."""
    return (
        done is not None
        and consent.client_id == done.client_id
        and consent.granted_at <= done.before
    )


async def _account_page(
    request: Request[Any, Any, Any],
    authority: Authority,
    lang: Lang,
    user_id: str,
    done: Disconnected | None,
    *,
    reported: str | None = None,
) -> Response[str]:
    """The user's connected applications; after a disconnect, without it and confirmed."""
    text, cookies = messages(lang), list[Cookie]()
    csrf = form_token(
        authority.csrf_key, _USER_FORM, "", _nonce(request, authority, cookies), user_id
    )
    async with authority.pool.acquire() as conn:
        held = await consents.granted(conn, user_id)
    # The projector may not have applied the withdrawal yet.
    held = [consent for consent in held if not _just_withdrawn(consent, done)]
    # Names only (they never change): kept records do, and the rest share one query.
    clients = await asyncio.gather(*(authority.clients.cached(c.client_id) for c in held))
    apps: list[AppView] = []
    for consent, client in zip(held, clients, strict=True):
        name = client.registration.name if client is not None else consent.client_id
        until = "" if client is None else text.until_disconnected.format(lasts=_lasts(lang, client))
        apps.append(
            AppView(
                client_id=consent.client_id,
                name=name,
                since=calendar_date(lang, consent.granted_at),
                since_iso=consent.granted_at.isoformat(),
                scopes=tuple(
                    (scope, describe_scope(text, scope, name)) for scope in consent.scopes
                ),
                until=until,
            )
        )
    apps.sort(key=lambda app: (app.name.casefold(), app.client_id))
    notice = text.reported_session if reported == "session" else None
    notice = text.reported_sign_in if reported == "sign_in" else notice
    if done is not None:
        client = await authority.clients.cached(done.client_id)
        name = client.registration.name if client is not None else done.client_id
        notice = text.disconnected.format(client=name)
    activity = await activity_sections(authority, text, lang, user_id, account_hidden(lang, csrf))
    html = account_page(text, lang, apps=apps, csrf=csrf, notice=notice, activity=activity)
    return page(html, cookies=cookies)


def _lasts(lang: Lang, client: ClientRecord) -> str:
    """How long each access lasts, as the consent page says it."""
    text, registration = messages(lang), client.registration
    access = duration(lang, registration.access_token_ttl)
    if client.allows("refresh_token"):
        refresh = duration(lang, registration.refresh_token_ttl)
        return text.access_renewed.format(access=access, refresh=refresh)
    return text.access_only.format(access=access)


@get(ACCOUNT_PATH, status_code=200)
async def account(request: Request[Any, Any, Any]) -> Response[str]:
    """The account page, or its sign-in form when this browser has no valid session."""
    authority: Authority = request.app.state.authority
    query = request.query_params
    lang = pick_lang(query.get("lang"), None)
    if (limited := await page_limit(authority, "page", request, lang)) is not None:
        return limited
    now = utcnow()
    user_id = await _signed_in(request, authority, now)
    if user_id is None:
        signed_out = messages(lang).signed_out if query.get("signed_out") else None
        return _sign_in_page(request, authority, lang, notice=signed_out)
    done = unseal(
        authority.csrf_key, "disconnected", query.get("done"), Disconnected, int(now.timestamp())
    )
    mine = done if done is not None and done.user_id == user_id else None
    reported = query.get("reported")
    return await _account_page(request, authority, lang, user_id, mine, reported=reported)


@post(ACCOUNT_PATH, status_code=200)
async def account_sign_in(request: Request[Any, Any, Any]) -> Response[str]:
    """The sign-in form: every attempt is an event; success starts a session scoped here."""
    authority: Authority = request.app.state.authority
    if (limited := await form_limit(authority, "login", request)) is not None:
        return limited
    form, lang = await _form(request)
    if not _csrf_ok(request, authority, form, _SIGN_IN_FORM):
        return error(lang, "account_forbidden", 403, back=_home(lang))
    text = messages(lang)
    username, password = form.get("username", ""), form.get("password", "")
    if (
        not username
        or not password
        or len(username) > _MAX_USERNAME
        or len(password) > _MAX_PASSWORD
        or not username.isprintable()
    ):
        return _sign_in_page(
            request, authority, lang,
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
        metadata=_metadata(request, None),
    )
    if attempt.user_id is None:
        message, status, extra = sign_in_refusal(lang, attempt)
        return _sign_in_page(
            request, authority, lang,
            status=status, error=message, username=username, extra=extra,
        )  # fmt: skip
    now = int(utcnow().timestamp())
    session = Session(user_id=attempt.user_id, auth_time=now, exp=now + SESSION_TTL)
    sealed = seal(authority.csrf_key, "session", session)
    session_cookie = cookie(authority, SESSION_COOKIE, sealed, SESSION_TTL, path=ACCOUNT_PATH)
    return redirect(_home(lang), [session_cookie])


@post(f"{ACCOUNT_PATH}/disconnect", status_code=200)
async def disconnect(request: Request[Any, Any, Any]) -> Response[str]:
    """Withdraw the user's consent to one client, then show the page without it."""
    authority: Authority = request.app.state.authority
    if (limited := await form_limit(authority, "page", request)) is not None:
        return limited
    form, lang = await _form(request)
    now = utcnow()
    user_id = await _signed_in(request, authority, now)
    if user_id is None:
        # The session ended, or the account was disabled, while the page was open.
        return _sign_in_page(request, authority, lang)
    if not _csrf_ok(request, authority, form, _USER_FORM, user_id):
        return error(lang, "account_forbidden", 403, back=_home(lang))
    client_id = form.get("client_id", "")
    if not (0 < len(client_id) <= _MAX_CLIENT_ID and client_id.isprintable()):
        return error(lang, "no_consent", 404, back=_home(lang))
    metadata = _metadata(request, user_id, client_id)
    if not await withdraw_consent(authority, user_id, client_id, metadata):
        return error(lang, "no_consent", 404, back=_home(lang))
    done = Disconnected(
        user_id=user_id,
        client_id=client_id,
        before=now,
        exp=int(now.timestamp()) + NOTICE_TTL,
    )
    return redirect(_home(lang, done=seal(authority.csrf_key, "disconnected", done)))


@post(f"{ACCOUNT_PATH}/sign-out", status_code=200)
async def sign_out(request: Request[Any, Any, Any]) -> Response[str]:
    """End this browser's session here (the sealed cookie is dropped)."""
    authority: Authority = request.app.state.authority
    if (limited := await form_limit(authority, "page", request)) is not None:
        return limited
    form, lang = await _form(request)
    user_id = await _signed_in(request, authority, utcnow())
    if user_id is not None and not _csrf_ok(request, authority, form, _USER_FORM, user_id):
        return error(lang, "account_forbidden", 403, back=_home(lang))
    expired = cookie(authority, SESSION_COOKIE, "", 0, path=ACCOUNT_PATH)
    return redirect(_home(lang, signed_out="1"), [expired])


@post(f"{ACCOUNT_PATH}/report", status_code=200)
async def report_access(request: Request[Any, Any, Any]) -> Response[str]:
    """Access the user does not recognise: its tokens revoked at once, an incident recorded."""
    authority: Authority = request.app.state.authority
    if (limited := await form_limit(authority, "page", request)) is not None:
        return limited
    form, lang = await _form(request)
    user_id = await _signed_in(request, authority, utcnow())
    if user_id is None:
        return _sign_in_page(request, authority, lang)
    if not _csrf_ok(request, authority, form, _USER_FORM, user_id):
        return error(lang, "account_forbidden", 403, back=_home(lang))
    reference = form.get("reference", "")
    kind: ReportedAccess = "session" if form.get("kind") == "session" else "sign_in"
    if form.get("kind") not in ("session", "sign_in") or not 0 < len(reference) <= 255:
        return error(lang, "nothing_to_report", 404, back=_home(lang))
    metadata = _metadata(request, user_id)
    if not await report(authority, user_id, kind, reference, metadata):
        return error(lang, "nothing_to_report", 404, back=_home(lang))
    return redirect(_home(lang, reported=kind))
