"""The Litestar application and its wiring: the one place the API's handles are built."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import structlog
from litestar import Litestar
from litestar.datastructures import State
from litestar.exceptions import HTTPException

from infra.config import Settings, load_settings
from infra.logging import configure_logging
from infra.nats_bus import ConnectingBus
from infra.postgres.notify import Notifier
from infra.postgres.outage import OUTAGE_ERRORS, is_outage
from infra.postgres.pool import create_request_pool
from services.api.audit import audit_router
from services.api.connections import connection_router
from services.api.console import console_router
from services.api.errors import http_exception_handler, refused_handler
from services.api.fast_lane import FastLane
from services.api.health import HealthController
from services.api.management import management_router
from services.api.metrics import metrics
from services.api.oauth.consents import withdraw_consent
from services.api.oauth.introspection import introspect_token
from services.api.oauth.metadata import jwks, openid_configuration, server_metadata
from services.api.oauth.params import MAX_BODY
from services.api.oauth.revocation import revoke_by_id, revoke_token
from services.api.oauth.token import issue_token
from services.api.oauth.userinfo import userinfo, userinfo_post
from services.api.openapi import openapi_config
from services.api.outage import outage_handler
from services.api.pages.account import (
    account,
    account_sign_in,
    disconnect,
    report_access,
    sign_out,
)
from services.api.pages.authorize import authorize, consent, sign_in_page
from services.api.pages.sso import sso_callback
from services.api.request_id import RequestIdMiddleware
from services.api.workspaces import current_api_key, workspace_router
from services.authority import open_authority
from services.connections.connector import open_connector
from services.refusals import Refused

__all__ = ["create_app"]

log = structlog.get_logger(__name__)


async def _log_exception(exception: BaseException, _scope: object) -> None:
    if isinstance(exception, Refused | HTTPException) or is_outage(exception):
        return  # an answer to the caller, not a fault (an outage is logged as such)
    log.error("unhandled_exception", exc_info=exception)


def create_app(settings: Settings | None = None) -> Litestar:
    """Build the app; with no argument, settings come from the environment (server workers)."""
    settings = settings or load_settings()
    if settings.database_url is None or settings.nats_url is None:
        raise RuntimeError("the API needs resolved database and NATS URLs (see services.cli)")
    database_url, nats_url = settings.database_url, settings.nats_url

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        pool = await create_request_pool(database_url, settings.db_pool_size)
        # Only /readyz looks at NATS: requests never wait for it, nor does starting.
        bus = ConnectingBus(
            nats_url, stream=settings.nats_stream, prefix=settings.subject_prefix,
            name="keyledger-api",
        )  # fmt: skip
        notifier = Notifier(pool)
        authority = await open_authority(settings, pool, wake=notifier)
        connector = open_connector(settings, pool, authority.store)
        app.state.update(
            settings=settings,
            pool=pool,
            bus=bus,
            notifier=notifier,
            store=authority.store,
            authority=authority,
            connector=connector,
        )
        key_refresh = asyncio.create_task(authority.refresh_keys_forever())
        try:
            yield
        finally:
            key_refresh.cancel()
            await connector.close()
            await notifier.close()
            await bus.close()
            await pool.close()

    configure_logging(settings.log_format, settings.log_level)
    app = Litestar(
        route_handlers=[
            HealthController,
            metrics,
            issue_token,
            introspect_token,
            revoke_token,
            revoke_by_id,
            withdraw_consent,
            server_metadata,
            openid_configuration,
            jwks,
            userinfo,
            userinfo_post,
            authorize,
            sign_in_page,
            consent,
            sso_callback,
            account,
            account_sign_in,
            disconnect,
            report_access,
            sign_out,
            management_router(),
            audit_router(),
            workspace_router(),
            current_api_key,
            connection_router(),
            console_router(),
        ],
        exception_handlers={
            Refused: refused_handler,
            HTTPException: http_exception_handler,
            **dict.fromkeys(OUTAGE_ERRORS, outage_handler),
        },
        # Bodies are refused while they stream in, not after 10 MB were read.
        request_max_body_size=MAX_BODY,
        openapi_config=openapi_config(),
        lifespan=[lifespan],
        state=State({}),
        middleware=[RequestIdMiddleware],
        # No per-request access log (bodies never); unexpected errors are logged here once.
        logging_config=None,
        after_exception=[_log_exception],
        debug=False,
    )
    app.asgi_handler = FastLane(app.asgi_handler, [issue_token, introspect_token])
    return app
