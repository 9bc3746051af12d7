"""Personal values are sealed under their person's key, open while it lives, and read
redacted everywhere once it is destroyed; a client's own events cost nothing."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import asyncpg
import msgspec
import pytest

from infra.crypto.personal_data import PersonalData
from infra.crypto.sealing import Sealer, SealError
from schemas.envelope import Metadata, RecordedEvent
from schemas.events import (
    AccessTokenIssued,
    Event,
    Jti,
    LoginSucceeded,
    PasswordHash,
    UserErased,
    UserRegistered,
)
from schemas.personal_data import REDACTED, SEALED_PREFIX

SEALER = Sealer({"k1": bytes(range(32))}, current="k1")
NOW = datetime(2026, 12, 3, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _recorded(event: Event, metadata: Metadata) -> RecordedEvent:
    return RecordedEvent(
        global_position=1, tx_id=1, stream_id="user-x", stream_version=1, event_id=uuid.uuid4(),
        event_type="x", schema_version=1, occurred_at=NOW, event=event, metadata=metadata,
        hash=bytes(32),
    )  # fmt: skip


def _sign_in(user_id: str) -> tuple[Event, Metadata]:
    meta = Metadata(actor="user", actor_id=user_id, subject_user=user_id)
    meta = msgspec.structs.replace(meta, ip="192.0.2.77", user_agent="Probe/1.0")
    return LoginSucceeded(user_id=user_id, method="page"), meta


async def _key_rows(pool: asyncpg.Pool, user_id: str) -> list[asyncpg.Record]:
    async with pool.acquire() as conn:
        return await conn.fetch("SELECT * FROM subject_keys WHERE subject_id = $1", user_id)


@pytest.fixture
def user_id() -> str:
    return uuid.uuid4().hex


async def test_a_sealed_value_opens_only_as_the_field_and_person_it_was_sealed_for(
    pool: asyncpg.Pool, user_id: str
) -> None:
    personal = PersonalData(pool, SEALER)
    registered = UserRegistered(
        user_id=user_id, username="ada@example.org", password_hash=PasswordHash("h")
    )
    sealed = await personal.seal([(registered, Metadata()), _sign_in(user_id)])
    assert sealed is not None
    (event, _), (_, meta) = sealed
    assert isinstance(event, UserRegistered)
    assert event.username.startswith(SEALED_PREFIX) and "ada" not in event.username
    assert meta.ip is not None and meta.ip.startswith(SEALED_PREFIX)
    assert meta.actor_id == user_id  # ids stay as they are: they name no one by themselves

    reader = PersonalData(pool, SEALER)  # another process: it reads the key from the table
    async with pool.acquire() as conn:
        assert await reader.read(conn, event, Metadata()) == {"username": "ada@example.org"}
        login = LoginSucceeded(user_id=user_id, method="page")
        assert await reader.read(conn, login, meta) == {
            "ip": "192.0.2.77",
            "user_agent": "Probe/1.0",
        }
        swapped = msgspec.structs.replace(meta, ip=meta.user_agent, user_agent=meta.ip)
        opened = await reader.read(conn, login, swapped)
        assert opened == {"ip": REDACTED, "user_agent": REDACTED}  # bound to its field


async def test_after_erasure_every_value_reads_redacted_and_no_key_is_made_again(
    pool: asyncpg.Pool, user_id: str
) -> None:
    clock = Clock()
    writer, elsewhere = PersonalData(pool, SEALER), PersonalData(pool, SEALER, clock=clock)
    sealed = await writer.seal([_sign_in(user_id)])
    assert sealed is not None
    recorded = _recorded(*sealed[0])
    async with pool.acquire() as conn:
        assert (await elsewhere.opened(conn, [recorded]))[0].metadata.ip == "192.0.2.77"
        async with conn.transaction():
            await writer.erase(conn, user_id)
        # This process knows at once; another within its keep period.
        assert writer.open(recorded).metadata.ip == REDACTED
        clock.now += 31
        assert (await elsewhere.opened(conn, [recorded]))[0].metadata.user_agent == REDACTED
    (row,) = await _key_rows(pool, user_id)
    assert row["sealed_key"] is None and row["erased_at"] is not None

    # Whatever is appended about them later holds nothing of theirs, not even sealed.
    later = await PersonalData(pool, SEALER).seal([_sign_in(user_id)])
    assert later is not None
    assert (later[0][1].ip, later[0][1].user_agent) == (REDACTED, REDACTED)
    assert len(await _key_rows(pool, user_id)) == 1


async def test_the_erasure_event_in_a_batch_hides_the_key_from_every_event_of_it(
    pool: asyncpg.Pool, user_id: str
) -> None:
    personal = PersonalData(pool, SEALER)
    sealed = await personal.seal([_sign_in(user_id)])
    assert sealed is not None
    async with pool.acquire() as conn, conn.transaction():
        await PersonalData(pool, SEALER).erase(conn, user_id)  # another process erases
    batch = [_recorded(*sealed[0]), _recorded(UserErased(user_id=user_id), Metadata())]
    async with pool.acquire() as conn:
        opened = await personal.opened(conn, batch)  # this one still held the key
    assert opened[0].metadata.ip == REDACTED


async def test_a_clients_own_events_and_values_from_before_sealing_pass_untouched(
    pool: asyncpg.Pool,
) -> None:
    personal = PersonalData(pool, SEALER)
    issued = AccessTokenIssued(
        jti=Jti("j"), client_id="c", grant_type="client_credentials", scopes=(), expires_at=NOW
    )
    client_meta = Metadata(actor="client", actor_id="c", client_id="c", ip="192.0.2.1")
    assert await personal.seal([(issued, client_meta)]) is None  # no key, no round trip
    old = _recorded(*_sign_in("someone-from-before"))
    assert personal.open(old) is old  # in clear: written before values were sealed


async def test_a_key_the_master_key_cannot_open_refuses_to_seal_rather_than_lose_a_value(
    pool: asyncpg.Pool, user_id: str
) -> None:
    assert await PersonalData(pool, SEALER).seal([_sign_in(user_id)]) is not None
    other = PersonalData(pool, Sealer({"k1": bytes(32)}, current="k1"))  # a wrong master key
    with pytest.raises(SealError):
        await other.seal([_sign_in(user_id)])
