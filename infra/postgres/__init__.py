"""PostgreSQL adapters: the event store, checkpoints, migrations."""

from __future__ import annotations

from typing import TypeAlias

import asyncpg
from asyncpg.pool import PoolConnectionProxy

__all__ = ["Connection"]

# A connection of our own or one borrowed from a pool: both run queries alike.
Connection: TypeAlias = "asyncpg.Connection[asyncpg.Record] | PoolConnectionProxy[asyncpg.Record]"
