"""The web console in Chromium against `keyledger serve`: a compliance officer, an operator.

Each signs in through keyledger's own authorization code flow as the console client; the
served process's worker projects the audit trail the pages read. Screenshots of the main
pages are written where `console_browser.screenshot_dir` says.
"""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest
from playwright.async_api import Browser, Page, async_playwright

from schemas.envelope import Metadata
from services.authority import Authority
from services.export_verifier import verify_export
from services.users import sign_in as check_password
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
    about = [r for r in reads if msgspec.json.decode(r["metadata"]).get("subject_user") == target_id]
    queries = [msgspec.json.decode(r["data"])["query"] for r in about]
    # The search, the row export, the signed export, the timeline.
    assert sorted(queries) == ["events", "export", "export", "timeline"]
