"""Erasing a user leaves nothing of theirs in clear, anywhere, and breaks no hash.

Two users sign in through the real pages from addresses and browsers of their own, so the
log, the projections and JetStream hold their data; one is erased with `keyledger users
erase` (a process, as an operator runs it). Then every table of the database, the logs of
the run and a fresh JetStream replay are searched for the erased user's username, address
and user agent; the log still verifies; the other user still reads in clear.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import secrets
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator, MutableMapping
from dataclasses import dataclass
from io import StringIO
from typing import Any

import asyncpg
import httpx
import nats.js.api
import structlog
from litestar import Litestar

from infra.config import Settings
from infra.crypto.personal_data import PersonalData
from infra.nats_bus import EventBus
from infra.postgres.notify import Wakeup
from projections import audit_trail, consents
from schemas.envelope import Metadata
from schemas.personal_data import REDACTED
from services.audit import audit_log
from services.audit_export import ExportWriter, export_user
from services.authority import Authority, open_authority
from services.checkpointer import seal_segment
from services.clients import ClientRegistration, register_client
from services.commands import utcnow
from services.keys import ACCESS_ALG
from services.projector import catch_up, rebuild
from services.relay import Relay
from services.users import create_user
from tests.e2e.authorize_flow import hidden
from tests.e2e.conftest import running_app

PASSWORD = "erasure pass phrase 7"


@dataclass(frozen=True)
class Person:
    username: str
    ip: str
    user_agent: str
    user_id: str = ""

    @property
    def personal(self) -> tuple[str, str, str]:
        return (self.username, self.ip, self.user_agent)


@contextlib.contextmanager
def captured_logs() -> Iterator[list[str]]:
    """Every line logged in this process meanwhile, as written (after redaction)."""
    lines: list[str] = []

    def grab(_logger: Any, _method: str, event: MutableMapping[str, Any]) -> Any:
        lines.append(repr(dict(event)))
        return event

    class Grab(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(f"{record.getMessage()} {record.exc_text or ''}")

    # The configured list itself (loggers already used hold it): before the renderer.
    processors = structlog.get_config()["processors"]
    processors.insert(len(processors) - 1, grab)
    handler = Grab()
    logging.getLogger().addHandler(handler)
    try:
        yield lines
    finally:
        processors.remove(grab)
        logging.getLogger().removeHandler(handler)


@contextlib.asynccontextmanager
async def browser(app: Litestar, person: Person) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, client=(person.ip, 50000))  # type: ignore[arg-type]
    headers = {"user-agent": person.user_agent}
    async with httpx.AsyncClient(
        transport=transport, base_url="http://127.0.0.1:8000", headers=headers
    ) as client:
        yield client


async def sign_in(web: httpx.AsyncClient, username: str, password: str = PASSWORD) -> int:
    page = await web.get("/account")
    form = {"csrf": hidden(page.text, "csrf"), "lang": "en", "username": username}
    return (await web.post("/account", data={**form, "password": password})).status_code


async def investigate(app: Litestar, authority: Authority, user_id: str, ip: str) -> None:
    """A compliance client reads the user's trail by the address they used (a read that is
    itself an event: the address searched for is the user's too)."""
    spec = ClientRegistration(
        name="compliance", grant_types=("client_credentials",), scopes=("audit:read",)
    )
    client_id, secret = await register_client(
        authority.store, authority.hasher, spec, Metadata(actor="admin")
    )
    assert secret is not None
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8000") as web:
        form = {"grant_type": "client_credentials", "scope": "audit:read"}
        issued = await web.post("/oauth/token", data=form, auth=(client_id, secret))
        bearer = {"authorization": f"Bearer {issued.json()['access_token']}"}
        found = await web.get("/audit/events", params={"user": user_id, "ip": ip}, headers=bearer)
        assert found.status_code == 200, found.text
        assert found.json()["events"]


async def project_and_publish(authority: Authority, bus: EventBus) -> None:
    for projection in (audit_trail.PROJECTION, consents.PROJECTION):
        await catch_up(authority.pool, projection, personal=authority.personal)
    relay = Relay(authority.pool, bus, Wakeup())
    async with authority.pool.acquire() as conn:
        while await relay.publish_once(conn):
            pass


async def database_text(pool: asyncpg.Pool) -> dict[str, str]:
    """Every row of every table of the public schema as text, bytea decoded, by table."""
    dump: dict[str, str] = {}
    async with pool.acquire() as conn:
        tables = await conn.fetch(
            "SELECT table_name FROM information_schema.tables"
            " WHERE table_schema = 'public' AND table_type = 'BASE TABLE'"
        )
        for (table,) in tables:
            binary = await conn.fetch(
                "SELECT column_name FROM information_schema.columns"
                " WHERE table_schema = 'public' AND table_name = $1 AND data_type = 'bytea'",
                table,
            )
            decoded = "".join(f", encode(t.{c}, 'escape')" for (c,) in binary)
            rows = await conn.fetch(f"SELECT concat_ws(' ', t::text{decoded}) FROM \"{table}\" t")
            dump[table] = "\n".join(row[0] for row in rows)
    return dump


async def jetstream_replay(bus: EventBus) -> str:
    """A new consumer reads the whole stream from its first message, as a subscriber would."""
    total = (await bus.js.stream_info(bus.stream)).state.messages
    subscription = await bus.js.subscribe(
        f"{bus.prefix}.>", ordered_consumer=True, deliver_policy=nats.js.api.DeliverPolicy.ALL
    )
    seen: list[str] = []
    try:
        while len(seen) < total:
            message = await subscription.next_msg(timeout=5)
            seen.append(f"{message.subject} {message.headers} {message.data.decode()}")
    finally:
        await subscription.unsubscribe()
    return "\n".join(seen)


async def erase_with_cli(settings: Settings, username: str) -> tuple[int, str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KEYLEDGER_")}
    env |= {
        "KEYLEDGER_DATABASE_URL": settings.database_url or "",
        "KEYLEDGER_MASTER_KEY": settings.master_key or "",
        "KEYLEDGER_DATA_DIR": settings.data_dir,
        "KEYLEDGER_LOG_LEVEL": "debug",
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "services.cli", "users", "erase", "--username", username,
        "--reason", "erasure request 4711", "--json",
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    out, err = await process.communicate()
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def signed_export(authority: Authority, user_id: str) -> list[dict[str, Any]]:
    out = StringIO()
    await export_user(
        authority.pool,
        ExportWriter(out, "ndjson"),
        user=user_id,
        start=None,
        end=None,
        now=utcnow(),
        personal=authority.personal,
    )
    return [json.loads(line) for line in out.getvalue().splitlines()[1:]]


def person(name: str) -> Person:
    tag = secrets.token_hex(4)
    return Person(
        username=f"{name}-{tag}@erasure.example",
        ip=f"2001:db8:e4a5::{tag[:4]}:{tag[4:]}",
        user_agent=f"ErasureProbe/{tag} ({name} browser)",
    )


async def test_an_erased_user_leaves_nothing_in_clear_and_the_log_still_verifies(
    fresh_settings: Settings,
) -> None:
    assert fresh_settings.database_url is not None and fresh_settings.nats_url is not None
    alice, bob = person("alice"), person("bob")
    async with contextlib.AsyncExitStack() as stack:
        pool = await stack.enter_async_context(
            asyncpg.create_pool(fresh_settings.database_url, min_size=2, max_size=10)
        )
        app = await stack.enter_async_context(running_app(fresh_settings))
        authority = await open_authority(fresh_settings, pool)
        bus = await EventBus.connect(
            fresh_settings.nats_url, stream=fresh_settings.nats_stream,
            prefix=fresh_settings.subject_prefix, name="test-erasure",
        )  # fmt: skip
        stack.push_async_callback(bus.close)
        await bus.ensure_stream()
        logs = stack.enter_context(captured_logs())

        people = []
        for someone in (alice, bob):
            user_id = await create_user(authority.store, someone.username, PASSWORD, Metadata())
            people.append(Person(someone.username, someone.ip, someone.user_agent, user_id))
        alice, bob = people
        webs = {}
        for someone in people:
            web = await stack.enter_async_context(browser(app, someone))
            assert await sign_in(web, someone.username, "not the password") == 400  # refused
            assert await sign_in(web, someone.username) == 303
            webs[someone.user_id] = web
        await project_and_publish(authority, bus)
        await investigate(app, authority, alice.user_id, alice.ip)
        await project_and_publish(authority, bus)

        # Sealed from the start: the log and JetStream hold no one's personal data in clear,
        # while the projections that need it hold it (and the test would see it).
        before = await database_text(pool)
        for someone in people:
            assert not any(value in before["events"] for value in someone.personal)
            assert someone.username in before["users"]
            assert someone.user_agent in before["audit_trail"]
        published = await jetstream_replay(bus)
        assert not any(value in published for value in (*alice.personal, *bob.personal))
        async with pool.acquire() as conn:
            signer = authority.keys.signer(ACCESS_ALG)
            assert await seal_segment(conn, signer, issuer=authority.issuer, max_events=10_000)

        # One more sign-in that no follower has seen when the erasure comes: the projector and
        # the relay meet it only afterwards.
        again = await stack.enter_async_context(browser(app, alice))
        assert await sign_in(again, alice.username) == 303
        code, out, err = await erase_with_cli(fresh_settings, alice.username)
        assert code == 0, err
        assert json.loads(out) == {"user_id": alice.user_id, "erased": True}
        cli_output = out + err
        await project_and_publish(authority, bus)

        after = await database_text(pool)
        for table, text in after.items():
            for value in alice.personal:
                assert value not in text, f"{table} still holds {value!r}"
        captured = "\n".join(logs) + cli_output
        assert not any(value in captured for value in alice.personal)
        replay = await jetstream_replay(bus)
        assert "user_erased" in replay
        assert not any(value in replay for value in (*alice.personal, *bob.personal))
        report = await audit_log(pool)
        assert report.intact, report

        # The other user is untouched: their page, their row, their export read in clear.
        page = (await webs[bob.user_id].get("/account")).text
        assert bob.user_agent in page
        assert bob.ip in page
        assert bob.username in after["users"]
        exported = {
            value for event in await signed_export(authority, bob.user_id)
            for value in (event["personal"] or {}).values()
        }  # fmt: skip
        assert {bob.username, bob.ip, bob.user_agent} <= exported

        # What was the erased user's reads redacted: the export, the trail, the account.
        erased = await signed_export(authority, alice.user_id)
        opened = [event["personal"] for event in erased if event["personal"]]
        assert opened
        assert all(value == REDACTED for values in opened for value in values.values())
        assert erased[-1]["event_type"] == "user_erased"
        async with pool.acquire() as conn:
            trail = await conn.fetch(
                "SELECT ip, user_agent FROM audit_trail WHERE subject_user = $1 AND ip IS NOT NULL",
                alice.user_id,
            )
            # The refusal, the sign-in, the read of her trail, the sign-in projected late.
            assert len(trail) == 4
            assert {(row["ip"], row["user_agent"]) for row in trail} == {(REDACTED, REDACTED)}
        # Her old username names no account now (tried from elsewhere: an attempt with no
        # account is nobody's, so its address stays in clear).
        stranger = await stack.enter_async_context(browser(app, person("stranger")))
        assert await sign_in(stranger, alice.username) == 400

        # Rebuilt from position 0 by a process that never held the key: redacted still.
        fresh = PersonalData(pool, authority.sealer)
        await rebuild(pool, audit_trail.PROJECTION, personal=fresh)
        rebuilt = (await database_text(pool))["audit_trail"]
        assert not any(value in rebuilt for value in alice.personal)
        assert bob.ip in rebuilt and bob.user_agent in rebuilt

        # Again: the name is nobody's any more; one line says so, no traceback.
        code, out, err = await erase_with_cli(fresh_settings, alice.username)
        assert (code, out) == (1, "")
        assert err.startswith("keyledger: no user") and "Traceback" not in err
