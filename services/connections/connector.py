"""What every connection operation needs, built once per process: the log, the vault, an
HTTP client for providers, and the keys of the authorization flow."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import asyncpg
import httpx

from infra.config import Settings
from infra.crypto.master_key import derive_key
from infra.crypto.sealing import Sealer
from infra.crypto.secret import Secret
from infra.postgres.event_store import EventStore
from infra.upstream.oauth import ClientCredentials
from schemas.events import ProviderRegistered
from services.authority import master_key, open_sealer
from services.connections.vault import TokenVault

__all__ = ["CALLBACK_PATH", "Connector", "open_connector"]

CALLBACK_PATH: Final = "/connections/callback"


@dataclass(slots=True)
class Connector:
    pool: asyncpg.Pool
    store: EventStore
    # The master key's sealer: client secrets of providers, and the vault keys.
    master: Sealer
    vault: TokenVault
    http: httpx.AsyncClient
    # Derives each authorization's PKCE verifier and nonce from its state (flow.py).
    flow_key: bytes
    settings: Settings

    @property
    def callback_uri(self) -> str:
        return self.settings.issuer_url + CALLBACK_PATH

    def credentials(self, provider: ProviderRegistered) -> ClientCredentials:
        secret = None
        if provider.sealed_client_secret is not None:
            opened = self.master.open(
                provider.sealed_client_secret, context=f"provider_secret:{provider.provider_id}"
            )
            secret = Secret(opened.decode("utf-8"))
        return ClientCredentials(provider.client_id, secret, provider.client_auth)

    async def close(self) -> None:
        await self.http.aclose()


def open_connector(settings: Settings, pool: asyncpg.Pool, store: EventStore) -> Connector:
    master = open_sealer(settings)
    timeout = httpx.Timeout(settings.upstream_timeout_s)
    http = httpx.AsyncClient(
        timeout=timeout, headers={"User-Agent": "keyledger"}, follow_redirects=False
    )
    return Connector(
        pool=pool,
        store=store,
        master=master,
        vault=TokenVault(pool, master, store),
        http=http,
        flow_key=derive_key(master_key(settings), "connection-flow"),
        settings=settings,
    )
