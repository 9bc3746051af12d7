"""Reads of the single sign-on tables: a workspace's provider, who a domain belongs to, the
account an identity is linked to, whether a username must sign in through SSO."""

from __future__ import annotations

from datetime import datetime
from typing import Final

import asyncpg
import msgspec

from projections.connection_queries import Connection
from schemas.events import SsoConfigured

__all__ = ["Configured", "account_by_username", "configured", "linked_account", "sso_required"]

_CONFIG: Final = """
SELECT configuration, configured_at FROM sso_configs
WHERE workspace_id = $1 AND disabled_at IS NULL
"""
_BY_DOMAIN: Final = """
SELECT c.configuration, c.configured_at FROM sso_domains d
JOIN sso_configs c ON c.workspace_id = d.workspace_id AND c.disabled_at IS NULL
WHERE d.domain = $1
"""
_REQUIRED: Final = """
SELECT EXISTS (
    SELECT 1 FROM sso_domains d JOIN sso_configs c ON c.workspace_id = d.workspace_id
    WHERE d.domain = $1 AND c.required AND c.disabled_at IS NULL
)
"""
_LINKED: Final = """
SELECT u.user_id, u.disabled, u.service_account FROM sso_identities i
JOIN users u ON u.user_id = i.user_id WHERE i.issuer = $1 AND i.subject = $2
"""
_BY_USERNAME: Final = "SELECT user_id, disabled, service_account FROM users WHERE username = $1"

_decoder: Final = msgspec.json.Decoder(SsoConfigured)


class Configured(msgspec.Struct, frozen=True, kw_only=True):
    configuration: SsoConfigured
    configured_at: datetime


def _configured(row: asyncpg.Record | None) -> Configured | None:
    if row is None:
        return None
    return Configured(
        configuration=_decoder.decode(row["configuration"]), configured_at=row["configured_at"]
    )


async def configured(
    conn: Connection, *, workspace_id: str | None = None, domain: str | None = None
) -> Configured | None:
    """The enabled configuration of a workspace, or of the workspace owning a domain."""
    if workspace_id is not None:
        return _configured(await conn.fetchrow(_CONFIG, workspace_id))
    return _configured(await conn.fetchrow(_BY_DOMAIN, domain))


async def sso_required(conn: Connection, domain: str) -> bool:
    required: bool = await conn.fetchval(_REQUIRED, domain)
    return required


async def linked_account(conn: Connection, issuer: str, subject: str) -> asyncpg.Record | None:
    """`user_id`, `disabled`, `service_account` of the account the identity is linked to."""
    row: asyncpg.Record | None = await conn.fetchrow(_LINKED, issuer, subject)
    return row


async def account_by_username(conn: Connection, username: str) -> asyncpg.Record | None:
    row: asyncpg.Record | None = await conn.fetchrow(_BY_USERNAME, username)
    return row
