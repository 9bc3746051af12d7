"""Company single sign-on in a real browser: Debian's Chromium signs a person in to a served
keyledger through their company's identity provider, another served keyledger, driving both
keyledgers' own pages. First sign-in provisions the account; the next finds the same one."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from playwright.async_api import Browser, Frame, Page, async_playwright
from playwright.async_api import Error as PlaywrightError

from infra.crypto.jwt import VerifyingKeys
from tests.e2e.connections.harness import PASSWORD
from tests.e2e.connections.sso.company import Company, Keyledger
from tests.e2e.test_authorize_pages import ARGS, CHROMIUM

pytestmark = pytest.mark.asyncio


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield launched
        await launched.close()


@pytest.fixture(scope="module")
async def company(keyledger: Keyledger) -> Company:
    return await keyledger.company()


def _error_page(frame: Frame) -> bool:
    return frame.url.startswith("chrome-error:")


async def _back_at_the_app(
    page: Page, keyledger: Keyledger, action: Callable[[], Awaitable[object]]
) -> dict[str, str]:
    """Run `action`, which ends in the redirect to the application (nothing listens there,
    so Chromium shows its error page); the query of that redirect."""
    async with (
        page.expect_event("framenavigated", _error_page, timeout=20_000),
        page.expect_request(lambda r: r.url.startswith(keyledger.app_redirect)) as caught,
    ):
        await action()
    query = parse_qs(urlsplit((await caught.value).url).query)
    return {name: values[0] for name, values in query.items()}


async def _subject(keyledger: Keyledger, code: str) -> str:
    tokens = await keyledger.exchange(code)
    async with httpx.AsyncClient(base_url=keyledger.base) as web:
        jwks = (await web.get("/.well-known/jwks.json")).json()
    claims = VerifyingKeys.from_jwks(jwks["keys"]).verify(tokens["id_token"])
    assert claims is not None and claims["iss"] == keyledger.base
    subject = claims["sub"]
    assert isinstance(subject, str)
    return subject


async def _payloads(keyledger: Keyledger, event_type: str) -> list[dict[str, Any]]:
    return [json.loads(bytes(row["data"])) for row in await keyledger.events(event_type)]


async def test_a_first_sign_in_through_the_company_provider_provisions_the_account_and_the_next_finds_it(  # noqa: E501
    browser: Browser, keyledger: Keyledger, company: Company
) -> None:
    email = await keyledger.upstream_person(company.email("alice"))
    context = await browser.new_context()
    page = await context.new_page()

    await page.goto(keyledger.authorize_url())
    await page.fill("#username", email)
    await page.click("#sign-in-sso")  # no password: the company's provider asks for it
    await page.wait_for_url(f"{keyledger.upstream.base}/oauth/authorize?*")
    query = parse_qs(urlsplit(page.url).query)
    assert query["code_challenge_method"] == ["S256"] and query["login_hint"] == [email]
    assert {"state", "nonce", "code_challenge"} <= set(query)
    await page.fill("#username", email)
    await page.fill("#password", PASSWORD)
    await page.click("#sign-in")
    await page.click("#approve")  # the provider's consent, for keyledger
    await page.wait_for_url(f"{keyledger.base}/oauth/sso/callback?*")
    assert "Expenses" in (await page.text_content("main") or "")  # keyledger's own consent
    back = await _back_at_the_app(page, keyledger, lambda: page.click("#approve"))
    assert back["state"] == "rp-state" and back["iss"] == keyledger.base
    user_id = await _subject(keyledger, back["code"])
    await context.close()

    assert await keyledger.users_named(email) == [user_id]
    stored = [bytes(r["data"]) for r in await keyledger.events("sso_user_provisioned")]
    assert not any(email.encode() in data for data in stored)  # sealed in the log
    provisioned = await keyledger.provisioned()
    mine = [p for p in provisioned if p["username"] == email]
    assert len(mine) == 1 and mine[0]["user_id"] == user_id
    assert mine[0]["workspace_id"] == company.workspace_id
    assert mine[0]["issuer"] == keyledger.upstream.base

    # The next day, a new browser: `login_hint` goes straight to the provider, whose consent
    # and keyledger's are remembered; the same account comes back, no second one is made.
    context = await browser.new_context()
    page = await context.new_page()
    with contextlib.suppress(PlaywrightError):
        await page.goto(keyledger.authorize_url(login_hint=email))
    await page.wait_for_url(f"{keyledger.upstream.base}/oauth/authorize?*")
    await page.fill("#username", email)
    await page.fill("#password", PASSWORD)
    again = await _back_at_the_app(page, keyledger, lambda: page.click("#sign-in"))
    assert await _subject(keyledger, again["code"]) == user_id
    await context.close()
    assert await keyledger.users_named(email) == [user_id]
    provisioned = await keyledger.provisioned()
    assert len([p for p in provisioned if p["username"] == email]) == 1
    successes = await _payloads(keyledger, "login_succeeded")
    assert [s["method"] for s in successes if s["user_id"] == user_id] == ["sso", "sso"]


async def test_the_login_page_offers_company_sign_in_in_french(
    browser: Browser, keyledger: Keyledger
) -> None:
    context = await browser.new_context()
    page = await context.new_page()
    await page.goto(keyledger.authorize_url(lang="fr"))
    assert await page.text_content("#sign-in-sso") == "Se connecter avec votre entreprise"
    await page.fill("#username", "nobody@no-sso.example")
    await page.click("#sign-in-sso")
    await page.wait_for_selector("#error")
    assert "Aucune connexion d’entreprise" in (await page.text_content("#error") or "")  # noqa: RUF001
    await context.close()
