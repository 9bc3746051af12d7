"""`audit export` and `audit verify-export`: a user's events proven offline, edits named."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import msgspec
import pytest

from infra.config import Settings
from infra.crypto.jwt import SigningKey
from infra.postgres.event_store import NEW_STREAM, EventStore
from projections import audit_trail
from schemas.envelope import NewEvent
from services.authority import Authority, open_authority
from services.projector import catch_up
from tests.factories import access_token_issued, token_stream
from tests.personal import reader

USER = "user-7"


@pytest.fixture
async def authority(fresh_settings: Settings) -> AsyncIterator[Authority]:
    assert fresh_settings.database_url is not None
    async with asyncpg.create_pool(fresh_settings.database_url, min_size=1, max_size=4) as pool:
        yield await open_authority(fresh_settings, pool)


def cli(settings: Settings | None, *args: str) -> tuple[int, str]:
    """The command as an operator runs it; without settings, with no database to reach."""
    env = {**os.environ, "KEYLEDGER_DATABASE_URL": "postgresql://nowhere.invalid/none"}
    if settings is not None:
        env["KEYLEDGER_DATABASE_URL"] = settings.database_url or ""
        env["KEYLEDGER_MASTER_KEY"] = settings.master_key or ""
        env["KEYLEDGER_DATA_DIR"] = settings.data_dir
    done = subprocess.run(
        [sys.executable, "-m", "services.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return done.returncode, done.stdout + done.stderr


async def append(store: EventStore, *events: NewEvent) -> None:
    for event in events:
        await store.append(token_stream(), NEW_STREAM, [event])


def ours() -> NewEvent:
    return access_token_issued(subject=USER, subject_user=USER)


def theirs() -> NewEvent:
    return access_token_issued(subject="user-8", subject_user="user-8")


def edit_line(path: Path, number: int, old: str, new: str) -> None:
    lines = path.read_text(encoding="utf-8").split("\n")
    assert old in lines[number - 1]
    lines[number - 1] = lines[number - 1].replace(old, new, 1)
    path.write_text("\n".join(lines), encoding="utf-8")


async def test_an_export_verifies_offline_and_each_edited_row_is_named(
    fresh_settings: Settings, authority: Authority, tmp_path: Path
) -> None:
    store = EventStore(authority.pool)
    await append(store, ours(), theirs(), ours(), ours(), theirs())
    code, said = cli(fresh_settings, "audit", "checkpoint")
    assert code == 0 and "sealed checkpoint 1: 7 events" in said  # with the keys' 2 events
    await catch_up(authority.pool, audit_trail.PROJECTION, personal=reader(authority.pool))
    # Not in the audit trail yet: found in the log itself, by metadata or by the event.
    await append(store, ours(), theirs(), access_token_issued(subject=USER))
    code, said = cli(fresh_settings, "audit", "checkpoint")
    assert code == 0 and "sealed checkpoint 2: 3 events" in said
    await append(store, ours())  # not yet checkpointed

    ndjson, csv_file, jwks = tmp_path / "u.ndjson", tmp_path / "u.csv", tmp_path / "jwks.json"
    code, said = cli(fresh_settings, "audit", "export", "--user", USER, "--out", str(ndjson))
    assert code == 0, said
    assert "exported 6 events of 'user-7': 5 under 2 checkpoints, 1 not yet" in said
    jwks.write_bytes(msgspec.json.encode(authority.keys.jwks))  # as /.well-known/jwks.json
    code, said = cli(None, "audit", "verify-export", str(ndjson), "--jwks", str(jwks))
    assert code == 0, said
    assert "export verified: 6 events of 'user-7'; 5 proven by 2 signed checkpoints, 1 not" in said

    code, said = cli(
        fresh_settings, "audit", "export", "--user", USER, "--format", "csv", "--out", str(csv_file)
    )
    assert code == 0, said
    code, said = cli(None, "audit", "verify-export", str(csv_file))
    assert code == 0 and "export verified: 6 events" in said, said

    # Keys that did not sign these checkpoints prove nothing.
    stranger = SigningKey.generate("ES256", "es256-stranger").public_jwk()
    jwks.write_bytes(msgspec.json.encode({"keys": [stranger]}))
    code, said = cli(None, "audit", "verify-export", str(ndjson), "--jwks", str(jwks))
    assert code == 1 and "checkpoint 1: signature does not verify" in said

    lines = ndjson.read_text(encoding="utf-8").splitlines()  # line 1: the header
    third = msgspec.json.decode(lines[2])
    edit_line(ndjson, 3, '\\"read\\"', '\\"admin\\"')  # the scope in the stored payload
    fourth = msgspec.json.decode(lines[3])
    edit_line(ndjson, 4, fourth["proof"][0], fourth["proof"][0][::-1])
    # Passing a row off as too recent to be signed does not escape either.
    edit_line(ndjson, 2, '"status":"checkpointed"', '"status":"not_yet_checkpointed"')
    code, said = cli(None, "audit", "verify-export", str(ndjson))
    assert code == 1
    assert (
        f"line 3 (position {third['global_position']}, event {third['event_id']}): altered" in said
    )
    assert f"line 4 (position {fourth['global_position']}" in said and "inclusion proof" in said
    assert "line 2 (position" in said and "marked not yet checkpointed, but" in said
    assert "export NOT verified: 3 of 6 rows" in said

    edit_line(csv_file, 6, '""subject_user"":""user-7""', '""subject_user"":""user-9""')
    code, said = cli(None, "audit", "verify-export", str(csv_file))
    assert code == 1 and "line 6 (position" in said and "1 of 6 rows" in said, said


async def test_bad_input_gets_a_clear_error(fresh_settings: Settings, tmp_path: Path) -> None:
    code, said = cli(fresh_settings, "audit", "export", "--user", USER, "--from", "yesterday")
    assert code == 2 and "not an ISO 8601 date or time: 'yesterday'" in said
    not_an_export = tmp_path / "notes.txt"
    not_an_export.write_text("hello\n", encoding="utf-8")
    code, said = cli(None, "audit", "verify-export", str(not_an_export))
    assert code == 2 and "line 1 is not a keyledger audit export header" in said
    assert "Traceback" not in said
    code, said = cli(None, "audit", "verify-export", str(tmp_path / "missing.ndjson"))
    assert code == 2 and "No such file" in said
