"""`keyledger workspaces sso set|show|disable` as an operator runs it beside the service: the
provider discovered, the secret read from stdin and never printed, roles checked."""

from __future__ import annotations

import json
import uuid

import httpx
import pytest

from tests.e2e.connections.harness import cli
from tests.e2e.connections.sso.company import Keyledger

pytestmark = pytest.mark.asyncio


async def test_an_operator_sets_shows_and_disables_a_workspace_sso_from_the_cli(
    keyledger: Keyledger,
) -> None:
    async with httpx.AsyncClient(base_url=keyledger.base, timeout=20) as web:
        made = await web.post("/workspaces", json={"name": "cli co"}, headers=keyledger.admin)
    workspace_id = made.json()["workspace_id"]
    client_id, secret = await keyledger.upstream_client()
    domain = f"cli-{uuid.uuid4().hex[:8]}.example"
    by = keyledger.admin_username

    code, out, err = await cli(
        keyledger.settings, "workspaces", "sso", "set", workspace_id, "--by", by, "--issuer",
        keyledger.upstream.base, "--client-id", client_id, "--client-secret-stdin", "--domain",
        domain, "--claim", "email=preferred_username", "--scope", "openid", "--scope",
        "profile", "--trust-email", "--required", "--json", stdin=secret + "\n",
    )  # fmt: skip
    assert code == 0, err
    view = json.loads(out)
    assert view["token_endpoint"] == f"{keyledger.upstream.base}/oauth/token"  # discovered
    assert view["has_client_secret"] is True and view["required"] is True
    assert view["allowed_domains"] == [domain] and secret not in out + err
    assert view["claims"]["email"] == "preferred_username"

    code, out, _ = await cli(keyledger.settings, "workspaces", "sso", "show", workspace_id)
    assert code == 0 and f"domains: {domain}" in out and secret not in out

    stranger = f"stranger-{uuid.uuid4().hex[:6]}"
    await keyledger.local_user(stranger)
    code, _, err = await cli(
        keyledger.settings, "workspaces", "sso", "disable", workspace_id, "--by", stranger
    )
    assert code == 1 and "not a member" in err

    code, out, err = await cli(
        keyledger.settings, "workspaces", "sso", "disable", workspace_id, "--by", by, "--json"
    )
    assert code == 0, err
    assert json.loads(out) == {"workspace_id": workspace_id, "disabled": True}
    code, _, err = await cli(keyledger.settings, "workspaces", "sso", "show", workspace_id)
    assert code == 1 and "no single sign-on" in err

    code, _, err = await cli(
        keyledger.settings, "workspaces", "sso", "set", workspace_id, "--by", by, "--issuer",
        keyledger.upstream.base, "--client-id", client_id, "--domain", domain, "--claim", "oops",
    )  # fmt: skip
    assert code == 2 and "FACT=CLAIM" in err
