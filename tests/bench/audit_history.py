"""A synthetic but realistic log for the audit benchmark: users signing in, consenting,
redeeming codes and refreshing tokens over 90 days, through the real event store.

Each user gets about 100 events: registration, a consent per client used, and sessions of
sign-in, code, redemption and a token family refreshed a few times (one in ten sign-ins
fails first, one in twenty families ends revoked). Everything goes through
`EventStore.append_all` with its hash chains, as the service writes it; the inline token
state is not built (nothing measured here reads it), which makes generating a million
events take a minute or two rather than several.
"""

from __future__ import annotations

import hashlib
import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final

from infra.postgres.event_store import NEW_STREAM, EventStore, StreamAppend
from schemas.envelope import Metadata, NewEvent
from schemas.events import (
    AccessTokenIssued,
    AuthorizationCodeIssued,
    AuthorizationCodeRedeemed,
    ConsentGranted,
    Digest,
    Event,
    Jti,
    LoginRefused,
    LoginSucceeded,
    PasswordHash,
    RefreshTokenIssued,
    RefreshTokenRotated,
    TokenFamilyRevoked,
    UserRegistered,
)

START: Final = datetime(2026, 1, 1, tzinfo=UTC)
SPAN: Final = timedelta(days=90)
CLIENTS: Final = 50
WORKSPACES: Final = 10
REFRESHES: Final = 4
SCOPES: Final = ("openid", "read", "write")


@dataclass(frozen=True)
class Story:
    """One user's history: the appends, and what a point-in-time check can ask about."""

    user_id: str
    appends: list[StreamAppend]
    events: int


def _digest(rng: random.Random) -> Digest:
    return Digest(hashlib.sha256(rng.randbytes(16)).hexdigest())


def client_ids() -> list[str]:
    return [f"bench-client-{n:02d}" for n in range(CLIENTS)]


def workspace_of(client_id: str) -> str:
    return f"ws-{int(client_id.rsplit('-', 1)[1]) % WORKSPACES}"


def _new(event: Event, at: datetime, meta: Metadata, rng: random.Random) -> NewEvent:
    return NewEvent(event=event, event_id=uuid.UUID(int=rng.getrandbits(128), version=4),
                    occurred_at=at, metadata=meta)  # fmt: skip


def story(index: int, seed: int = 7) -> Story:
    """The same user history for the same index and seed, in any process."""
    rng = random.Random(seed * 1_000_003 + index)
    user_id = f"user-{index:06d}"
    born = START + timedelta(seconds=rng.uniform(0, SPAN.total_seconds() / 3))
    admin = Metadata(actor="admin", actor_id="ops", subject_user=user_id)
    registered = UserRegistered(user_id=user_id, username=user_id,
                                password_hash=PasswordHash("$argon2id$bench"))  # fmt: skip
    appends = [StreamAppend(f"user-{user_id}", NEW_STREAM, [_new(registered, born, admin, rng)])]
    count = 1
    consented: set[str] = set()
    clients = rng.sample(client_ids(), 2)
    at = born
    while count < 95:
        at += timedelta(seconds=rng.uniform(3600, 3 * 86400))
        client_id = rng.choice(clients)
        workspace = workspace_of(client_id)
        ip = f"198.51.100.{rng.randrange(1, 255)}"
        as_user = Metadata(actor="user", actor_id=user_id, subject_user=user_id,
                           client_id=client_id, workspace_id=workspace, ip=ip)  # fmt: skip
        as_client = Metadata(actor="client", actor_id=client_id, subject_user=user_id,
                             client_id=client_id, workspace_id=workspace, ip=ip)  # fmt: skip
        if rng.random() < 0.1:
            refused = LoginRefused(user_id=user_id, method="page", reason="invalid_credentials",
                                   client_id=client_id)  # fmt: skip
            appends.append(StreamAppend(f"login-{rng.getrandbits(64):x}", NEW_STREAM,
                                        [_new(refused, at, as_user, rng)]))  # fmt: skip
            count += 1
        signed_in = LoginSucceeded(user_id=user_id, method="page", client_id=client_id)
        appends.append(StreamAppend(f"login-{rng.getrandbits(64):x}", NEW_STREAM,
                                    [_new(signed_in, at, as_user, rng)]))  # fmt: skip
        count += 1
        if client_id not in consented:
            consented.add(client_id)
            granted = ConsentGranted(user_id=user_id, client_id=client_id, scopes=SCOPES)
            appends.append(StreamAppend(f"consent-{user_id}.{client_id}", NEW_STREAM,
                                        [_new(granted, at, as_user, rng)]))  # fmt: skip
            count += 1
        family_id = f"{rng.getrandbits(128):032x}"
        code = AuthorizationCodeIssued(
            code_digest=_digest(rng), client_id=client_id, user_id=user_id,
            redirect_uri="https://app.example/cb", scopes=SCOPES, code_challenge=None,
            expires_at=at + timedelta(minutes=1), auth_time=at,
        )  # fmt: skip
        redeemed = AuthorizationCodeRedeemed(family_id=family_id)
        appends.append(StreamAppend(f"authorization-{code.code_digest}", NEW_STREAM,
                                    [_new(code, at, as_user, rng),
                                     _new(redeemed, at, as_client, rng)]))  # fmt: skip
        family = list(_family(rng, at, as_client))
        appends.append(StreamAppend(f"token_family-{family_id}", NEW_STREAM, family))
        count += 2 + len(family)
    return Story(user_id, appends, count)


def _family(rng: random.Random, at: datetime, meta: Metadata) -> Iterator[NewEvent]:
    assert meta.client_id is not None and meta.subject_user is not None
    client_id, user_id, workspace = meta.client_id, meta.subject_user, meta.workspace_id
    for refresh in range(REFRESHES + 1):
        if refresh:
            at += timedelta(seconds=rng.uniform(300, 3600))
            yield _new(RefreshTokenRotated(spent_digest=_digest(rng)), at, meta, rng)
        access = AccessTokenIssued(
            jti=Jti(f"{rng.getrandbits(128):032x}"), client_id=client_id,
            grant_type="authorization_code" if refresh == 0 else "refresh_token",
            scopes=SCOPES, expires_at=at + timedelta(hours=1), subject=user_id,
            workspace_id=workspace, token_digest=_digest(rng),
        )  # fmt: skip
        yield _new(access, at, meta, rng)
        issued = RefreshTokenIssued(token_digest=_digest(rng), expires_at=at + timedelta(days=30))
        yield _new(issued, at, meta, rng)
    if rng.random() < 0.05:
        yield _new(TokenFamilyRevoked(reason="revoked"), at + timedelta(minutes=5), meta, rng)


async def generate(store: EventStore, users: int, batch_users: int = 20) -> int:
    """Append every user's story, `batch_users` users per transaction; returns the events."""
    total = 0
    for first in range(0, users, batch_users):
        stories = [story(n) for n in range(first, min(users, first + batch_users))]
        await store.append_all([append for s in stories for append in s.appends])
        total += sum(s.events for s in stories)
    return total
