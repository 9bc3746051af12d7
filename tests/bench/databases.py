"""A fresh, migrated database for a benchmark run: embedded, or on KEYLEDGER_DATABASE_URL."""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from infra.embedded import EmbeddedPostgres
from services.servers import prepare_database

__all__ = ["bench_database"]


def _with_database(url: str, database: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{database}"))


async def _admin(admin_url: str, statement: str) -> None:
    conn = await asyncpg.connect(admin_url)
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


@contextlib.asynccontextmanager
async def bench_database(workdir: Path, run: str) -> AsyncIterator[str]:
    """A migrated database, dropped (or its embedded server deleted) afterwards."""
    admin_url = os.environ.get("KEYLEDGER_DATABASE_URL")
    if not admin_url:
        server = EmbeddedPostgres(workdir / "pg", cleanup="delete")
        try:
            url = server.start("keyledger")
            await prepare_database(url)
            yield url
        finally:
            server.stop()
        return
    name = f"klbench_{run}"
    await _admin(admin_url, f'CREATE DATABASE "{name}"')
    try:
        url = _with_database(admin_url, name)
        await prepare_database(url)
        yield url
    finally:
        await _admin(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
