"""The web console in Chromium against `keyledger serve`: a compliance officer, an operator.

Each signs in through keyledger's own authorization code flow as the console client; the
served process's worker projects the audit trail the pages read. Screenshots of the main
pages are written where `console_browser.screenshot_dir` says.
"""

from __future__ import annotations

import asyncio
import csv
import io
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import msgspec
import pytest
from playwright.async_api import Browser, Page, async_playwright

from domain.policies.lifetimes import CLIENT_RECORD_TTL
from schemas.envelope import Metadata
from services.authority import Authority
from services.export_verifier import verify_export
from services.users import sign_in as check_password
from services.workspaces import create_api_key, create_workspace
from tests.e2e.authorize_flow import (
    REDIRECT,
    authorize_url,
    code_client,
    exchange_code,
    refresh_token,
)
from tests.e2e.console_browser import PASSWORD, console_user, screenshot_dir, sign_in
from tests.e2e.test_authorize_pages import ARGS, CHROMIUM


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield launched
        await launched.close()


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return screenshot_dir(tmp_path_factory)


async def _reload_until(page: Page, selector: str, count: int, tries: int = 60) -> None:
    """The audit trail is async: reload until the projector has the rows."""
    for _ in range(tries):
        if len(await page.query_selector_all(selector)) >= count:
            return
        await page.wait_for_timeout(250)
        await page.reload()
    raise AssertionError(f"{selector} never reached {count}")


async def test_a_compliance_officer_finds_a_users_failed_logins_and_exports_them(
    browser: Browser, live_server: str, authority: Authority, shots: Path
) -> None:
    officer = f"officer-{uuid.uuid4().hex[:6]}"
    officer_id = await console_user(authority, officer, "compliance")
    target = f"suspect-{uuid.uuid4().hex[:6]}"
    target_id = await console_user(authority, target)
    for password in ("guess one", "guess two", PASSWORD):
        await check_password(
            authority.pool, authority.group, authority.sealer, username=target,
            password=password, otp_code=None, method="page",
            metadata=Metadata(actor="user", ip="203.0.113.9"),
        )  # fmt: skip

    context = await browser.new_context(accept_downloads=True)
    page = await context.new_page()
    try:
        await sign_in(page, live_server, officer)
        assert await page.text_content("h1") == "Console"
        assert await page.query_selector('a[href="/console/clients"]') is None  # no operator
        await page.screenshot(path=shots / "console-home-compliance.png", full_page=True)

        await page.click('a[href="/console/audit"]')
        await page.fill("#f-user", target)
        await page.select_option("#f-outcome", "failure")
        await page.fill("#f-action", "login_refused")
        await page.click("#search")
        await _reload_until(page, "#rows tbody tr", 2)
        rows = await page.query_selector_all("#rows tbody tr")
        assert len(rows) == 2
        for row in rows:
            assert await row.get_attribute("class") == "failure"
            assert "invalid_credentials" in (await row.text_content() or "")
        bars = await page.query_selector_all("#chart g.hour")
        failures = [int(await bar.get_attribute("data-failure") or 0) for bar in bars]
        assert sum(failures) == 2 and len(bars) == 25  # the last 24 hours, hour by hour
        await page.screenshot(path=shots / "console-audit-search.png", full_page=True)

        async with page.expect_download() as download_info:
            await page.click("#export-csv")
        exported = (await (await download_info.value).path()).read_text()
        table = list(csv.DictReader(io.StringIO(exported)))
        assert [(r["action"], r["outcome"], r["subject_user"]) for r in table] == [
            ("login_refused", "failure", target_id)
        ] * 2
        assert all(len(r["hash"]) == 64 for r in table)

        async with page.expect_download() as download_info:
            await page.click("#signed-ndjson")
        signed = (await (await download_info.value).path()).read_text()
        verdict = verify_export(io.StringIO(signed))
        assert verdict.verified and verdict.user == target_id and verdict.events >= 3

        await page.goto(f"{live_server}/console/audit/timeline?user={target}")
        await page.wait_for_selector("section.client")
        assert len(await page.query_selector_all("section.client tr.failure")) == 2
        await page.screenshot(path=shots / "console-user-timeline.png", full_page=True)

        await page.goto(f"{live_server}/console/audit/at?user={target}&at=2099-01-01T00:00")
        await page.wait_for_selector("#scopes")
        await page.screenshot(path=shots / "console-access-as-of.png", full_page=True)

        await page.goto(f"{live_server}/console/integrity")
        await page.click("#verify")
        await page.wait_for_selector("#verdict .badge.success", timeout=30_000)
        await page.screenshot(path=shots / "console-integrity.png", full_page=True)

        await page.goto(f"{live_server}/console/clients")
        assert await page.text_content("h1") == "Not allowed"
    finally:
        await context.close()

    # Each read is on the record as the officer's, through the console client.
    async with authority.pool.acquire() as conn:
        reads = await conn.fetch(
            "SELECT data, metadata FROM events WHERE event_type = 'audit_trail_read'"
            " AND metadata->>'actor_id' = $1",
            officer_id,
        )
    about = [
        r for r in reads if msgspec.json.decode(r["metadata"]).get("subject_user") == target_id
    ]
    queries = [msgspec.json.decode(r["data"])["query"] for r in about]
    # The search, the row export, the signed export, the timeline, access as of.
    assert sorted(queries) == ["events", "export", "export", "point_in_time", "timeline"]


async def _introspect(base: str, introspector: Any, token: str) -> bool:
    async with httpx.AsyncClient(base_url=base) as web:
        answer = await web.post("/oauth/introspect", data={"token": token}, auth=introspector.basic)
    assert answer.status_code == 200, answer.text
    active: bool = answer.json()["active"]
    return active


async def test_an_operator_suspends_a_client_and_its_token_fails_introspection(
    browser: Browser, live_server: str, authority: Authority, make_client: Any, shots: Path
) -> None:
    operator = f"operator-{uuid.uuid4().hex[:6]}"
    operator_id = await console_user(authority, operator, "operator")
    workspace = await create_workspace(authority, "Acme", operator_id, Metadata(actor="user"))
    keys = {
        days: await create_api_key(
            authority,
            workspace,
            operator_id,
            name=f"key of {days} days",
            scopes=("read",),
            days=days,
            metadata=Metadata(actor="user"),
        )
        for days in (5, 60)
    }
    service = await make_client()
    introspector = await make_client(scopes=("keyledger:introspect",))
    async with httpx.AsyncClient(base_url=live_server) as web:
        issued = await web.post(
            "/oauth/token", data={"grant_type": "client_credentials"}, auth=service.basic
        )
    token = issued.json()["access_token"]
    assert await _introspect(live_server, introspector, token)

    context = await browser.new_context()
    page = await context.new_page()
    try:
        await sign_in(page, live_server, operator)
        assert await page.query_selector('a[href="/console/audit"]') is None  # no compliance
        await page.click('a[href="/console/clients"]')
        await page.click(f'a[href="/console/clients/{service.client_id}"]')
        assert await page.get_attribute("#status .badge", "data-status") == "active"
        await page.screenshot(path=shots / "console-client.png", full_page=True)
        # A reason is required: the browser refuses the empty field (no request is sent).
        await page.click("#do-suspend")
        assert await page.get_attribute("#status .badge", "data-status") == "active"
        await page.fill("#reason-suspend", "secret found in a public repository")
        await page.click("#do-suspend")
        await page.wait_for_selector("#notice")
        suspended_at = time.monotonic()
        assert await page.get_attribute("#status .badge", "data-status") == "suspended"
        assert not await _introspect(live_server, introspector, token)

        await page.goto(f"{live_server}/console/status")
        await _reload_until(page, f'#revocations td:has-text("{service.client_id}")', 1)
        await page.screenshot(path=shots / "console-status.png", full_page=True)
        await page.goto(f"{live_server}/console/keys")
        await page.click("#rotate-keys")
        await page.wait_for_selector("#notice")
        await page.screenshot(path=shots / "console-keys.png", full_page=True)
        await page.goto(f"{live_server}/console/workspaces")
        for days, highlighted in ((5, "warning"), (60, None)):
            listed = page.locator(f'#api-keys tr:has-text("{keys[days].key_id}")')
            assert await listed.get_attribute("class") == highlighted
        await page.screenshot(path=shots / "console-workspaces.png", full_page=True)

        await page.goto(f"{live_server}/console/clients/{service.client_id}")
        await page.fill("#reason-reinstate", "secret rotated, repository cleaned")
        await page.click("#do-reinstate")
        await page.wait_for_selector("#notice")
        await page.fill("#reason-rotate-secret", "rotation after the incident")
        await page.click("#do-rotate-secret")
        secret = await page.text_content("#secret") or ""
        assert secret.startswith("kls_")
    finally:
        await context.close()
    assert page.url.endswith(f"/console/clients/{service.client_id}/rotate-secret")
    assert not await _introspect(live_server, introspector, token)  # issued before: still dead
    # A suspension also kills what is issued in the CLIENT_RECORD_TTL after it (DECISIONS 12:
    # processes may hold the client's record that long): a fresh token comes after that.
    window_ends = suspended_at + CLIENT_RECORD_TTL.total_seconds() + 0.2
    await asyncio.sleep(max(0.0, window_ends - time.monotonic()))
    async with httpx.AsyncClient(base_url=live_server) as web:
        fresh = await web.post(
            "/oauth/token", data={"grant_type": "client_credentials"},
            auth=(service.client_id, secret),
        )  # fmt: skip
    assert await _introspect(live_server, introspector, fresh.json()["access_token"])

    async with authority.pool.acquire() as conn:
        logged = await conn.fetch(
            "SELECT event_type, data, metadata FROM events WHERE stream_id = $1"
            " ORDER BY stream_version",
            f"client-{service.client_id}",
        )
    changes = [(r["event_type"], msgspec.json.decode(r["data"]).get("reason")) for r in logged]
    assert changes[1:] == [
        ("client_suspended", "secret found in a public repository"),
        ("client_reinstated", "secret rotated, repository cleaned"),
        ("client_secret_rotated", "rotation after the incident"),
    ]
    for row in logged[1:]:
        metadata = msgspec.json.decode(row["metadata"])
        assert (metadata["actor"], metadata["actor_id"]) == ("admin", operator_id)
    # The secret was shown once, on the page: never in the log.
    async with authority.pool.acquire() as conn:
        leaked = await conn.fetchval(
            "SELECT count(*) FROM events WHERE position(convert_to($1, 'UTF8') IN data) > 0",
            secret,
        )
    assert leaked == 0


async def test_a_user_withdraws_a_consent_and_the_clients_token_is_refused(
    browser: Browser, live_server: str, authority: Authority, make_client: Any, shots: Path
) -> None:
    client_id = await code_client(make_client)
    introspector = await make_client(scopes=("keyledger:introspect",))
    username = f"holder-{uuid.uuid4().hex[:6]}"
    await console_user(authority, username)
    context = await browser.new_context()
    page = await context.new_page()
    try:
        # The application's sign-in, in the browser: login, consent, back with a code.
        await page.route(f"{REDIRECT}**", lambda route: route.fulfill(body="back at the app"))
        await page.goto(f"{live_server}{authorize_url(client_id)}")
        await page.fill("#username", username)
        await page.fill("#password", PASSWORD)
        await page.click("#sign-in")
        await page.click("#approve")
        await page.wait_for_url(f"{REDIRECT}**")
        code = parse_qs(urlsplit(page.url).query)["code"][0]
        async with httpx.AsyncClient(base_url=live_server) as web:
            issued = (await exchange_code(web, client_id, code)).json()
        assert await _introspect(live_server, introspector, issued["access_token"])

        await page.goto(f"{live_server}/account")
        await page.fill("#username", username)
        await page.fill("#password", PASSWORD)
        await page.click("#sign-in")
        app = f'section[data-client="{client_id}"]'
        await _reload_until(page, app, 1)
        await page.screenshot(path=shots / "account.png", full_page=True)
        await page.click(f"{app} button.disconnect")
        await page.wait_for_selector("#notice")
        assert await page.query_selector(app) is None
        await page.screenshot(path=shots / "account-disconnected.png", full_page=True)
    finally:
        await context.close()
    assert not await _introspect(live_server, introspector, issued["access_token"])
    async with httpx.AsyncClient(base_url=live_server) as web:
        refreshed = await refresh_token(web, client_id, issued["refresh_token"])
    assert refreshed.status_code == 400 and refreshed.json()["error"] == "invalid_grant"
