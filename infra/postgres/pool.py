"""Connection pools for request handling."""

from __future__ import annotations

import asyncpg

from infra.postgres import Connection

__all__ = ["create_request_pool"]


async def _keep_session(_conn: Connection) -> None:
    """Request code leaves no session state (only transaction-scoped locks), so the default
    reset (`RESET ALL; UNLISTEN *; ...`, one round trip per release) is skipped. An open
    transaction is still rolled back by asyncpg before this runs."""


async def create_request_pool(url: str, max_size: int) -> asyncpg.Pool:
    return await asyncpg.create_pool(url, min_size=2, max_size=max_size, reset=_keep_session)
