"""The probes of the real HTTP app, against the real servers."""

from __future__ import annotations

from litestar.testing import AsyncTestClient

from infra.config import Settings
from services.api.app import create_app


async def test_probes_report_live_and_ready_with_a_request_id(settings: Settings) -> None:
    async with AsyncTestClient(app=create_app(settings)) as client:
        live = await client.get("/healthz")
        ready = await client.get("/readyz", headers={"X-Request-Id": "probe-1"})
        metrics = await client.get("/metrics")

    assert live.status_code == 200
    assert live.json() == {"status": "ok"}
    assert ready.status_code == 200
    body = ready.json()
    assert (body["status"], body["postgres"], body["nats"]) == ("ready", True, True)
    assert ready.headers["x-request-id"] == "probe-1"
    assert live.headers["x-request-id"] != "probe-1"
    assert metrics.status_code == 200
    assert 'keyledger_follower_lag_seconds{follower="audit_trail"}' in metrics.text
    assert 'keyledger_follower_lag_seconds{follower="relay"}' in metrics.text
