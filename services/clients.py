"""OAuth clients: registration and lifecycle, and client authentication (RFC 6749 2.3).

Secrets are generated here, shown once, and stored as keyed digests only.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final, Literal

import asyncpg
import msgspec

from domain import client as client_domain
from domain.policies.lifetimes import (
    CLIENT_RECORD_TTL,
    access_token_ttl_problem,
    refresh_token_ttl_problem,
)
from domain.policies.redirect_uris import registrable
from domain.policies.scopes import parse_scope
from infra.crypto.digests import SecretHasher, new_token
from infra.postgres.batching import GroupedLookup
from infra.postgres.event_store import EventStore
from schemas.envelope import Metadata
from schemas.events import ClientRegistered, Digest
from schemas.http.management import ClientRegistrationRequest as ClientRegistration
from services.commands import execute, utcnow

__all__ = [
    "GRANT_TYPES",
    "ClientDirectory",
    "ClientRecord",
    "ClientRegistration",
    "InvalidRegistration",
    "authenticate",
    "register_client",
    "registration_problems",
    "rotate_secret",
    "set_status",
]

GRANT_TYPES: Final = frozenset(
    {"authorization_code", "client_credentials", "refresh_token", "password"}
)
SECRET_PREFIX: Final = "kls_"

ClientStatus = Literal["active", "suspended", "banned"]


class InvalidRegistration(ValueError):
    """A registration that cannot be accepted; the message says which field and why."""


@dataclass(frozen=True, slots=True)
class ClientRecord:
    """A client as the token endpoint sees it (the inline `clients` projection)."""

    registration: ClientRegistered
    status: ClientStatus
    secret_digests: tuple[Digest, ...]

    @property
    def client_id(self) -> str:
        return self.registration.client_id

    @property
    def confidential(self) -> bool:
        return self.registration.confidential

    @property
    def requires_pkce(self) -> bool:
        return self.registration.require_pkce or not self.registration.confidential

    def allows(self, grant_type: str) -> bool:
        return grant_type in self.registration.grant_types


_SELECT: Final = """
SELECT client_id, status, registration, secret_digest, previous_secret_digest, previous_valid_until
FROM clients WHERE client_id = ANY($1::text[])
"""
_SELECT_ALL: Final = """
SELECT client_id, status, registration, secret_digest, previous_secret_digest, previous_valid_until
FROM clients ORDER BY registered_at
"""
_registration = msgspec.json.Decoder(ClientRegistered)


# How long a process may use a client record it read. Token validity never depends on it
# (introspection joins the live status); it bounds how long a just-suspended client can
# still be handed tokens, which are born inactive.
CLIENT_TTL_S: Final = CLIENT_RECORD_TTL.total_seconds()


class ClientDirectory:
    """Reads clients; concurrent lookups share one query, and records are kept briefly."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool
        self._lookup: GroupedLookup[str, asyncpg.Record] = GroupedLookup(self._fetch)
        self._cache: dict[str, tuple[float, ClientRecord]] = {}

    async def cached(self, client_id: str) -> ClientRecord | None:
        """A record at most CLIENT_TTL_S old (fresh when none is kept)."""
        kept = self._cache.get(client_id)
        if kept is not None and time.monotonic() - kept[0] < CLIENT_TTL_S:
            return kept[1]
        return await self.get(client_id)

    async def _fetch(self, client_ids: Sequence[str]) -> Mapping[str, asyncpg.Record]:
        async with self._pool.acquire() as conn:
            rows = await conn.fetch(_SELECT, client_ids)
        return {row["client_id"]: row for row in rows}

    async def get(self, client_id: str, now: datetime | None = None) -> ClientRecord | None:
        if "\x00" in client_id:
            # PostgreSQL text holds no NUL, so no client has this id; and the lookup it would
            # share with concurrent requests must not fail for them.
            return None
        row = await self._lookup.get(client_id)
        if row is None:
            return None
        record = _record(row, now or utcnow())
        if len(self._cache) > 10_000:
            self._cache.clear()
        self._cache[client_id] = (time.monotonic(), record)
        return record

    async def list(self) -> list[ClientRecord]:
        async with self._pool.acquire() as conn:
            rows = await conn.fetch(_SELECT_ALL)
        now = utcnow()
        return [_record(row, now) for row in rows]


def _record(row: asyncpg.Record, now: datetime) -> ClientRecord:
    digests = [row["secret_digest"]]
    if row["previous_secret_digest"] and row["previous_valid_until"] > now:
        digests.append(row["previous_secret_digest"])
    return ClientRecord(
        registration=_registration.decode(row["registration"]),
        status=row["status"],
        secret_digests=tuple(d for d in digests if d),
    )


def authenticate(hasher: SecretHasher, client: ClientRecord | None, secret: str | None) -> bool:
    """Whether the presented credentials authenticate `client` (any status).

    An unknown client still costs a digest comparison, so timing does not reveal which
    client ids exist. Public clients authenticate with no secret (`none`, PKCE required).
    """
    if client is None:
        hasher.verify(secret or "", [Digest("0" * 64)])
        return False
    if not client.confidential:
        return secret is None
    if secret is None:
        return False
    return hasher.verify(secret, client.secret_digests)


def registration_problems(spec: ClientRegistration) -> list[str]:
    """Why a registration cannot be accepted; empty when it can."""
    found = []
    if not spec.name.strip():
        found.append("name must not be empty")
    unknown = sorted(set(spec.grant_types) - GRANT_TYPES)
    if unknown or not spec.grant_types:
        found.append(f"grant types must be among {sorted(GRANT_TYPES)}, got {unknown or []}")
    if any(parse_scope(scope) != (scope,) for scope in spec.scopes):
        found.append("each scope must be one scope token")
    if not spec.confidential and "client_credentials" in spec.grant_types:
        found.append("a public client cannot use client_credentials")
    if not spec.confidential and "password" in spec.grant_types:
        found.append("a public client cannot use the password grant")
    if "authorization_code" in spec.grant_types and not spec.redirect_uris:
        found.append("authorization_code needs at least one redirect URI")
    found += [
        f"redirect URI not allowed: {uri}" for uri in spec.redirect_uris if not registrable(uri)
    ]
    lifetimes = (
        access_token_ttl_problem(spec.access_token_ttl),
        refresh_token_ttl_problem(spec.refresh_token_ttl),
    )
    return found + [problem for problem in lifetimes if problem is not None]


async def register_client(
    store: EventStore, hasher: SecretHasher, spec: ClientRegistration, metadata: Metadata
) -> tuple[str, str | None]:
    """Register a client; returns its id and, for a confidential client, its secret (once)."""
    problems = registration_problems(spec)
    if problems:
        raise InvalidRegistration("; ".join(problems))
    client_id = uuid.uuid4().hex
    secret = new_token(SECRET_PREFIX) if spec.confidential else None
    command = client_domain.RegisterClient(
        client_id=client_id,
        name=spec.name,
        confidential=spec.confidential,
        secret_digest=hasher.digest(secret) if secret is not None else None,
        redirect_uris=spec.redirect_uris,
        grant_types=spec.grant_types,
        scopes=spec.scopes,
        workspace_id=spec.workspace_id,
        require_pkce=spec.require_pkce,
        access_token_ttl=spec.access_token_ttl,
        refresh_token_ttl=spec.refresh_token_ttl,
        token_format=spec.token_format,
        scope_reasons=spec.scope_reasons,
        review_scopes=spec.review_scopes,
    )
    (registered,) = await execute(
        store, client_domain.decider, f"client-{client_id}", command, metadata
    )
    assert isinstance(registered, ClientRegistered)
    return client_id, secret


async def rotate_secret(
    store: EventStore,
    hasher: SecretHasher,
    client_id: str,
    overlap: timedelta,
    metadata: Metadata,
    *,
    reason: str = "",
) -> str | None:
    """A new secret for a confidential client; the previous one works for `overlap` more."""
    secret = new_token(SECRET_PREFIX)
    command = client_domain.RotateClientSecret(
        secret_digest=hasher.digest(secret), now=utcnow(), overlap=overlap, reason=reason
    )
    events = await execute(store, client_domain.decider, f"client-{client_id}", command, metadata)
    return secret if events else None


async def set_status(
    store: EventStore,
    client_id: str,
    action: Literal["suspend", "reinstate", "ban"],
    reason: str,
    metadata: Metadata,
) -> bool:
    """Suspend, reinstate or ban; False if the client is not in a state where that applies."""
    command: client_domain.ClientCommand
    match action:
        case "suspend":
            command = client_domain.SuspendClient(reason=reason)
        case "reinstate":
            command = client_domain.ReinstateClient(reason=reason)
        case "ban":
            command = client_domain.BanClient(reason=reason)
    events = await execute(store, client_domain.decider, f"client-{client_id}", command, metadata)
    return bool(events)
