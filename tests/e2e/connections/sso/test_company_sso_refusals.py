"""What company single sign-on refuses, and records: a tampered state, a callback carried to
another browser, an ID token for another nonce, a person of a domain the company does not
allow, an email the provider does not vouch for; and passwords, once SSO is mandatory.

The browser is httpx with a cookie jar and no scripts, on the served keyledger's pages and
the provider's (the upstream keyledger of this directory).
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest

from tests.e2e.connections.harness import PASSWORD
from tests.e2e.connections.sso.company import Company, Keyledger, hidden

pytestmark = pytest.mark.asyncio


@pytest.fixture(scope="module")
async def company(keyledger: Keyledger) -> Company:
    return await keyledger.company()


def _with(location: str, **changes: str) -> str:
    parts = urlsplit(location)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()} | changes
    return parts._replace(query=urlencode(query)).geturl()


async def test_a_tampered_state_or_a_callback_in_another_browser_is_refused_and_recorded(
    keyledger: Keyledger, company: Company
) -> None:
    email = await keyledger.upstream_person(company.email("mallory"))
    before = len(await keyledger.refusals("sso_state_mismatch"))
    async with httpx.AsyncClient(timeout=20) as web:
        location = await keyledger.via_provider(web, email)
        tampered = await web.get(_with(location, state="x" * 43))
        assert tampered.status_code == 400
        assert "did not start in this browser" in tampered.text
        assert "kl_sso=" in tampered.headers.get("set-cookie", "")  # the flow is spent
        assert await keyledger.users_named(email) == []

    async with httpx.AsyncClient(timeout=20) as attacker, httpx.AsyncClient(timeout=20) as victim:
        # Login CSRF: the attacker's own callback, handed to a victim's browser (in French).
        location = await keyledger.via_provider(attacker, email)
        carried = await victim.get(location, params={"lang": "fr"})
        assert carried.status_code == 400
        assert '<html lang="en">' in carried.text  # no flow of the victim's: no language
        assert await keyledger.users_named(email) == []
    refused = (await keyledger.refusals("sso_state_mismatch"))[before:]
    assert len(refused) == 2
    assert all(r["method"] == "sso" and r["user_id"] is None for r in refused)
    assert refused[0]["metadata"].get("workspace_id") == company.workspace_id
    assert refused[1]["metadata"].get("workspace_id") is None


async def test_an_id_token_for_another_nonce_is_refused_and_recorded(
    keyledger: Keyledger, company: Company
) -> None:
    email = await keyledger.upstream_person(company.email("injected"))
    async with httpx.AsyncClient(timeout=20) as web:
        # The provider is asked with another nonce: the ID token it signs is not this flow's.
        location = await keyledger.via_provider(web, email, tamper={"nonce": "not-this-flows"})
        answer = await web.get(location)
    assert answer.status_code == 400
    assert "cannot be trusted" in answer.text
    assert await keyledger.users_named(email) == []
    refused = await keyledger.refusals("sso_id_token_invalid")
    assert refused and refused[-1]["metadata"].get("workspace_id") == company.workspace_id


async def test_a_person_of_a_domain_the_company_does_not_allow_is_refused_and_recorded(
    keyledger: Keyledger, company: Company
) -> None:
    outsider = await keyledger.upstream_person("carol@elsewhere.example")
    async with httpx.AsyncClient(timeout=20) as web:
        # Sent off as one of the company's people; the provider signs someone else in.
        location = await keyledger.via_provider(web, company.email("alice"), person=outsider)
        answer = await web.get(location)
    assert answer.status_code == 403
    assert "does not allow here" in answer.text
    assert await keyledger.users_named(outsider) == []
    assert (await keyledger.refusals("sso_domain_not_allowed"))[-1]["method"] == "sso"


async def test_an_existing_account_is_not_linked_by_an_email_the_provider_does_not_vouch_for(
    keyledger: Keyledger,
) -> None:
    unverified = await keyledger.company(trust_email=False)
    email = unverified.email("dave")
    local = await keyledger.local_user(email)  # someone registered that name here already
    await keyledger.upstream_person(email)
    async with httpx.AsyncClient(timeout=20) as web:
        answer = await web.get(await keyledger.via_provider(web, email))
    assert answer.status_code == 400
    assert "does not vouch for your email" in answer.text
    refused = (await keyledger.refusals("sso_email_unverified"))[-1]
    assert refused["user_id"] == local
    linked = [r for r in await keyledger.events("sso_identity_linked") if local in r["stream_id"]]
    assert linked == []
    assert await keyledger.users_named(email) == [local]


async def test_mandatory_sso_refuses_passwords_except_for_service_accounts(
    keyledger: Keyledger,
) -> None:
    mandatory = await keyledger.company(required=True)
    person = mandatory.email("erin")
    await keyledger.local_user(person)
    robot = await keyledger.local_user(mandatory.email("robot"), service_account=True)
    before = len(await keyledger.refusals("sso_required"))

    grant = await keyledger.password_grant(person)
    assert grant.status_code == 400
    assert (grant.json()["error"], grant.json()["error_code"]) == ("invalid_grant", "sso_required")
    async with keyledger.pool.acquire() as conn:
        robot_username = await conn.fetchval("SELECT username FROM users WHERE user_id = $1", robot)
    assert (await keyledger.password_grant(robot_username)).status_code == 200

    async with httpx.AsyncClient(base_url=keyledger.base, timeout=20) as web:
        for lang, says in (("en", "its own sign-in page"), ("fr", "sa propre page de connexion")):
            login = await web.get(keyledger.authorize_url(lang=lang))
            form = {"request": hidden(login.text, "request"), "csrf": hidden(login.text, "csrf"),
                    "username": person, "password": PASSWORD}  # fmt: skip
            refused = await web.post("/oauth/authorize/login", data=form)
            assert refused.status_code == 400 and says in refused.text
            assert 'id="sign-in-sso"' in refused.text
    recorded = (await keyledger.refusals("sso_required"))[before:]
    assert [r["method"] for r in recorded] == ["password_grant", "page", "page"]

    # Once SSO is disabled, the company's people use their passwords again.
    disabled = await httpx.AsyncClient(base_url=keyledger.base).delete(
        f"/workspaces/{mandatory.workspace_id}/sso", headers=keyledger.admin
    )
    assert disabled.status_code == 204
    assert (await keyledger.password_grant(person)).status_code == 200


async def test_workspace_sso_is_managed_by_owners_and_admins_and_never_shows_the_secret(
    keyledger: Keyledger, company: Company
) -> None:
    async with httpx.AsyncClient(base_url=keyledger.base, timeout=20) as web:
        shown = await web.get(f"/workspaces/{company.workspace_id}/sso", headers=keyledger.admin)
        assert shown.status_code == 200
        view = shown.json()
        assert view["has_client_secret"] is True and company.client[1] not in shown.text
        assert view["allowed_domains"] == [company.domain]
        assert view["claims"]["email"] == "preferred_username"
        taken = await web.put(
            f"/workspaces/{(await keyledger.company()).workspace_id}/sso",
            json={"issuer": keyledger.upstream.base, "client_id": company.client[0],
                  "client_secret": "s3cret-value", "allowed_domains": [company.domain]},
            headers=keyledger.admin,
        )  # fmt: skip
        assert (taken.status_code, taken.json()["error_code"]) == (409, "conflict")
        bad = await web.put(
            f"/workspaces/{company.workspace_id}/sso",
            json={"issuer": keyledger.upstream.base, "client_id": "c", "allowed_domains": []},
            headers=keyledger.admin,
        )
        assert (bad.status_code, bad.json()["error"]) == (400, "invalid_request")
        stranger = await web.get("/workspaces/unknown/sso", headers=keyledger.admin)
        assert stranger.status_code == 403
    async with keyledger.pool.acquire() as conn:
        rows = await conn.fetch("SELECT data FROM events WHERE event_type = 'sso_configured'")
    assert all(company.client[1].encode() not in bytes(r["data"]) for r in rows)
    assert all(b"s3cret-value" not in bytes(r["data"]) for r in rows)


async def test_a_response_naming_another_issuer_is_refused_as_a_mix_up(
    keyledger: Keyledger, company: Company
) -> None:
    email = await keyledger.upstream_person(company.email("mixed"))
    async with httpx.AsyncClient(timeout=20) as web:
        location = await keyledger.via_provider(web, email)
        answer = await web.get(_with(location, iss="https://evil.example"))
    assert answer.status_code == 400
    assert "did not come from your company&#x27;s sign-in service" in answer.text
    assert await keyledger.users_named(email) == []
    assert (await keyledger.refusals("sso_issuer_mismatch"))[-1]["metadata"].get(
        "workspace_id"
    ) == company.workspace_id
