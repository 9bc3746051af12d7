"""The authorization server's shared handles: store, lookups, keys and secrets, built once."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import asyncpg

from domain.revocation import REVOKING
from infra.config import Settings
from infra.crypto.digests import SecretHasher
from infra.crypto.master_key import derive_key, load_master_key
from infra.crypto.personal_data import PersonalData
from infra.crypto.sealing import Sealer
from infra.postgres.batching import GroupCommit
from infra.postgres.event_store import Wake
from infra.postgres.outage import OUTAGE_ERRORS
from infra.postgres.sealing_store import SealingEventStore
from projections import INLINE_BULK, inline_statements
from services.clients import ClientDirectory
from services.introspection import TokenLookup
from services.keys import KeyRing, ensure_keys, load_keys
from services.rate_limits import RateLimits

__all__ = ["Authority", "master_key", "open_authority", "open_sealer"]

# How often each process looks for rotated signing keys.
KEY_REFRESH_S: Final = 5.0


@dataclass(slots=True)
class Authority:
    settings: Settings
    pool: asyncpg.Pool
    store: SealingEventStore
    group: GroupCommit
    clients: ClientDirectory
    tokens: TokenLookup
    hasher: SecretHasher
    sealer: Sealer
    csrf_key: bytes
    keys: KeyRing
    limits: RateLimits

    @property
    def personal(self) -> PersonalData:
        """The one reader of personal values (and what seals them): schemas/personal_data.py."""
        return self.store.personal

    @property
    def issuer(self) -> str:
        return self.settings.issuer_url

    async def refresh_keys_forever(self) -> None:
        while True:
            await asyncio.sleep(KEY_REFRESH_S)
            # A database outage only delays the refresh; the known keys keep signing.
            with contextlib.suppress(*OUTAGE_ERRORS):
                self.keys = await load_keys(self.pool, self.sealer, known=self.keys)


def master_key(settings: Settings) -> bytes:
    """The service's root secret: KEYLEDGER_MASTER_KEY, or `<data dir>/master.key`."""
    return load_master_key(settings.master_key, Path(settings.data_dir).expanduser() / "master.key")


def open_sealer(settings: Settings) -> Sealer:
    """What opens the sealed signing keys (and seals new ones) under the master key."""
    return Sealer({"k1": derive_key(master_key(settings), "seal:k1")}, current="k1")


async def open_authority(
    settings: Settings, pool: asyncpg.Pool, wake: Wake | None = None
) -> Authority:
    master = master_key(settings)
    sealer = Sealer({"k1": derive_key(master, "seal:k1")}, current="k1")
    store = SealingEventStore(
        pool,
        PersonalData(pool, sealer),
        inline=inline_statements,
        bulk=INLINE_BULK,
        wake=wake,
        urgent=REVOKING,
        partition_size=settings.event_partition_size,
    )
    await ensure_keys(pool, store, sealer)
    group = GroupCommit(store)
    return Authority(
        settings=settings,
        pool=pool,
        store=store,
        group=group,
        clients=ClientDirectory(pool),
        tokens=TokenLookup(pool),
        hasher=SecretHasher(derive_key(master, "client-secret-digest")),
        sealer=sealer,
        csrf_key=derive_key(master, "csrf"),
        keys=await load_keys(pool, sealer),
        limits=RateLimits(settings, group),
    )
