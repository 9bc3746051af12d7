"""The Litestar application and its wiring: the one place the API's handles are built."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
import structlog
from litestar import Litestar
from litestar.datastructures import State

from infra.config import Settings, load_settings
from infra.logging import configure_logging
from infra.nats_bus import EventBus
from infra.postgres.event_store import EventStore
from infra.postgres.notify import Notifier
from services.api.health import HealthController
from services.api.metrics import metrics
from services.api.request_id import RequestIdMiddleware

__all__ = ["create_app"]

log = structlog.get_logger(__name__)


async def _log_exception(exception: BaseException, _scope: object) -> None:
    log.error("unhandled_exception", exc_info=exception)


def create_app(settings: Settings | None = None) -> Litestar:
    """Build the app; with no argument, settings come from the environment (server workers)."""
    settings = settings or load_settings()
    if settings.database_url is None or settings.nats_url is None:
        raise RuntimeError("the API needs resolved database and NATS URLs (see services.cli)")
    database_url, nats_url = settings.database_url, settings.nats_url

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        pool = await asyncpg.create_pool(database_url, min_size=2, max_size=settings.db_pool_size)
        bus = await EventBus.connect(
            nats_url, stream=settings.nats_stream, prefix=settings.subject_prefix,
            name="keyledger-api",
        )  # fmt: skip
        notifier = Notifier(pool)
        app.state.update(
            settings=settings,
            pool=pool,
            bus=bus,
            notifier=notifier,
            store=EventStore(pool, on_commit=notifier.poke),
        )
        try:
            yield
        finally:
            await notifier.close()
            await bus.close()
            await pool.close()

    configure_logging(settings.log_format, settings.log_level)
    return Litestar(
        route_handlers=[HealthController, metrics],
        lifespan=[lifespan],
        state=State({}),
        middleware=[RequestIdMiddleware],
        # No per-request access log (bodies never); unexpected errors are logged here once.
        logging_config=None,
        after_exception=[_log_exception],
        debug=False,
    )
