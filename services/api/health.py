"""Liveness and readiness probes."""

from __future__ import annotations

import asyncpg
import msgspec
from litestar import Controller, Response, get
from litestar.datastructures import State

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
        postgres, lag = True, None
        try:
            async with state.pool.acquire(timeout=2) as conn:
                lag = (await projection_status(conn, RELAY_CHECKPOINT)).lag_seconds
        except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError):
            postgres = False
        nats = state.bus.nc.is_connected
        ready = postgres and nats
        body = Readiness("ready" if ready else "unavailable", postgres, nats, lag)
        return Response(body, status_code=200 if ready else 503)
