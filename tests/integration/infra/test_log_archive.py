"""`keyledger log archive` and `audit verify --archive`: old partitions leave the database
whole and checked, the chain still verifies from genesis, and a tampered archive is caught
at the line that was changed."""

from __future__ import annotations

import base64
import gzip
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import msgspec
import pytest

from infra.config import Settings
from infra.postgres import partitions
from infra.postgres.archive import sequence_position
from infra.postgres.event_store import NEW_STREAM, StreamAppend
from projections import audit_trail
from schemas.envelope import NewEvent
from services.archive_replay import rebuild_with_archives
from services.audit import audit_log
from services.authority import Authority, open_authority
from services.log_archive import archive_before
from services.projector import catch_up
from tests.conftest import create_database, drop_database
from tests.factories import access_token_issued, token_stream
from tests.integration.infra.test_audit_checkpoints import cli, seal_all

SIZE = 1_000
TRAIL = "SELECT seq, global_position, event_id, action FROM audit_trail ORDER BY seq"
OLD = datetime.now(UTC) - timedelta(days=40)


@pytest.fixture
async def small(postgres_admin_url: str, settings: Settings) -> AsyncIterator[Settings]:
    """A database whose log is cut into partitions of 1,000 positions."""
    url = await create_database(postgres_admin_url, partition_size=SIZE)
    yield msgspec.structs.replace(settings, database_url=url, event_partition_size=SIZE)
    await drop_database(postgres_admin_url, url)


@pytest.fixture
async def authority(small: Settings) -> AsyncIterator[Authority]:
    assert small.database_url is not None
    async with asyncpg.create_pool(small.database_url, min_size=2, max_size=8) as pool:
        yield await open_authority(small, pool)


def issued(when: datetime) -> NewEvent:
    return msgspec.structs.replace(access_token_issued(), occurred_at=when)


async def fill_until(authority: Authority, position: int, when: datetime = OLD) -> None:
    """Token families, a hundred per transaction, until the log reaches `position`."""
    while True:
        async with authority.pool.acquire() as conn:
            if await sequence_position(conn) >= position:
                return
        appends = [StreamAppend(token_stream(), NEW_STREAM, [issued(when)]) for _ in range(100)]
        await authority.store.append_all(appends)


def tamper(archive: Path, line: int) -> None:
    """Change one byte of the stored payload of the event on `line`, as a forger would."""
    lines = gzip.decompress(archive.read_bytes()).split(b"\n")
    event = msgspec.json.decode(lines[line - 1])
    data = bytearray(base64.b64decode(event["data"]))
    data[2] ^= 0x01
    event["data"] = base64.b64encode(bytes(data)).decode()
    lines[line - 1] = msgspec.json.encode(event)
    archive.write_bytes(gzip.compress(b"\n".join(lines)))


async def test_archive_then_verify_from_archives_and_live_log(
    authority: Authority, small: Settings, tmp_path: Path
) -> None:
    await fill_until(authority, 1_500)
    # A stream that begins in the second partition and goes on in the third, which stays.
    ongoing = token_stream()
    head = await authority.store.append(ongoing, NEW_STREAM, [issued(OLD)])
    await fill_until(authority, 2_100)
    await authority.store.append(ongoing, head, [issued(datetime.now(UTC))])
    await fill_until(authority, 2_300, when=datetime.now(UTC))
    before = datetime.now(UTC) - timedelta(days=1)

    await seal_all(authority, max_events=200)
    await catch_up(authority.pool, audit_trail.PROJECTION, personal=authority.store.personal)
    async with authority.pool.acquire() as conn:
        # A follower that has not read the first partition yet holds it back.
        await conn.execute(
            "INSERT INTO checkpoints (name, tx_id, global_position) VALUES ('late', '1', 1)"
        )
        held = await archive_before(authority.pool, authority.store, before, tmp_path)
        assert held.archived == []
        assert held.stopped == "events_from_1 is not yet read by late"
        await conn.execute("DELETE FROM checkpoints WHERE name = 'late'")
        total = await conn.fetchval("SELECT count(*) FROM events")
        trail = await conn.fetch(TRAIL)

    report = await archive_before(authority.pool, authority.store, before, tmp_path)

    assert [(a.partition, a.lower, a.upper) for a in report.archived] == [
        ("events_from_1", 1, 1 + SIZE)
    ]
    assert report.stopped is not None
    assert report.stopped == f"events_from_1001 holds streams that go on later: {ongoing}"
    async with authority.pool.acquire() as conn:
        names = [p.name for p in await partitions.list_partitions(conn)]
        left = await conn.fetchval("SELECT count(*) FROM events")
        # The signing keys' streams are kept: their events were never in a range partition.
        kept = await conn.fetchval("SELECT count(*) FROM events WHERE global_position <= $1", SIZE)
    assert "events_from_1" not in names
    # Made by the append that first went past the partitions the database started with.
    assert "events_from_2001" in names
    assert report.archived[0].events == total + 1 - left  # one event records the archive
    assert kept > 0
    archive = tmp_path / "events_from_1.ndjson.gz"
    assert archive.exists()

    # Without the archive, the live log verifies and says what it could not check.
    live_only = await audit_log(authority.pool)
    assert live_only.intact
    assert live_only.archives_missing == ["events_from_1.ndjson.gz (positions 1 to 1000)"]
    assert live_only.events == left

    # With it, the whole chain from genesis, every checkpoint included.
    whole = await audit_log(authority.pool, [archive])
    assert whole.intact, whole
    assert whole.events == total + 1  # and the event recording the archive
    assert whole.archives_missing == []
    assert whole.not_checkpointed <= 1

    code, out = cli(small, "audit", "verify", "--archive", str(tmp_path))
    assert code == 0, out
    assert "log intact" in out

    # The trail rebuilt from the archive and the live log is the trail the projector built.
    await catch_up(authority.pool, audit_trail.PROJECTION, personal=authority.store.personal)
    await rebuild_with_archives(
        authority.pool, audit_trail.PROJECTION, [archive], personal=authority.store.personal
    )
    async with authority.pool.acquire() as conn:
        rebuilt = await conn.fetch(TRAIL)
    assert rebuilt[: len(trail)] == trail
    assert [r["action"] for r in rebuilt[len(trail) :]] == ["log_range_archived"]

    tamper(archive, line=57)
    broken = await audit_log(authority.pool, [archive])
    assert not broken.intact
    assert [b.kind for b in broken.breaks] == ["altered"]
    assert broken.archive_problems == []  # the forger kept positions and hashes
    assert broken.located == [
        f"position {broken.breaks[0].global_position}: {archive.name} line 57"
    ]
    code, out = cli(small, "audit", "verify", "--archive", str(archive))
    assert code == 1
    assert f"in archive: position {broken.breaks[0].global_position}: {archive.name} line 57" in out


async def test_an_archive_is_refused_for_a_partition_still_being_filled(
    authority: Authority, tmp_path: Path
) -> None:
    await fill_until(authority, 300)
    report = await archive_before(
        authority.pool, authority.store, datetime.now(UTC) + timedelta(days=1), tmp_path
    )
    assert report.archived == []
    assert report.stopped == "events_from_1 is still being filled"
    assert list(tmp_path.iterdir()) == []
