"""The authorization endpoint's refusals, over HTTP: error pages, error redirects, forged forms."""

from __future__ import annotations

import base64
import uuid
from typing import Any

import asyncpg
from litestar.testing import AsyncTestClient

from schemas.envelope import Metadata
from services.api.pages.signed import Pending, seal
from services.authority import Authority
from services.authorization import AuthorizationRequest
from services.users import create_user
from tests.e2e.authorize_flow import (
    REDIRECT,
    VERIFIER,
    Browsers,
    authorize_url,
    code_client,
    hidden,
    login_form,
    login_page,
    redirected,
)

CSP = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'"


async def test_unknown_client_gets_an_error_page_not_a_redirect(
    api: AsyncTestClient,  # type: ignore[type-arg]
) -> None:
    page = await api.get(authorize_url("no-such-client"), follow_redirects=False)
    assert page.status_code == 400
    assert "location" not in page.headers
    assert "is not known here" in page.text
    assert page.headers["content-security-policy"] == CSP
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["cache-control"] == "no-store"
    assert page.headers["referrer-policy"] == "no-referrer"


async def test_unregistered_redirect_uri_gets_an_error_page_in_the_page_language(
    api: AsyncTestClient,  # type: ignore[type-arg]
    make_client: Any,
) -> None:
    client_id = await code_client(make_client)
    for uri in ("https://evil.example/callback", REDIRECT + "/", REDIRECT + "?x=1"):
        page = await api.get(
            authorize_url(client_id, redirect_uri=uri, lang="fr"), follow_redirects=False
        )
        assert page.status_code == 400
        assert "location" not in page.headers
        assert "adresse de retour qui n\u2019est pas enregistr\u00e9e" in page.text
    missing = await api.get(authorize_url(client_id, redirect_uri=None), follow_redirects=False)
    assert missing.status_code == 400 and "location" not in missing.headers


async def test_missing_code_challenge_for_a_pkce_client_redirects_invalid_request(
    api: AsyncTestClient,  # type: ignore[type-arg]
    make_client: Any,
    authority: Authority,
) -> None:
    client_id = await code_client(make_client)
    response = await api.get(
        authorize_url(client_id, code_challenge=None, code_challenge_method=None),
        follow_redirects=False,
    )
    params = redirected(response)
    assert params["error"] == "invalid_request"
    assert params["state"] == "st-123"
    assert params["iss"] == authority.issuer
    assert response.headers["cache-control"] == "no-store"


async def test_plain_pkce_is_refused(
    api: AsyncTestClient,  # type: ignore[type-arg]
    make_client: Any,
) -> None:
    client_id = await code_client(make_client)
    for method in ("plain", None):
        response = await api.get(
            authorize_url(client_id, code_challenge=VERIFIER, code_challenge_method=method),
            follow_redirects=False,
        )
        params = redirected(response)
        assert params["error"] == "invalid_request" and params["state"] == "st-123"
        assert "S256" in params["error_description"]


async def test_other_response_types_are_unsupported(
    api: AsyncTestClient,  # type: ignore[type-arg]
    make_client: Any,
) -> None:
    client_id = await code_client(make_client)
    response = await api.get(
        authorize_url(client_id, response_type="token"), follow_redirects=False
    )
    assert redirected(response)["error"] == "unsupported_response_type"


async def test_unknown_scope_redirects_invalid_scope(
    api: AsyncTestClient,  # type: ignore[type-arg]
    make_client: Any,
    authority: Authority,
) -> None:
    client_id = await code_client(make_client)
    response = await api.get(authorize_url(client_id, scope="openid admin"), follow_redirects=False)
    params = redirected(response)
    assert params["error"] == "invalid_scope"
    assert params["state"] == "st-123" and params["iss"] == authority.issuer


async def test_review_scope_is_refused_and_flagged_in_the_log(
    api: AsyncTestClient,  # type: ignore[type-arg]
    make_client: Any,
    pool: asyncpg.Pool,
) -> None:
    client_id = await code_client(make_client, review_scopes=("write",))
    response = await api.get(authorize_url(client_id, scope="read write"), follow_redirects=False)
    assert redirected(response)["error"] == "invalid_scope"
    async with pool.acquire() as conn:
        flagged = await conn.fetch(
            "SELECT stream_id, convert_from(data, 'UTF8')::jsonb AS data FROM events"
            " WHERE event_type = 'authorization_flagged' AND metadata->>'client_id' = $1",
            client_id,
        )
    assert len(flagged) == 1
    assert flagged[0]["stream_id"].startswith("authorization-")
    assert '"scopes": ["write"]' in flagged[0]["data"]


async def test_login_post_without_csrf_token_is_forbidden(
    browsers: Browsers,
    make_client: Any,
    authority: Authority,
) -> None:
    client_id = await code_client(make_client)
    username = f"csrf-{uuid.uuid4().hex[:8]}"
    await create_user(authority.store, username, "correct horse", Metadata(actor="admin"))
    web = browsers()
    form = login_form(await login_page(web, client_id), username, "correct horse")
    del form["csrf"]
    refused = await web.post("/oauth/authorize/login", data=form)
    assert refused.status_code == 403
    assert "location" not in refused.headers and "kl_session" not in refused.text
    assert "kl_session" not in refused.headers.get("set-cookie", "")
    forged = await web.post("/oauth/authorize/login", data={**form, "csrf": "A" * 43})
    assert forged.status_code == 403


async def test_wrong_password_is_shown_on_the_login_page(
    browsers: Browsers,
    make_client: Any,
    authority: Authority,
) -> None:
    client_id = await code_client(make_client)
    username = f"wrong-{uuid.uuid4().hex[:8]}"
    await create_user(authority.store, username, "correct horse", Metadata(actor="admin"))
    web = browsers()
    form = login_form(await login_page(web, client_id), username, "wrong horse")
    again = await web.post("/oauth/authorize/login", data=form)
    assert again.status_code == 400
    assert "Wrong username or password." in again.text
    assert "wrong horse" not in again.text  # the password is never echoed
    assert f'value="{username}"' in again.text
    assert "kl_session" not in again.headers.get("set-cookie", "")

    # A name no account can have (PostgreSQL text holds no NUL) is a wrong name, not a 500.
    form = login_form(await login_page(web, client_id), username + "\x00", "correct horse")
    nul = await web.post("/oauth/authorize/login", data=form)
    assert nul.status_code == 400
    assert "Wrong username or password." in nul.text


async def test_locked_account_gets_429_with_retry_after_in_the_page_language(
    browsers: Browsers,
    make_client: Any,
    authority: Authority,
) -> None:
    client_id = await code_client(make_client)
    username = f"locked-{uuid.uuid4().hex[:8]}"
    await create_user(authority.store, username, "correct horse", Metadata(actor="admin"))
    web = browsers()
    page = await web.get(authorize_url(client_id, lang="fr"))
    form = login_form(page, username, "wrong horse")
    for _ in range(5):
        assert (await web.post("/oauth/authorize/login", data=form)).status_code == 400
    locked = await web.post("/oauth/authorize/login", data={**form, "password": "correct horse"})
    assert locked.status_code == 429
    assert int(locked.headers["retry-after"]) > 0
    assert "Trop d\u2019\u00e9checs" in locked.text
    assert "kl_session" not in locked.headers.get("set-cookie", "")


async def test_prompt_none_without_a_session_redirects_login_required(
    browsers: Browsers, make_client: Any
) -> None:
    client_id = await code_client(make_client)
    response = await browsers().get(authorize_url(client_id, prompt="none"))
    params = redirected(response)
    assert params["error"] == "login_required" and params["state"] == "st-123"


async def test_signed_in_flow_sets_a_strict_session_and_remembers_consent(
    browsers: Browsers, make_client: Any, authority: Authority
) -> None:
    client_id = await code_client(make_client)
    username = f"flow-{uuid.uuid4().hex[:8]}"
    await create_user(authority.store, username, "correct horse", Metadata(actor="admin"))
    web = browsers()
    page = await login_page(web, client_id)
    csp = page.headers["content-security-policy"]
    # The redirect after a form post is checked against form-action: the client's origin.
    assert csp == CSP.replace("form-action 'self'", "form-action 'self' https://app.example")
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["cache-control"] == "no-store"
    assert page.headers["referrer-policy"] == "no-referrer"

    consent = await web.post(
        "/oauth/authorize/login", data=login_form(page, username, "correct horse")
    )
    assert consent.status_code == 200 and 'value="approve"' in consent.text
    session = next(c for c in consent.headers.get_list("set-cookie") if "kl_session=" in c)
    attributes = {part.strip().lower() for part in session.split(";")[1:]}
    assert {"httponly", "samesite=lax", "path=/oauth"} <= attributes
    assert "secure" not in attributes  # the suite's issuer is http://; https sets it

    approve = {
        "request": hidden(consent.text, "request"),
        "csrf": hidden(consent.text, "csrf"),
        "decision": "approve",
    }
    # The consent token is bound to the signed-in user: the login token does not fit.
    wrong = await web.post(
        "/oauth/authorize/consent", data={**approve, "csrf": hidden(page.text, "csrf")}
    )
    assert wrong.status_code == 403
    params = redirected(await web.post("/oauth/authorize/consent", data=approve))
    assert params["code"].startswith("klc_") and params["iss"] == authority.issuer
    again = redirected(await web.get(authorize_url(client_id)))
    assert again["code"] != params["code"] and again["state"] == "st-123"
    # Another browser has no session: the login page, not a code.
    assert (await browsers().get(authorize_url(client_id))).status_code == 200


async def test_forged_expired_or_replayed_signed_request_gets_an_error_page(
    browsers: Browsers,
    make_client: Any,
    authority: Authority,
) -> None:
    client_id = await code_client(make_client)
    web = browsers()
    page = await login_page(web, client_id)
    sealed, csrf = hidden(page.text, "request"), hidden(page.text, "csrf")
    form = {"request": sealed, "csrf": csrf, "username": "someone", "password": "anything!"}

    # Altered: another redirect URI inside, the signature left as it was.
    body, mac = sealed.split(".")
    payload = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    assert REDIRECT.encode() in payload
    evil = payload.replace(REDIRECT.encode(), b"https://evil.example/cb")
    tampered = base64.urlsafe_b64encode(evil).rstrip(b"=").decode() + "." + mac
    response = await web.post("/oauth/authorize/login", data={**form, "request": tampered})
    assert response.status_code == 400 and "not valid or has expired" in response.text

    # Signed, but long expired.
    request = AuthorizationRequest(client_id=client_id, redirect_uri=REDIRECT, scopes=("read",))
    expired = seal(authority.csrf_key, "request", Pending(request=request, lang="en", exp=1))
    response = await web.post("/oauth/authorize/login", data={**form, "request": expired})
    assert response.status_code == 400 and "location" not in response.headers

    # Signed by us, but for another purpose (the session cookie's key).
    fresh = Pending(request=request, lang="en", exp=2**40)
    misused = seal(authority.csrf_key, "session", fresh)
    response = await web.post("/oauth/authorize/login", data={**form, "request": misused})
    assert response.status_code == 400

    # Replayed from another browser: its CSRF cookie differs, so the token does not match.
    response = await browsers().post("/oauth/authorize/login", data=form)
    assert response.status_code == 403 and "location" not in response.headers
