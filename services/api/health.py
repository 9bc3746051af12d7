"""Liveness and readiness probes."""

from __future__ import annotations

import msgspec
from litestar import Controller, Response, get
from litestar.datastructures import State

from infra.postgres.outage import OUTAGE_ERRORS
from services.api.errors import RETRY_AFTER_S
from services.projector import projection_status
from services.relay import RELAY_CHECKPOINT

__all__ = ["HealthController", "Readiness"]


class Readiness(msgspec.Struct, frozen=True):
    status: str
    postgres: bool
    nats: bool
    # Seconds the oldest unpublished event has waited for the relay; None if unknown.
    relay_lag_seconds: float | None


class HealthController(Controller):
    path = "/"

    @get("/healthz")
    async def healthz(self) -> dict[str, str]:
        return {"status": "ok"}

    @get("/readyz")
    async def readyz(self, state: State) -> Response[Readiness]:
        """Ready when PostgreSQL answers: every request needs it. NATS is reported, not
        required: requests never wait for it (the relay catches up when it returns)."""
        postgres, lag = True, None
        try:
            async with state.pool.acquire(timeout=2) as conn:
                lag = (await projection_status(conn, RELAY_CHECKPOINT)).lag_seconds
        except OUTAGE_ERRORS:
            postgres = False
        nats = state.bus.connected
        if postgres:
            return Response(Readiness("ready", postgres, nats, lag))
        body = Readiness("unavailable", postgres, nats, lag)
        return Response(body, status_code=503, headers={"Retry-After": str(RETRY_AFTER_S)})
