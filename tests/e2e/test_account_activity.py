"""The account page shows the user their sessions and sign-ins, and a report of access they
do not recognise revokes it at once and records an incident.

Over HTTP against the app in process, with `keyledger serve` beside it: its worker projects
the audit trail the sign-ins and sessions are found through.
"""

# The French texts use the typographic apostrophe, which RUF001 takes for a lookalike.
# ruff: noqa: RUF001

from __future__ import annotations

import re
import uuid
from typing import Any

import httpx
import msgspec

from schemas.envelope import Metadata
from services.authority import Authority
from services.users import create_user
from tests.e2e.authorize_flow import (
    Browsers,
    authorize_url,
    code_client,
    exchange_code,
    hidden,
    login_form,
    redirected,
)
from tests.e2e.conftest import wait_for

PASSWORD = "activity pass phrase 7"


async def _authorize(web: httpx.AsyncClient, client_id: str, username: str) -> dict[str, Any]:
    answer = await web.get(authorize_url(client_id))
    if answer.status_code == 200:  # not signed in at the authorization pages yet
        form = login_form(answer, username, PASSWORD)
        answer = await web.post("/oauth/authorize/login", data=form)
    if answer.status_code != 303:  # the first time: the consent page
        approve = {
            "request": hidden(answer.text, "request"),
            "csrf": hidden(answer.text, "csrf"),
            "decision": "approve",
        }
        answer = await web.post("/oauth/authorize/consent", data=approve)
    tokens: dict[str, Any] = (
        await exchange_code(web, client_id, redirected(answer)["code"])
    ).json()
    return tokens


async def _active(web: httpx.AsyncClient, introspector: Any, token: str) -> bool:
    answer = await web.post("/oauth/introspect", data={"token": token}, auth=introspector.basic)
    active: bool = answer.json()["active"]
    return active


async def _reports(authority: Authority, user_id: str) -> list[dict[str, Any]]:
    async with authority.pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT data FROM events WHERE event_type = 'access_reported'"
            " AND metadata->>'subject_user' = $1 ORDER BY global_position",
            user_id,
        )
    return [msgspec.json.decode(row["data"]) for row in rows]


async def test_a_user_reports_a_session_and_a_sign_in_they_do_not_recognise(
    browsers: Browsers, make_client: Any, authority: Authority, live_server: str
) -> None:
    del live_server  # its worker projects the audit trail
    client_id = await code_client(make_client)
    introspector = await make_client(scopes=("keyledger:introspect",))
    username = f"activity-{uuid.uuid4().hex[:6]}"
    user_id = await create_user(authority.store, username, PASSWORD, Metadata(actor="admin"))
    web = browsers()
    first = await _authorize(web, client_id, username)
    page = await web.get("/account")
    form = {"csrf": hidden(page.text, "csrf"), "lang": "en", "username": username}
    assert (await web.post("/account", data={**form, "password": PASSWORD})).status_code == 303

    async def listed() -> bool:
        text = (await web.get("/account")).text
        return 'class="session"' in text and text.count('class="sign-in success"') >= 2

    await wait_for(listed, timeout=15)
    account = (await web.get("/account")).text
    assert "Active sessions" in account and "Recent sign-ins" in account
    assert "Until you disconnect it. Each access lasts 1 hour" in account
    csrf = hidden(account, "csrf")
    (family,) = re.findall(r'class="session" data-family="([^"]+)"', account)

    # Nothing of the user's, or no token bound to this browser: refused, nothing changes.
    stranger = {"csrf": csrf, "kind": "session", "reference": "not-a-family"}
    assert (await web.post("/account/report", data=stranger)).status_code == 404
    forged = {"csrf": "forged", "kind": "session", "reference": family}
    assert (await web.post("/account/report", data=forged)).status_code == 403
    assert await _active(web, introspector, first["access_token"])

    reported = await web.post(
        "/account/report", data={"csrf": csrf, "kind": "session", "reference": family}
    )
    assert reported.status_code == 303 and "reported=session" in reported.headers["location"]
    confirmed = (await web.get(reported.headers["location"])).text
    assert "That application no longer has this access" in confirmed
    assert not await _active(web, introspector, first["access_token"])
    assert not await _active(web, introspector, first["refresh_token"])

    second = await _authorize(web, client_id, username)
    assert await _active(web, introspector, second["access_token"])
    (sign_in,) = re.findall(r'class="sign-in success" data-event="([^"]+)"', account)[:1]
    answer = await web.post(
        "/account/report", data={"csrf": csrf, "kind": "sign_in", "reference": sign_in}
    )
    assert answer.status_code == 303
    assert not await _active(web, introspector, second["access_token"])  # every token
    assert [(r["kind"], r["reference"]) for r in await _reports(authority, user_id)] == [
        ("session", family),
        ("sign_in", sign_in),
    ]
    french = (await web.get("/account?lang=fr")).text
    assert "Sessions actives" in french and "Connexions récentes" in french
    assert "Ce n’était pas moi" in french
