"""Prometheus metrics: how far each log follower (relay, projections, checkpointer) lags."""

from __future__ import annotations

from litestar import MediaType, Response, get
from litestar.datastructures import State

from infra.postgres.audit_checkpoints import CHECKPOINTER
from projections import ASYNC
from services.projector import projection_status
from services.relay import RELAY_CHECKPOINT

__all__ = ["metrics"]


@get("/metrics", media_type=MediaType.TEXT)
async def metrics(state: State) -> Response[str]:
    async with state.pool.acquire(timeout=2) as conn:
        statuses = [
            await projection_status(conn, name)
            for name in (RELAY_CHECKPOINT, *(p.name for p in ASYNC), CHECKPOINTER)
        ]
    lines = [
        "# HELP keyledger_follower_lag_seconds Age of the oldest event a follower has not applied.",
        "# TYPE keyledger_follower_lag_seconds gauge",
        *(
            f'keyledger_follower_lag_seconds{{follower="{s.name}"}} {s.lag_seconds}'
            for s in statuses
        ),
        "# HELP keyledger_follower_position Global position of a follower's checkpoint.",
        "# TYPE keyledger_follower_position gauge",
        *(
            f'keyledger_follower_position{{follower="{s.name}"}} {s.checkpoint_position}'
            for s in statuses
        ),
        "# HELP keyledger_log_position Highest global position in the log.",
        "# TYPE keyledger_log_position gauge",
        f"keyledger_log_position {max((s.last_position for s in statuses), default=0)}",
    ]
    return Response("\n".join(lines) + "\n", media_type="text/plain; version=0.0.4")
