"""The console over HTTP (the app in process): sign-in by the code flow, cookies and headers,
CSRF, roles checked on every request, bad input answered with a page, never a 500."""

from __future__ import annotations

import uuid
from urllib.parse import parse_qs, urlsplit

import httpx

from schemas.envelope import Metadata
from services.authority import Authority
from services.console_roles import change_role
from tests.e2e.authorize_flow import Browsers, hidden
from tests.e2e.console_browser import PASSWORD, console_user


def _strict_page(answer: httpx.Response, status: int) -> None:
    assert answer.status_code == status, answer.text
    policy = answer.headers["content-security-policy"]
    assert "style-src 'nonce-" in policy and "unsafe-inline" not in policy
    assert "script-src" not in policy and policy.startswith("default-src 'none'")
    assert answer.headers["cache-control"] == "no-store"
    assert answer.headers["x-frame-options"] == "DENY"


def _cookie(answer: httpx.Response, name: str) -> str:
    (found,) = [c for c in answer.headers.get_list("set-cookie") if c.startswith(f"{name}=")]
    assert "Path=/console" in found and "HttpOnly" in found and "SameSite=strict" in found
    return found


async def _sign_in(web: httpx.AsyncClient, username: str) -> httpx.Response:
    """Through /oauth/authorize as a browser would; the callback's answer."""
    start = await web.get("/console/sign-in")
    assert start.status_code == 303
    _cookie(start, "kl_console_flow")
    location = urlsplit(start.headers["location"])
    params = {k: v[0] for k, v in parse_qs(location.query).items()}
    assert location.path == "/oauth/authorize" and params["code_challenge_method"] == "S256"
    assert params["scope"] == "openid" and params["redirect_uri"].endswith("/console/callback")
    login = await web.get(start.headers["location"])
    form = {
        "request": hidden(login.text, "request"),
        "csrf": hidden(login.text, "csrf"),
        "username": username,
        "password": PASSWORD,
    }
    consent = await web.post("/oauth/authorize/login", data=form)
    if consent.status_code == 303:  # consent remembered from an earlier sign-in
        return await web.get(consent.headers["location"])
    approve = {
        "request": hidden(consent.text, "request"),
        "csrf": hidden(consent.text, "csrf"),
        "decision": "approve",
    }
    back = await web.post("/oauth/authorize/consent", data=approve)
    assert back.status_code == 303
    return await web.get(back.headers["location"])


async def test_console_sign_in_cookies_csrf_and_roles(
    browsers: Browsers, authority: Authority
) -> None:
    web = browsers()
    front = await web.get("/console")
    _strict_page(front, 200)
    assert 'href="/console/sign-in"' in front.text
    for path in ("/console/audit", "/console/clients", "/console/audit/export"):
        signed_out = await web.get(path)
        assert (signed_out.status_code, signed_out.headers["location"]) == (303, "/console")
    _strict_page(await web.get("/console/callback?code=x&state=y"), 400)

    username = f"auditor-{uuid.uuid4().hex[:6]}"
    user_id = await console_user(authority, username, "compliance")
    callback = await _sign_in(web, username)
    assert (callback.status_code, callback.headers["location"]) == (303, "/console")
    session = _cookie(callback, "kl_console")
    assert "kl_console=" in session
    home = await web.get("/console")
    _strict_page(home, 200)
    assert f"Signed in as {username}" in home.text
    csrf = hidden(home.text, "csrf")

    # Bad input is a page saying why, never a 500.
    for query in (
        "from=yesterday", "outcome=maybe", "user=a&user=b", "action=no_such_action",
        "from=2026-12-02T00:00&to=2026-12-01T00:00", "client=%00", "limit=5", "cursor=bogus",
        "to=0001-01-01T00:00:00%2B01:00",
    ):  # fmt: skip
        _strict_page(await web.get(f"/console/audit?{query}"), 400)
    for edge in (
        "to=0001-01-01T00:00",
        "from=9999-12-31T23:59:59",
        "from=0001-01-01&to=9999-12-31",
    ):
        _strict_page(await web.get(f"/console/audit?{edge}"), 200)
        _strict_page(await web.get(f"/console/audit/timeline?user=x&{edge}"), 200)
    _strict_page(await web.get("/console/audit/at?user=x&at=soon"), 400)
    _strict_page(await web.get("/console/audit/at?user=x&at=0001-01-01T00:00"), 200)
    _strict_page(await web.get("/console/audit/signed-export"), 400)
    _strict_page(await web.get("/console/clients"), 403)  # not an operator

    # A form without this browser's token changes nothing.
    for token in (None, "forged"):
        form = {} if token is None else {"csrf": token}
        _strict_page(await web.post("/console/integrity/verify", data=form), 403)
    elsewhere = browsers()
    await _sign_in(elsewhere, username)
    foreign = hidden((await elsewhere.get("/console")).text, "csrf")
    _strict_page(await web.post("/console/sign-out", data={"csrf": foreign}), 403)

    # The role is read on every request: revoked, the next page refuses.
    assert (await web.get("/console/audit")).status_code == 200
    await change_role(
        authority, username, "compliance", grant=False, reason="left the team",
        metadata=Metadata(actor="admin"),
    )  # fmt: skip
    _strict_page(await web.get("/console/audit"), 403)

    # Signing out revokes the console token: the old cookie opens nothing, here or anywhere.
    out = await web.post("/console/sign-out", data={"csrf": csrf})
    assert (out.status_code, out.headers["location"]) == (303, "/console?signed_out=1")
    assert "Max-Age=0" in _cookie(out, "kl_console")
    replayed = browsers()
    replayed.cookies.set("kl_console", session.split(";", 1)[0].split("=", 1)[1], path="/console")
    assert (await replayed.get("/console/audit")).status_code == 303
    assert user_id
