"""Versioned SQL migrations, applied in order, each once, under an advisory lock."""

from __future__ import annotations

import importlib.resources
from typing import Final

from infra.postgres import Connection

__all__ = ["MIGRATIONS_LOCK", "migrate", "pending_migrations"]

# Any constant: serialises concurrent migrators (several replicas starting at once).
MIGRATIONS_LOCK: Final = 0x6B6C_6D69  # "klmi"

_CREATE_LEDGER = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version    text        PRIMARY KEY,
    applied_at timestamptz NOT NULL DEFAULT now()
)
"""


def _migration_files() -> list[tuple[str, str]]:
    folder = importlib.resources.files("infra.postgres") / "migrations"
    files = sorted(
        (entry.name, entry.read_text(encoding="utf-8"))
        for entry in folder.iterdir()
        if entry.name.endswith(".sql")
    )
    return [(name.removesuffix(".sql"), sql) for name, sql in files]


async def pending_migrations(conn: Connection) -> list[str]:
    await conn.execute(_CREATE_LEDGER)
    applied = {row["version"] for row in await conn.fetch("SELECT version FROM schema_migrations")}
    return [name for name, _ in _migration_files() if name not in applied]


async def migrate(conn: Connection) -> list[str]:
    """Apply what is missing; returns the versions applied by this call (idempotent)."""
    await conn.execute("SELECT pg_advisory_lock($1)", MIGRATIONS_LOCK)
    try:
        await conn.execute(_CREATE_LEDGER)
        applied = {
            row["version"] for row in await conn.fetch("SELECT version FROM schema_migrations")
        }
        done: list[str] = []
        for version, sql in _migration_files():
            if version in applied:
                continue
            async with conn.transaction():
                await conn.execute(sql)
                await conn.execute("INSERT INTO schema_migrations (version) VALUES ($1)", version)
            done.append(version)
        return done
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", MIGRATIONS_LOCK)
