"""Driving the console in Chromium: signing in through the authorization pages, screenshots."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from playwright.async_api import Page

from schemas.envelope import Metadata
from schemas.events.console_role import ConsoleRole
from services.authority import Authority
from services.console_roles import change_role
from services.users import create_user

PASSWORD = "console pass phrase 42"


def screenshot_dir(factory: pytest.TempPathFactory) -> Path:
    """Where the run keeps its screenshots for a reviewer: `KEYLEDGER_SCREENSHOTS`, else
    under the pytest basetemp (never in the repository)."""
    chosen = os.environ.get("KEYLEDGER_SCREENSHOTS")
    target = Path(chosen) if chosen else factory.getbasetemp() / "console-screenshots"
    target.mkdir(parents=True, exist_ok=True)
    return target


async def console_user(authority: Authority, username: str, *roles: ConsoleRole) -> str:
    user_id = await create_user(authority.store, username, PASSWORD, Metadata(actor="admin"))
    for role in roles:
        await change_role(
            authority, username, role, grant=True, reason="test", metadata=Metadata(actor="admin")
        )
    return user_id


async def sign_in(page: Page, base: str, username: str) -> None:
    """From the console's front page through the login and consent pages, back signed in."""
    await page.goto(f"{base}/console")
    await page.click("#sign-in")
    await page.wait_for_selector("#username")
    await page.fill("#username", username)
    await page.fill("#password", PASSWORD)
    await page.click("#sign-in")
    await page.wait_for_selector("#approve, #sign-out")
    if await page.query_selector("#approve") is not None:
        await page.click("#approve")  # the console asks for `openid` once
    await page.wait_for_selector("#sign-out")
