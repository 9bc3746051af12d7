"""`keyledger serve` speaks RSGI: the hot endpoints answered directly, every other route through
the ASGI translation. What a client meets must be what the in-process ASGI app answers."""

from __future__ import annotations

import json
from typing import Any

import httpx

from services.api.oauth.params import MAX_BODY
from tests.e2e.conftest import wait_for

Make = Any  # the make_client fixture's factory


async def test_the_fast_path_answers_as_the_asgi_route_does(
    live_server: str, make_client: Make
) -> None:
    client = await make_client(scopes=("read",))
    async with httpx.AsyncClient(base_url=live_server, auth=client.basic) as http:
        issued = await http.post(
            "/oauth/token",
            data={"grant_type": "client_credentials", "scope": "read"},
            headers={"X-Request-Id": "rsgi-check-1"},
        )
        assert issued.status_code == 200, issued.text
        assert issued.headers["x-request-id"] == "rsgi-check-1"
        assert issued.headers["cache-control"] == "no-store"
        token = issued.json()["access_token"]

        # JSON bodies too, and introspection on its second path.
        seen = await http.post("/oauth/token/introspect", json={"token": token})
        assert seen.json()["active"] is True and seen.json()["client_id"] == client.client_id

        wrong_method = await http.get("/oauth/token")
        assert wrong_method.status_code == 405 and wrong_method.headers["allow"] == "POST"
        assert wrong_method.json()["error"] == "invalid_request"

        secret_in_url = await http.post(
            "/oauth/token", params={"client_secret": "x"}, data={"grant_type": "password"}
        )
        assert secret_in_url.status_code == 400

        too_large = await http.post(
            "/oauth/token",
            content=b"grant_type=client_credentials&scope=" + b"a" * MAX_BODY,
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert too_large.status_code == 413
        assert too_large.json()["error_code"] == "request_too_large"

        # A request id that is not sane is replaced, not echoed.
        odd = await http.post(
            "/oauth/introspect", data={"token": token}, headers={"X-Request-Id": "a b"}
        )
        assert odd.headers["x-request-id"] != "a b" and len(odd.headers["x-request-id"]) == 32


async def test_other_routes_keep_their_query_cookies_and_streams_through_the_translation(
    live_server: str, make_client: Make
) -> None:
    async with httpx.AsyncClient(base_url=live_server) as http:
        # Percent-encoded, non-ASCII query values reach Litestar decoded once, not twice.
        page = await http.get("/oauth/authorize", params={"client_id": "é%20x", "lang": "fr"})
        assert page.status_code == 400
        assert page.headers["content-type"].startswith("text/html")
        assert 'lang="fr"' in page.text

        missing = await http.get("/no/such/route")
        assert missing.status_code == 404 and missing.json()["error"] == "not_found"

        # A streamed answer (the audit export) arrives whole, line by line.
        auditor = await make_client(scopes=("audit:read",))
        granted = await http.post(
            "/oauth/token",
            data={"grant_type": "client_credentials", "scope": "audit:read"},
            auth=auditor.basic,
        )
        bearer = {"Authorization": f"Bearer {granted.json()['access_token']}"}
        rows: list[dict[str, Any]] = []

        async def exported() -> bool:  # once the audit trail has the issue, as the worker projects
            answer = await http.get(
                "/audit/export", params={"client": auditor.client_id}, headers=bearer
            )
            assert answer.status_code == 200, answer.text
            assert answer.headers["content-type"] == "application/x-ndjson"
            rows[:] = [json.loads(line) for line in answer.text.splitlines() if line]
            return bool(rows)

        await wait_for(exported, timeout=15)
        assert {row["client_id"] for row in rows} == {auditor.client_id}
        assert "access_token_issued" in {row["action"] for row in rows}
