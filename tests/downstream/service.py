"""An example resource server: a small billing API that accepts keyledger's access tokens.

It imports nothing of keyledger's but `schemas` and `infra.resource_server` (the helper), so
it runs where only the client side is installed. Every request but `/healthz` needs a bearer
token; `GET /invoices` needs the `read` scope. Configuration comes from the environment:

    KEYLEDGER_ISSUER=http://127.0.0.1:8000 KEYLEDGER_NATS_URL=nats://127.0.0.1:4222 \\
    DOWNSTREAM_CONSUMER=billing-$(hostname) python -m tests.downstream.service --port 9000

(`KEYLEDGER_NATS_STREAM` and `KEYLEDGER_SUBJECT_PREFIX` as keyledger's, when not the defaults.)
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import Any

import msgspec
from litestar import Litestar, Request, get

from infra.resource_server.access_tokens import AccessTokens, ResourceServerSettings
from infra.resource_server.guard import (
    STATE_KEY,
    BearerTokenMiddleware,
    access_tokens_lifespan,
    require_scope,
)
from schemas.access_token import AccessTokenClaims

__all__ = ["create_app", "settings_from_environment"]


class Invoices(msgspec.Struct, frozen=True):
    user: str | None
    client_id: str
    invoices: list[str]


class Health(msgspec.Struct, frozen=True):
    ready: bool
    revocations: int
    applied: int
    duplicates: int
    last_position: int


def settings_from_environment() -> ResourceServerSettings:
    env = os.environ
    return ResourceServerSettings(
        issuer=env["KEYLEDGER_ISSUER"],
        nats_url=env["KEYLEDGER_NATS_URL"],
        consumer=env.get("DOWNSTREAM_CONSUMER", "billing"),
        nats_stream=env.get("KEYLEDGER_NATS_STREAM", "KEYLEDGER"),
        subject_prefix=env.get("KEYLEDGER_SUBJECT_PREFIX", "keyledger"),
    )


@get("/invoices", guards=[require_scope("read")])
async def invoices(request: Request[AccessTokenClaims, Any, Any]) -> Invoices:
    claims = request.user
    return Invoices(user=claims.user_id, client_id=claims.client_id, invoices=["inv-1", "inv-2"])


@get("/healthz")
async def health(request: Request[Any, Any, Any]) -> Health:
    tokens: AccessTokens = request.app.state[STATE_KEY]
    held = tokens.revocations
    return Health(
        ready=tokens.ready, revocations=len(held), applied=held.applied,
        duplicates=held.duplicates, last_position=held.last_position,
    )  # fmt: skip


def create_app(settings: ResourceServerSettings | None = None) -> Litestar:
    return Litestar(
        route_handlers=[invoices, health],
        middleware=[BearerTokenMiddleware(exclude="^/healthz$")],
        lifespan=[access_tokens_lifespan(settings or settings_from_environment())],
        logging_config=None,
        openapi_config=None,
        debug=False,
    )


def main(argv: Sequence[str] | None = None) -> int:
    # Any ASGI server does; granian is the one at hand here.
    from granian import Granian  # noqa: PLC0415
    from granian.constants import Interfaces  # noqa: PLC0415

    parser = argparse.ArgumentParser(prog="downstream", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9000)
    args = parser.parse_args(argv)
    Granian(
        "tests.downstream.service:create_app", factory=True, interface=Interfaces.ASGI,
        address=args.host, port=args.port, workers=1, log_access=False,
    ).serve()  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
