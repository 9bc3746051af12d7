"""How the pages answer: security headers on every response, 303 redirects, session cookies,
refused sign-ins."""

from __future__ import annotations

import re
from typing import Final
from urllib.parse import urlsplit

from litestar import Response
from litestar.datastructures import Cookie
from litestar.enums import MediaType

from schemas.events import LoginRefused
from services.api.pages.messages import Lang, messages
from services.api.pages.templates import error_page
from services.authority import Authority
from services.authorization import PageError, Redirect
from services.users import SignIn

__all__ = [
    "cookie",
    "error",
    "outcome_response",
    "page",
    "redirect",
    "security_headers",
    "sign_in_refusal",
]

COOKIE_PATH: Final = "/oauth"
_ORIGIN: Final = re.compile(
    r"https?://[A-Za-z0-9.\-]+(:[0-9]{1,5})?|https?://\[[0-9A-Fa-f:.]+\](:[0-9]{1,5})?"
)
_CSP: Final = (
    "default-src 'none'; style-src 'unsafe-inline'; form-action {}; frame-ancestors 'none'"
)


def security_headers(form_target: str | None = None) -> dict[str, str]:
    """Security headers of every page and redirect.

    Chromium applies `form-action` to the redirects that follow a form submission, so a page
    whose form ends in a redirect to the client also allows that client's origin.
    """
    origin = None
    if form_target is not None:
        parts = urlsplit(form_target)
        candidate = f"{parts.scheme}://{parts.netloc}"
        origin = candidate if _ORIGIN.fullmatch(candidate) else None
    return {
        "Content-Security-Policy": _CSP.format("'self'" + (f" {origin}" if origin else "")),
        "X-Frame-Options": "DENY",
        "Cache-Control": "no-store",
        "Pragma": "no-cache",
        "Referrer-Policy": "no-referrer",
        "X-Content-Type-Options": "nosniff",
    }


def page(
    html: str,
    status: int = 200,
    *,
    form_target: str | None = None,
    cookies: list[Cookie] | None = None,
    extra: dict[str, str] | None = None,
) -> Response[str]:
    return Response(
        html,
        status_code=status,
        media_type=MediaType.HTML,
        headers={**security_headers(form_target), **(extra or {})},
        cookies=cookies or [],
    )


def error(lang: Lang, reason: str, status: int = 400, *, back: str | None = None) -> Response[str]:
    """The error page, saying why; `back` is a page of ours to return to."""
    text = messages(lang)
    return page(error_page(text, lang, text.page_errors[reason], back=back), status)


def redirect(location: str, cookies: list[Cookie] | None = None) -> Response[str]:
    # 303 so a POST becomes a GET at the client (RFC 9700 section 4.12).
    headers = {**security_headers(), "Location": location}
    return Response("", status_code=303, headers=headers, cookies=cookies or [])


def outcome_response(
    result: Redirect | PageError, lang: Lang, cookies: list[Cookie]
) -> Response[str]:
    if isinstance(result, PageError):
        return error(lang, result.reason)
    return redirect(result.location, cookies)


def cookie(
    authority: Authority, name: str, value: str, max_age: int, *, path: str = COOKIE_PATH
) -> Cookie:
    return Cookie(
        key=name,
        value=value,
        path=path,
        max_age=max_age,
        httponly=True,
        samesite="lax",
        secure=authority.issuer.startswith("https://"),
    )


def sign_in_refusal(lang: Lang, attempt: SignIn) -> tuple[str, int, dict[str, str] | None]:
    """What the sign-in form says of a refused attempt (never which part was wrong), its
    status and extra headers."""
    event = attempt.event
    reason = event.reason if isinstance(event, LoginRefused) else "invalid_credentials"
    message = messages(lang).login_errors[reason]
    if reason == "too_many_attempts":
        wait = attempt.retry_after or 60
        return message.format(seconds=wait), 429, {"Retry-After": str(wait)}
    if reason == "otp_required":
        return message, 200, None  # not a failure: the next step of signing in
    return message, 400, None
