"""Personal-data sealing microbenchmark: what sealing adds to an append, in microseconds.

In one process, on a fresh database (embedded, or on KEYLEDGER_DATABASE_URL): the store's
sealing step (`SealingEventStore._sealed`) and the opening for inline projections of a
client_credentials issuance (nothing personal: the hot path must pay next to nothing); the
same for a sign-in of a user whose key is held (address and user agent sealed: two fields),
per event and per field; and a sign-in whose key is not held yet (one round trip). Each is
the best of --repeat runs of --calls calls.

    python -m tests.bench.bench_personal_data [--calls 20000] [--repeat 5] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import msgspec

from infra.crypto.personal_data import PersonalData
from infra.crypto.sealing import Sealer
from infra.postgres.event_store import NEW_STREAM, StreamAppend
from infra.postgres.sealing_store import SealingEventStore
from schemas.envelope import Metadata, NewEvent, RecordedEvent
from schemas.events import AccessTokenIssued, Event, Jti, LoginSucceeded
from tests.bench.databases import bench_database

NOW = datetime(2026, 12, 3, tzinfo=UTC)


def _append(event: Event, metadata: Metadata) -> list[StreamAppend]:
    new = NewEvent(event=event, event_id=uuid.uuid4(), occurred_at=NOW, metadata=metadata)
    return [StreamAppend(f"x-{uuid.uuid4().hex}", NEW_STREAM, [new])]


async def _best(run: Callable[[], Awaitable[object]], calls: int, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        for _ in range(calls):
            await run()
        best = min(best, (time.perf_counter() - started) / calls * 1e6)
    return best


async def measure(url: str, calls: int, repeat: int) -> dict[str, float]:
    async with asyncpg.create_pool(url, min_size=1, max_size=4) as pool:
        personal = PersonalData(pool, Sealer({"k1": bytes(32)}, current="k1"))
        store = SealingEventStore(pool, personal)
        issued = AccessTokenIssued(
            jti=Jti("j"), client_id="c", grant_type="client_credentials", scopes=("read",),
            expires_at=NOW, subject="c",
        )  # fmt: skip
        client = Metadata(actor="client", actor_id="c", client_id="c", ip="192.0.2.1")
        user_id = uuid.uuid4().hex
        login = LoginSucceeded(user_id=user_id, method="page")
        person = Metadata(
            actor="user", actor_id=user_id, subject_user=user_id, ip="2001:db8::1",
            user_agent="Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/120.0",
        )  # fmt: skip
        token_append, login_append = _append(issued, client), _append(login, person)
        await store._sealed(login_append)
        sealed = (await store._sealed(login_append))[0].events[0]
        recorded = RecordedEvent(
            global_position=1, tx_id=1, stream_id="login-x", stream_version=1,
            event_id=sealed.event_id, event_type="login_succeeded", schema_version=1,
            occurred_at=NOW, event=sealed.event, metadata=sealed.metadata, hash=bytes(32),
        )  # fmt: skip

        token_recorded = msgspec.structs.replace(recorded, event=issued, metadata=client)

        async def opened() -> object:
            return personal.open(recorded)

        async def token_opened() -> object:
            return personal.open(token_recorded)

        async def new_person() -> object:
            other = uuid.uuid4().hex
            meta = Metadata(actor="user", actor_id=other, subject_user=other, ip="2001:db8::2")
            return await store._sealed(_append(LoginSucceeded(user_id=other, method="page"), meta))

        token_us = await _best(lambda: store._sealed(token_append), calls, repeat)
        login_us = await _best(lambda: store._sealed(login_append), calls, repeat)
        open_us = await _best(opened, calls, repeat)
        token_open_us = await _best(token_opened, calls, repeat)
        miss_us = await _best(new_person, max(1, calls // 100), repeat)
    return {
        "client_credentials_event_us": round(token_us, 3),
        "client_credentials_event_opened_us": round(token_open_us, 3),
        "user_event_sealed_us": round(login_us, 3),
        "per_sealed_field_us": round(login_us / 2, 3),
        "user_event_opened_us": round(open_us, 3),
        "key_not_held_us": round(miss_us, 1),
    }


async def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as workdir:
        async with bench_database(Path(workdir), "personal-data") as url:
            results = await measure(url, args.calls, args.repeat)
    if args.json:
        print(json.dumps(results))
    else:
        for name, value in results.items():
            print(f"{name:<32} {value:>10} µs")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[1:])))
