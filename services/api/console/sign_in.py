"""Signing in to the console through keyledger's own authorization code flow (RFC 6749 4.1,
PKCE S256 per RFC 7636), and out again.

`GET /console/sign-in` sends the browser to `/oauth/authorize` as the console client, with a
random `state` sealed in a cookie; the PKCE verifier is an HMAC of that state under a key of
the server's, so it is never stored nor shown. The callback checks the state, redeems the
code in process, and keeps only the access token's digest in the session.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from typing import Any, Final
from urllib.parse import urlencode

from litestar import Request, Response, get, post
from litestar.datastructures import FormMultiDict

from domain.policies.pkce import challenge_s256
from infra.crypto.digests import token_digest
from services import revocation, tokens
from services.api.console.html import notice
from services.api.console.session import (
    CONSOLE_PATH,
    SESSION_COOKIE,
    ConsoleSession,
    Operator,
    console_cookie,
    html_page,
    operator,
    redirect,
    submitted_form,
    the_console_client,
)
from services.api.oauth.endpoint import request_metadata
from services.api.pages.signed import Expiring, seal, unseal
from services.api.rate_limits import page_limit
from services.authority import Authority
from services.commands import utcnow
from services.console_client import redirect_uri
from services.console_roles import username_of
from services.refusals import Refused

__all__ = ["callback", "front_page", "sign_in", "sign_out"]

_FLOW_COOKIE: Final = "kl_console_flow"
_FLOW_TTL: Final = 600


class _Flow(Expiring, frozen=True, kw_only=True):
    state: str


def _verifier(authority: Authority, state: str) -> str:
    key = hmac.new(authority.csrf_key, b"keyledger/console/pkce", hashlib.sha256).digest()
    mac = hmac.new(key, state.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()


def _landing(message: str | None = None, *, status: int = 200) -> Response[str]:
    body = (
        notice(message)
        + "<p>The console is for compliance officers and operators of this keyledger. Sign in"
        " with your keyledger account; what you may see depends on your console roles.</p>"
        '<p><a id="sign-in" href="/console/sign-in">Sign in with keyledger</a></p>'
    )
    return html_page("Sign in to the console", body, viewer=None, status=status)


def _dashboard(user: Operator) -> Response[str]:
    sections = []
    if "compliance" in user.roles:
        sections.append(
            "<h2>Compliance</h2><ul>"
            '<li><a href="/console/audit">Search the audit trail</a></li>'
            '<li><a href="/console/audit/timeline">A user\'s timeline</a></li>'
            '<li><a href="/console/audit/at">Access as of an instant</a></li>'
            '<li><a href="/console/integrity">Integrity of the log</a></li></ul>'
        )
    if "operator" in user.roles:
        sections.append(
            "<h2>Operations</h2><ul>"
            '<li><a href="/console/clients">Clients</a></li>'
            '<li><a href="/console/keys">Signing keys</a></li>'
            '<li><a href="/console/workspaces">Workspaces and API keys</a></li>'
            '<li><a href="/console/status">Lag, connected accounts and revocations</a></li></ul>'
        )
    if not sections:
        sections.append(
            '<p id="no-role">You hold no console role. An operator grants one with'
            " <code>keyledger console grant --username YOU --role compliance|operator</code>.</p>"
        )
    return html_page("Console", "".join(sections), viewer=user.viewer, cookies=user.cookies)


@get(CONSOLE_PATH, status_code=200)
async def front_page(request: Request[Any, Any, Any]) -> Response[str]:
    """What the signed-in user may do here, or the way to sign in."""
    user = await operator(request)
    if isinstance(user, Operator):
        return _dashboard(user)
    if user.status_code != 303:
        return user
    signed_out = request.query_params.get("signed_out")
    return _landing("You are signed out of the console." if signed_out else None)


@get(f"{CONSOLE_PATH}/sign-in", status_code=200)
async def sign_in(request: Request[Any, Any, Any]) -> Response[str]:
    """Start the authorization code flow as the console client."""
    authority: Authority = request.app.state.authority
    if (limited := await page_limit(authority, "page", request, "en")) is not None:
        return limited
    client = await the_console_client(request)
    state = secrets.token_urlsafe(32)
    flow = _Flow(state=state, exp=int(utcnow().timestamp()) + _FLOW_TTL)
    cookie = console_cookie(
        authority, _FLOW_COOKIE, seal(authority.csrf_key, "console-flow", flow), _FLOW_TTL
    )
    query = urlencode(
        {
            "response_type": "code",
            "client_id": client.client_id,
            "redirect_uri": redirect_uri(authority.issuer),
            "scope": "openid",
            "state": state,
            "code_challenge": challenge_s256(_verifier(authority, state)),
            "code_challenge_method": "S256",
        }
    )
    return redirect(f"/oauth/authorize?{query}", [cookie])


async def _session_from(
    request: Request[Any, Any, Any], authority: Authority, code: str, state: str
) -> ConsoleSession | str:
    """The session the code buys, or why it buys none."""
    client = await the_console_client(request)
    metadata = request_metadata(request, client.client_id)
    try:
        issued = await tokens.redeem_code(
            authority,
            client,
            code,
            redirect_uri=redirect_uri(authority.issuer),
            code_verifier=_verifier(authority, state),
            metadata=metadata,
        )
    except Refused as refused:
        return f"The sign-in could not be completed: {refused.description}."
    digest = token_digest(issued.access_token)
    record = await authority.tokens.find_digest(digest)
    if record is None or record.subject is None:
        return "The sign-in could not be completed: the access token is not active."
    username = await username_of(authority, record.subject) or record.subject
    return ConsoleSession(
        user_id=record.subject,
        username=username,
        token_digest=digest,
        family_id=record.family_id,
        exp=int(record.expires_at.timestamp()),
    )


@get(f"{CONSOLE_PATH}/callback", status_code=200)
async def callback(request: Request[Any, Any, Any]) -> Response[str]:
    """The authorization response (RFC 6749 4.1.2): the state checked, the code redeemed."""
    authority: Authority = request.app.state.authority
    if (limited := await page_limit(authority, "page", request, "en")) is not None:
        return limited
    query = request.query_params
    now = int(utcnow().timestamp())
    flow = unseal(authority.csrf_key, "console-flow", request.cookies.get(_FLOW_COOKIE), _Flow, now)
    state, code = query.get("state") or "", query.get("code") or ""
    if flow is None or not hmac.compare_digest(
        flow.state.encode(), state.encode("utf-8", "replace")
    ):
        return _landing(
            "This sign-in was not started from this browser, or it expired.", status=400
        )
    issuer = query.get("iss")
    # RFC 9207: an answer naming another issuer is not ours to redeem.
    if query.get("error") or not code or len(code) > 512 or issuer not in (None, authority.issuer):
        return _landing("The sign-in was not completed.", status=400)
    session = await _session_from(request, authority, code, state)
    if isinstance(session, str):
        return _landing(session, status=400)
    sealed = seal(authority.csrf_key, "console-session", session)
    cookies = [
        console_cookie(authority, SESSION_COOKIE, sealed, session.exp - now),
        console_cookie(authority, _FLOW_COOKIE, "", 0),
    ]
    return redirect(CONSOLE_PATH, cookies)


@post(f"{CONSOLE_PATH}/sign-out", status_code=200)
async def sign_out(request: Request[Any, Any, Any]) -> Response[str]:
    """End the session: its access token is revoked, the cookie dropped."""
    authority: Authority = request.app.state.authority
    user = await operator(request)
    expired = console_cookie(authority, SESSION_COOKIE, "", 0)
    if not isinstance(user, Operator):
        return redirect(f"{CONSOLE_PATH}?signed_out=1", [expired])
    form = await submitted_form(request, user)
    if not isinstance(form, FormMultiDict):
        return form
    await revocation.revoke_by_id(authority, user.client, user.family_id, user.metadata(request))
    return redirect(f"{CONSOLE_PATH}?signed_out=1", [expired])
