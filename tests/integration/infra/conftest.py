"""Fixtures of the infrastructure tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import pytest

from infra.config import Settings


@pytest.fixture
async def fresh_pool(fresh_settings: Settings) -> AsyncIterator[asyncpg.Pool]:
    """A pool on a database of the test's own (`fresh_settings`)."""
    assert fresh_settings.database_url is not None
    async with asyncpg.create_pool(fresh_settings.database_url, min_size=2, max_size=8) as pool:
        yield pool
