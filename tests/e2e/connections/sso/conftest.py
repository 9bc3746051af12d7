"""The keyledger companies' people sign in to, served anew for each module here: its
processes and database connections end with the module, not with the whole suite."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from infra.config import Settings
from tests.e2e.connections.conftest import own_database
from tests.e2e.connections.harness import Upstream
from tests.e2e.connections.sso.company import Keyledger, served_keyledger


@pytest.fixture(scope="module")
async def keyledger(
    postgres_admin_url: str, settings: Settings, upstream: Upstream,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[Keyledger]:  # fmt: skip
    """Served on a database of its own; the upstream keyledger is the companies' provider."""
    async with own_database(postgres_admin_url, settings) as own:
        log_dir = tmp_path_factory.mktemp("company-sso")
        async with served_keyledger(own, upstream, log_dir) as served:
            yield served
