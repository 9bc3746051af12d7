"""`keyledger audit verify` finds an event altered or removed behind the log's back."""

from __future__ import annotations

import os
import subprocess
import sys

import asyncpg

from infra.config import Settings
from infra.postgres.event_store import NEW_STREAM, EventStore
from services.audit import verify_log
from tests.factories import access_token_issued, token_stream


def _cli_verify(settings: Settings) -> tuple[int, str]:
    env = {**os.environ, "KEYLEDGER_DATABASE_URL": settings.database_url or ""}
    done = subprocess.run(
        [sys.executable, "-m", "services.cli", "audit", "verify"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return done.returncode, done.stdout


async def test_verify_reports_an_intact_log_then_the_altered_and_the_removed_event(
    fresh_settings: Settings,
) -> None:
    assert fresh_settings.database_url is not None
    async with asyncpg.create_pool(fresh_settings.database_url, min_size=1, max_size=2) as pool:
        store = EventStore(pool)
        streams = [token_stream() for _ in range(3)]
        for stream in streams:
            await store.append(stream, NEW_STREAM, [access_token_issued() for _ in range(3)])

        intact = await verify_log(pool)
        assert (intact.intact, intact.events, intact.streams) == (True, 9, 3)
        code, said = _cli_verify(fresh_settings)
        assert code == 0 and said.startswith("log intact: 9 events in 3 streams")

        async with pool.acquire() as conn:
            # What an attacker with the table owner's rights could do, triggers aside.
            await conn.execute("ALTER TABLE events DISABLE TRIGGER USER")
            await conn.execute(
                "UPDATE events SET data ="
                " convert_to(replace(convert_from(data, 'UTF8'), 'read', 'admin'), 'UTF8')"
                " WHERE stream_id = $1 AND stream_version = 2",
                streams[0],
            )
            await conn.execute(
                "DELETE FROM events WHERE stream_id = $1 AND stream_version = 1", streams[1]
            )
            await conn.execute("ALTER TABLE events ENABLE TRIGGER USER")

        broken = await verify_log(pool)
    code, said = _cli_verify(fresh_settings)
    assert code == 1 and f"altered: {streams[0]} version 2" in said
    found = {(b.kind, b.stream_id, b.stream_version) for b in broken.breaks}
    assert found == {
        ("altered", streams[0], 2),
        ("missing_before", streams[1], 2),
    }
