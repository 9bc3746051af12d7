"""The reader of personal values keyledger's own processes use, on the suite's master key."""

from __future__ import annotations

import asyncpg

from infra.config import Settings
from infra.crypto.personal_data import PersonalData
from services.authority import open_sealer
from tests.conftest import TEST_MASTER_KEY

__all__ = ["reader"]


def reader(pool: asyncpg.Pool) -> PersonalData:
    """What projects the log as the worker does: sealed values opened, erased ones redacted."""
    return PersonalData(pool, open_sealer(Settings(master_key=TEST_MASTER_KEY)))
