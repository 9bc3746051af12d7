"""The account page: a user signs in, sees the applications they connected, disconnects one.

Over HTTP against the app in process (its own cookie jar per browser), with `keyledger serve`
running beside it on the same database: its worker projects consents and relays what the app
here appends to NATS. The French page is driven in Chromium.
"""

# The French texts use the typographic apostrophe, which RUF001 takes for a lookalike.
# ruff: noqa: RUF001

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import msgspec
import nats.js.errors
import pytest
from playwright.async_api import Browser, async_playwright

from domain import consent as consent_domain
from infra.config import Settings
from infra.nats_bus import EventBus
from projections.consents import granted
from schemas.envelope import Metadata
from schemas.revocations import UserClientRevocation, decode_revocation
from services.authority import Authority
from services.commands import execute
from services.consents import consent_stream, consented
from services.users import create_user
from tests.e2e.authorize_flow import (
    Browsers,
    code_client,
    exchange_code,
    hidden,
    login_form,
    login_page,
    redirected,
)
from tests.e2e.conftest import server_log_path, wait_for
from tests.e2e.test_authorize_pages import ARGS, CHROMIUM

PASSWORD = "correct horse battery"


async def _connected(web: httpx.AsyncClient, make_client: Any, authority: Authority) -> Any:
    """A user who approved a client on the consent page, and the tokens it got."""
    client_id = await code_client(make_client)
    username = f"account-{uuid.uuid4().hex[:8]}"
    user_id = await create_user(authority.store, username, PASSWORD, Metadata(actor="admin"))
    page = await login_page(web, client_id)
    consent = await web.post("/oauth/authorize/login", data=login_form(page, username, PASSWORD))
    approve = {
        "request": hidden(consent.text, "request"),
        "csrf": hidden(consent.text, "csrf"),
        "decision": "approve",
    }
    code = redirected(await web.post("/oauth/authorize/consent", data=approve))["code"]
    issued = (await exchange_code(web, client_id, code)).json()
    return client_id, username, user_id, issued


async def _sign_in(web: httpx.AsyncClient, username: str, password: str = PASSWORD) -> Any:
    page = await web.get("/account")
    form = {"csrf": hidden(page.text, "csrf"), "lang": "en", "username": username}
    return await web.post("/account", data={**form, "password": password})


async def _active(web: httpx.AsyncClient, introspector: Any, token: str) -> bool:
    answer = await web.post("/oauth/introspect", data={"token": token}, auth=introspector.basic)
    assert answer.status_code == 200, answer.text
    active: bool = answer.json()["active"]
    return active


async def _logins(authority: Authority, user_id: str) -> list[str]:
    async with authority.pool.acquire() as conn:
        rows = await conn.fetch(
            """SELECT event_type FROM events WHERE stream_id LIKE 'login-%'
               AND metadata->>'subject_user' = $1 ORDER BY global_position""",
            user_id,
        )
    return [row["event_type"] for row in rows]


def _is_page(answer: httpx.Response, status: int) -> None:
    """An HTML page with the headers every page of ours carries."""
    assert answer.status_code == status, answer.text
    headers = answer.headers
    assert headers["content-type"].startswith("text/html")
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    assert (headers["cache-control"], headers["x-frame-options"]) == ("no-store", "DENY")


def _cookie(answer: httpx.Response, name: str) -> str:
    (found,) = [c for c in answer.headers.get_list("set-cookie") if c.startswith(f"{name}=")]
    assert "Path=/account" in found and "HttpOnly" in found and "SameSite=lax" in found
    return found


async def test_a_user_disconnects_an_application_and_its_tokens_stop_working_everywhere(
    browsers: Browsers,
    make_client: Any,
    authority: Authority,
    settings: Settings,
    live_server: str,
) -> None:
    del live_server  # its worker projects and publishes what the app here appends
    web = browsers()
    client_id, username, user_id, issued = await _connected(web, make_client, authority)
    introspector = await make_client(scopes=("keyledger:introspect",))
    assert await _active(web, introspector, issued["access_token"])

    # The authorization pages' session is theirs (Path=/oauth): here the user signs in, through
    # the same service, so a wrong password is a `login_refused` event like any other.
    first = await web.get("/account")
    _is_page(first, 200)
    assert 'action="/account"' in first.text and "connected to your account" in first.text
    _cookie(first, "kl_csrf")
    wrong = await _sign_in(web, username, "not the password")
    _is_page(wrong, 400)
    assert "Wrong username or password." in wrong.text
    signed_in = await _sign_in(web, username)
    assert (signed_in.status_code, signed_in.headers["location"]) == (303, "/account?lang=en")
    _cookie(signed_in, "kl_session")
    assert (await _logins(authority, user_id))[-2:] == ["login_refused", "login_succeeded"]

    async def listed() -> bool:
        return f'data-client="{client_id}"' in (await web.get("/account")).text

    await wait_for(listed, timeout=10)  # once the projector has applied the grant
    account = await web.get("/account")
    _is_page(account, 200)
    assert "test client" in account.text and "Connected since" in account.text
    assert '<li data-scope="read">Reading your data.</li>' in account.text

    form = {"csrf": hidden(account.text, "csrf"), "lang": "en", "client_id": client_id}
    done = await web.post("/account/disconnect", data=form)
    assert done.status_code == 303 and done.headers["location"].startswith("/account?lang=en&")
    after = await web.get(done.headers["location"])
    _is_page(after, 200)
    assert "test client is disconnected: its access to your account has ended." in after.text
    assert f'data-client="{client_id}"' not in after.text

    # (b) The access token is dead at introspection, and so is the refresh token.
    assert not await _active(web, introspector, issued["access_token"])
    assert not await _active(web, introspector, issued["refresh_token"])
    # (a) The read model has the withdrawal.
    pool = authority.pool

    async def withdrawn() -> bool:
        async with pool.acquire() as conn:
            status = await conn.fetchval(
                "SELECT status FROM consents WHERE user_id = $1 AND client_id = $2",
                user_id,
                client_id,
            )
            return status == "withdrawn" and not await granted(conn, user_id)

    await wait_for(withdrawn, timeout=10)
    # (c) Resource servers were told: a `user_client` revocation on NATS, for the withdrawal
    # the user made (the actor of the logged event).
    async with pool.acquire() as conn:
        event = await conn.fetchrow(
            "SELECT event_id, metadata FROM events WHERE stream_id = $1 AND event_type = $2",
            consent_stream(user_id, client_id),
            "consent_withdrawn",
        )
    assert event is not None
    event_id: uuid.UUID = event["event_id"]
    assert msgspec.json.decode(event["metadata"])["actor"] == "user"
    assert msgspec.json.decode(event["metadata"])["actor_id"] == user_id
    assert settings.nats_url is not None
    bus = await EventBus.connect(
        settings.nats_url, stream=settings.nats_stream, prefix=settings.subject_prefix,
        name="account-test",
    )  # fmt: skip
    subject = f"{settings.subject_prefix}.revocations.user_client"

    async def published() -> bool:
        try:
            raw = await bus.js.get_last_msg(bus.stream, subject)
        except nats.js.errors.NotFoundError:
            return False  # nothing on the subject yet
        assert raw.data is not None
        revocation = decode_revocation(raw.data)
        return revocation.event_id == event_id

    try:
        await wait_for(published, timeout=15)
        raw = await bus.js.get_last_msg(bus.stream, subject)
    finally:
        await bus.close()
    assert raw.data is not None
    revocation = decode_revocation(raw.data)
    assert isinstance(revocation, UserClientRevocation)
    assert (revocation.user_id, revocation.client_id) == (user_id, client_id)
    assert revocation.cause == "consent_withdrawn"

    # The same form again (a stale page): a clear page, not a 500.
    again = await web.post("/account/disconnect", data=form)
    _is_page(again, 404)
    assert "not connected to your account" in again.text and 'href="/account?lang=en"' in again.text

    out = await web.post("/account/sign-out", data={"csrf": form["csrf"], "lang": "en"})
    assert out.status_code == 303
    assert "Max-Age=0" in _cookie(out, "kl_session")
    signed_out = await web.get(out.headers["location"])
    assert "You are signed out." in signed_out.text and 'name="password"' in signed_out.text


async def test_a_forged_or_missing_csrf_token_is_refused_and_changes_nothing(
    browsers: Browsers, make_client: Any, authority: Authority
) -> None:
    web = browsers()
    client_id, username, user_id, issued = await _connected(web, make_client, authority)
    introspector = await make_client(scopes=("keyledger:introspect",))

    # Signing in needs the form's token too (no login CSRF): refused before any attempt.
    page = await web.get("/account")
    forged_sign_in = {"csrf": "forged", "username": username, "password": PASSWORD}
    refused = await web.post("/account", data=forged_sign_in)
    _is_page(refused, 403)
    assert "kl_session" not in refused.headers.get("set-cookie", "")
    assert await _logins(authority, user_id) == ["login_succeeded"]  # the authorize page's only
    assert (await _sign_in(web, username)).status_code == 303
    account = await web.get("/account")
    real = hidden(account.text, "csrf")

    elsewhere = browsers()  # the same user in another browser: another nonce, another token
    assert (await _sign_in(elsewhere, username)).status_code == 303
    foreign = hidden((await elsewhere.get("/account")).text, "csrf")
    sign_in_token = hidden(page.text, "csrf")  # a token for another form
    for token in (None, "", "forged", foreign, sign_in_token):
        form = {
            "client_id": client_id,
            "lang": "en",
            **({"csrf": token} if token is not None else {}),
        }
        answer = await web.post("/account/disconnect", data=form)
        _is_page(answer, 403)
        assert "account page. Reload the page and try again." in answer.text
    # A good token with a client the user has no consent to: a clear page, whatever the id.
    for unknown in ("no-such-client", "\x00", "x" * 300):
        form = {"client_id": unknown, "csrf": real}
        _is_page(await web.post("/account/disconnect", data=form), 404)
    # A cross-site form carries no cookie (SameSite=Lax): no session, so only the sign-in form.
    stranger = await browsers().post(
        "/account/disconnect", data={"client_id": client_id, "csrf": real}
    )
    _is_page(stranger, 200)
    assert 'name="password"' in stranger.text
    forged_out = await web.post("/account/sign-out", data={"csrf": foreign})
    _is_page(forged_out, 403)

    assert await consented(authority, user_id, client_id) == ("openid", "read")
    assert await _active(web, introspector, issued["access_token"])
    still = await web.get("/account")
    assert 'name="password"' not in still.text  # still signed in


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield launched
        await launched.close()


async def test_the_account_page_in_french_in_a_browser(
    browser: Browser, live_server: str, make_client: Any, authority: Authority, settings: Settings
) -> None:
    client_id = await code_client(make_client)
    username = f"compte-{uuid.uuid4().hex[:8]}"
    user_id = await create_user(authority.store, username, PASSWORD, Metadata(actor="admin"))
    grant = consent_domain.GrantConsent(user_id=user_id, client_id=client_id, scopes=("read",))
    stream = consent_stream(user_id, client_id)
    await execute(authority.store, consent_domain.decider, stream, grant, Metadata(actor="user"))
    context = await browser.new_context()
    page = await context.new_page()
    try:
        await page.goto(f"{live_server}/account?lang=fr")
        assert await page.get_attribute("html", "lang") == "fr"
        assert await page.text_content("h1") == "Connexion"
        await page.fill("#username", username)
        await page.fill("#password", PASSWORD)
        await page.click("#sign-in")
        await page.wait_for_selector("#sign-out")
        assert await page.text_content("h1") == "Applications connectées"
        app = f'section[data-client="{client_id}"]'
        for _ in range(50):  # the projector applies the grant within moments
            if await page.query_selector(app) is not None:
                break
            await page.reload()
        assert await page.text_content(f'{app} [data-scope="read"]') == "La lecture de vos données."
        since = await page.text_content(f"{app} .since") or ""
        assert since.startswith("Connectée depuis le ")
        assert await page.text_content(f"{app} button") == "Déconnecter"

        await page.click(f"{app} button")
        await page.wait_for_selector("#notice")
        assert await page.text_content("#notice") == (
            "test client est déconnectée : son accès à votre compte a pris fin."
        )
        assert await page.query_selector(app) is None
        assert await page.text_content("#lead") == (
            "Aucune application n’est connectée à votre compte."
        )
        (session,) = [c["value"] for c in await context.cookies() if c["name"] == "kl_session"]
        await page.click("#sign-out")
        await page.wait_for_selector("#sign-in")
        assert await page.text_content("#notice") == "Votre session est fermée."
    finally:
        await context.close()
    assert await consented(authority, user_id, client_id) == ()
    # Neither the password nor the session reached the server's log or the events.
    logged = server_log_path(settings).read_text(encoding="utf-8", errors="replace")
    assert "worker_started" in logged  # the server's log, as it runs
    assert PASSWORD not in logged and session not in logged
    async with authority.pool.acquire() as conn:
        leaked = await conn.fetchval(
            """SELECT count(*) FROM events
               WHERE position(convert_to($1, 'UTF8') IN data) > 0 OR metadata::text LIKE $2""",
            PASSWORD,
            f"%{PASSWORD}%",
        )
    assert leaked == 0
