"""The code flow in a real browser: login and consent pages in English and French, then tokens.

Chromium (Debian's) drives `keyledger serve`. The client's redirect URI is a loopback port
nothing listens on: the test reads the URL of the browser's request to it, never loads it.
"""

# The French texts use the typographic apostrophe, which RUF001 takes for a lookalike.
# ruff: noqa: RUF001

from __future__ import annotations

import contextlib
import secrets
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
from playwright.async_api import Browser, Frame, Page, Request, async_playwright
from playwright.async_api import Error as PlaywrightError

from domain.policies.pkce import challenge_s256
from infra.crypto.jwt import VerifyingKeys
from schemas.envelope import Metadata
from services.authority import Authority
from services.users import create_user
from tests.e2e.conftest import free_port

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
PASSWORD = "correct horse battery"
TEXT = {
    "en": {
        "sign_in": "Sign in",
        "consent": "Allow access?",
        "read": "Reading your data.",
        "no_reason": "gave no reason for needing this.",
        "lasts": "Each access lasts 1 hour; the application can renew it without asking you"
        " for 30 days after its last use",
    },
    "fr": {
        "sign_in": "Connexion",
        "consent": "Autoriser l’accès ?",
        "read": "La lecture de vos données.",
        "no_reason": "n’a donné aucune raison pour cette autorisation.",
        "lasts": "Chaque accès dure 1 heure ; l’application peut le renouveler sans vous le"
        " redemander pendant 30 jours après sa dernière utilisation",
    },
}


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield launched
        await launched.close()


def on_error_page(frame: Frame) -> bool:
    return frame.url.startswith("chrome-error:")


class Flow:
    """One relying party and one user, driving a browser page through the code flow."""

    def __init__(self, base: str, page: Page, client_id: str, redirect: str, user: str) -> None:
        self.base, self.page, self.client_id = base, page, client_id
        self.redirect, self.username = redirect, user
        self.verifier = secrets.token_urlsafe(48)
        self.state = secrets.token_urlsafe(12)
        self.nonce = secrets.token_urlsafe(12)

    def url(self, scope: str, lang: str) -> str:
        query = urlencode(
            {
                "response_type": "code",
                "client_id": self.client_id,
                "redirect_uri": self.redirect,
                "scope": scope,
                "state": self.state,
                "nonce": self.nonce,
                "code_challenge": challenge_s256(self.verifier),
                "code_challenge_method": "S256",
                "lang": lang,
            }
        )
        return f"{self.base}/oauth/authorize?{query}"

    async def start(self, scope: str, lang: str) -> None:
        """Open the authorization URL on a page (login or consent) of the server."""
        await self.page.goto(self.url(scope, lang))

    def is_callback(self, request: Request) -> bool:
        return request.url.startswith(self.redirect)

    async def _bounce(self, action: Callable[[], Awaitable[object]]) -> dict[str, str]:
        """Run `action`, which ends in a redirect to the client; return that redirect's query.

        Nothing listens on the client's port, so the browser's request to it fails and
        Chromium commits its error page; waiting for that keeps the next navigation clean.
        """
        async with (
            self.page.expect_event("framenavigated", on_error_page),
            self.page.expect_request(self.is_callback) as caught,
        ):
            await action()
        url = urlsplit((await caught.value).url)
        return {name: values[0] for name, values in parse_qs(url.query).items()}

    async def callback_after(self, selector: str) -> dict[str, str]:
        """Click, and return the query the browser was redirected to the client with."""
        return await self._bounce(lambda: self.page.click(selector))

    async def straight_back(self, scope: str, lang: str) -> dict[str, str]:
        """Open the authorization URL expecting no page at all: a redirect to the client."""

        async def navigate() -> None:
            with contextlib.suppress(PlaywrightError):  # the refused load of the callback
                await self.page.goto(self.url(scope, lang))

        return await self._bounce(navigate)

    async def sign_in(self) -> None:
        await self.page.fill("#username", self.username)
        await self.page.fill("#password", PASSWORD)

    async def exchange(self, code: str) -> dict[str, Any]:
        async with httpx.AsyncClient(base_url=self.base) as http:
            token = await http.post(
                "/oauth/token",
                data={
                    "grant_type": "authorization_code",
                    "code": code,
                    "redirect_uri": self.redirect,
                    "client_id": self.client_id,
                    "code_verifier": self.verifier,
                },
            )
            assert token.status_code == 200, token.text
            jwks = (await http.get("/.well-known/jwks.json")).json()
        body: dict[str, Any] = token.json()
        claims = VerifyingKeys.from_jwks(jwks["keys"]).verify(body["id_token"])
        assert claims is not None
        body["id_token_claims"] = claims
        return body


@pytest.fixture
async def flow(
    browser: Browser, live_server: str, make_client: Any, authority: Authority
) -> AsyncIterator[Flow]:
    redirect = f"http://127.0.0.1:{free_port()}/callback"
    client = await make_client(
        grant_types=("authorization_code", "refresh_token"),
        scopes=("openid", "read", "write", "billing"),
        redirect_uris=(redirect,),
        confidential=False,
        scope_reasons={"write": "To save the reports you create."},
    )
    username = f"user-{uuid.uuid4().hex[:10]}"
    await create_user(authority.store, username, PASSWORD, Metadata(actor="admin"))
    context = await browser.new_context()
    page = await context.new_page()
    yield Flow(live_server, page, client.client_id, redirect, username)
    await context.close()


@pytest.mark.parametrize("lang", ["en", "fr"])
async def test_approve_redirects_with_code_state_iss_and_the_code_buys_tokens(
    flow: Flow, lang: str
) -> None:
    text = TEXT[lang]
    await flow.start("openid read write", lang)
    page = flow.page
    assert await page.text_content("h1") == text["sign_in"]
    assert await page.get_attribute("html", "lang") == lang
    await flow.sign_in()
    await page.click("#sign-in")

    await page.wait_for_selector("#approve")
    assert await page.text_content("h1") == text["consent"]
    assert "test client" in (await page.text_content("main") or "")
    scopes = await page.eval_on_selector_all(
        "section.scope", "nodes => nodes.map(n => n.dataset.scope)"
    )
    assert scopes == ["openid", "read", "write"]
    assert await page.text_content('[data-scope="read"] .data') == text["read"]
    why_read = await page.text_content('[data-scope="read"] .why') or ""
    assert why_read.endswith(text["no_reason"])
    assert await page.text_content('[data-scope="write"] .why') == "To save the reports you create."
    for scope in scopes:
        lasts = await page.text_content(f'[data-scope="{scope}"] .how-long') or ""
        assert lasts.startswith(text["lasts"])

    params = await flow.callback_after("#approve")
    assert set(params) == {"code", "state", "iss"}
    assert params["state"] == flow.state and params["iss"] == flow.base
    tokens = await flow.exchange(params["code"])
    assert tokens["scope"] == "openid read write" and tokens["refresh_token"]
    claims = tokens["id_token_claims"]
    assert claims["nonce"] == flow.nonce and claims["aud"] == flow.client_id
    assert claims["iss"] == flow.base and "auth_time" in claims


@pytest.mark.parametrize("lang", ["en", "fr"])
async def test_deny_redirects_access_denied_with_state_and_iss(flow: Flow, lang: str) -> None:
    await flow.start("openid read", lang)
    await flow.sign_in()
    await flow.page.click("#sign-in")
    await flow.page.wait_for_selector("#deny")
    params = await flow.callback_after("#deny")
    assert params["error"] == "access_denied"
    assert params["state"] == flow.state and params["iss"] == flow.base
    assert "code" not in params


async def test_remembered_consent_skips_the_page_until_a_wider_request(flow: Flow) -> None:
    page = flow.page
    await flow.start("openid read", "en")
    await flow.sign_in()
    await page.click("#sign-in")
    first = await flow.callback_after("#approve")
    assert "code" in first

    # Same scopes, same browser: signed in and consented, so straight back with a code.
    again = await flow.straight_back("openid read", "en")
    assert again["state"] == flow.state and again["code"] != first["code"]
    assert (await flow.exchange(again["code"]))["scope"] == "openid read"

    # A narrower request is covered too; a wider one asks again, for everything it wants.
    assert "code" in await flow.straight_back("read", "en")
    await flow.start("openid read billing", "en")
    await page.wait_for_selector("#approve")
    shown = await page.eval_on_selector_all(
        "section.scope", "nodes => nodes.map(n => n.dataset.scope)"
    )
    assert shown == ["openid", "read", "billing"]
    generic = await page.text_content('[data-scope="billing"] .data') or ""
    assert "billing" in generic and "test client" in generic
    wider = await flow.callback_after("#approve")
    assert (await flow.exchange(wider["code"]))["scope"] == "openid read billing"
