"""No secret of a company sign-in rests anywhere in clear: the provider's client secret, its
authorization code, the person's password at the provider, keyledger's own code, tokens,
cookies and page tokens are looked for in the served keyledger's whole log output and in
every row of its database (events decoded)."""

from __future__ import annotations

import re

import httpx
import pytest

from tests.e2e.connections.harness import PASSWORD
from tests.e2e.connections.sso.company import Keyledger, hidden
from tests.e2e.secrets_scan import Secrets, database_texts, leaks

pytestmark = pytest.mark.asyncio


async def test_no_secret_of_a_company_sign_in_rests_anywhere_in_clear(
    keyledger: Keyledger,
) -> None:
    company = await keyledger.company()
    email = await keyledger.upstream_person(company.email("hygiene"))
    secrets = Secrets()
    secrets.add("the provider's client secret", company.client[1])
    secrets.add("the password at the provider", PASSWORD)
    async with httpx.AsyncClient(
        timeout=20, event_hooks={"response": [secrets.from_response]}
    ) as web:
        location = await keyledger.via_provider(web, email)
        consent = await web.get(location)
        assert consent.status_code == 200, consent.text
        form = {"request": hidden(consent.text, "request"), "csrf": hidden(consent.text, "csrf"),
                "decision": "approve"}  # fmt: skip
        approved = await web.post(f"{keyledger.base}/oauth/authorize/consent", data=form)
        assert approved.status_code == 303, approved.text
        code = re.search(r"[?&]code=([^&]+)", approved.headers["location"])
        assert code is not None
        tokens = await keyledger.exchange(code.group(1))
    secrets.found.pop('""', None)  # the spent flow cookie, cleared
    for name in ("access_token", "id_token"):
        secrets.add(name, tokens[name])
    found = set(secrets.found.values())
    assert {"authorization code", "cookie kl_sso", "cookie kl_session", "page csrf"} <= found

    async with keyledger.pool.acquire() as conn:
        tables = await database_texts(conn)
    server_log = keyledger.log_path.read_text(encoding="utf-8", errors="replace")
    assert company.workspace_id in server_log  # the log was written, and is read
    # The dump holds the log (its provisioning), the person's email only sealed there.
    assert any("sso_user_provisioned" in row for row in tables["events (decoded)"])
    assert not any(email in row for row in tables["events (decoded)"])
    everything = {"server log": [server_log], **tables}
    leaked = {where: leaks(secrets, texts) for where, texts in everything.items()}
    assert {where: what for where, what in leaked.items() if what} == {}
