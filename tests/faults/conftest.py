"""Servers the fault tests own (they stop and start them), a deployment per test, a report.

These tests never use the suite's servers, nor the ones KEYLEDGER_DATABASE_URL /
KEYLEDGER_NATS_URL name: a test that stops PostgreSQL or NATS must own it. Each test gets a
fresh database and stream on them, a client to drive load with, and a report line (what fault,
how many requests, how many 200s, how many acknowledged writes lost) printed at the end.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator, Generator, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import nats.js.errors
import pytest

from infra.config import Settings
from infra.embedded import EmbeddedNats
from infra.nats_bus import EventBus
from schemas.envelope import Metadata
from services.authority import Authority, open_authority
from services.clients import ClientRegistration, register_client
from services.servers import prepare_database
from tests.conftest import TEST_MASTER_KEY
from tests.faults.processes import Deployment, OwnedProcess, serve
from tests.faults.servers import OwnedPostgres, free_port

_REPORTS = pytest.StashKey[list["FaultReport"]]()


@pytest.fixture(scope="session")
def servers_dir() -> Iterator[Path]:
    """Where the owned servers keep their data: outside pytest's temporary directories,
    which a concurrent pytest session of the same user may prune while these still run."""
    directory = Path(tempfile.mkdtemp(prefix="keyledger-faults-"))
    try:
        yield directory
    finally:
        shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture(scope="session")
def owned_postgres(servers_dir: Path) -> Iterator[OwnedPostgres]:
    server = OwnedPostgres(servers_dir / "postgres")
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def owned_nats(servers_dir: Path) -> Iterator[EmbeddedNats]:
    server = EmbeddedNats(servers_dir / "nats")
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
async def deployment(
    owned_postgres: OwnedPostgres, owned_nats: EmbeddedNats, tmp_path: Path
) -> AsyncIterator[Deployment]:
    """A fresh database and stream on the owned servers, for every process of one test."""
    if not owned_postgres.running:
        owned_postgres.start()  # a failed test may have left it stopped
    if not owned_nats.running:
        owned_nats.start()
    name = f"kl_faults_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(owned_postgres.admin_url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    url = owned_postgres.url(name)
    await prepare_database(url)
    run = name.removeprefix("kl_faults_")
    deployed = Deployment(
        database_url=url,
        nats_url=owned_nats.url,
        nats_stream=f"KLFAULTS_{run}",
        subject_prefix=f"klfaults_{run}",
        master_key=TEST_MASTER_KEY,
        data_dir=tmp_path,
    )
    yield deployed
    if not owned_nats.running:
        owned_nats.start()
    bus = await EventBus.connect(
        owned_nats.url, stream=deployed.nats_stream, prefix=deployed.subject_prefix,
        name="faults-cleanup",
    )  # fmt: skip
    with contextlib.suppress(nats.js.errors.NotFoundError):  # never created by this test
        await bus.delete_stream()
    await bus.close()
    if not owned_postgres.running:
        owned_postgres.start()
    admin = await asyncpg.connect(owned_postgres.admin_url)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@pytest.fixture
async def pool(deployment: Deployment) -> AsyncIterator[asyncpg.Pool]:
    async with asyncpg.create_pool(deployment.database_url, min_size=0, max_size=8) as pool:
        yield pool


@pytest.fixture
async def bus(deployment: Deployment) -> AsyncIterator[EventBus]:
    bus = await EventBus.connect(
        deployment.nats_url, stream=deployment.nats_stream, prefix=deployment.subject_prefix,
        name="faults-reader",
    )  # fmt: skip
    await bus.ensure_stream()
    yield bus
    await bus.close()


@pytest.fixture
async def authority(deployment: Deployment, pool: asyncpg.Pool) -> Authority:
    """The test's own handles on the deployment's database (same master key as the servers)."""
    settings = Settings(
        database_url=deployment.database_url,
        nats_url=deployment.nats_url,
        master_key=deployment.master_key,
        data_dir=str(deployment.data_dir),
    )
    return await open_authority(settings, pool)


@dataclass(frozen=True)
class LoadClient:
    client_id: str
    secret: str


@pytest.fixture
async def load_client(authority: Authority) -> LoadClient:
    """A confidential client_credentials client, registered before the servers start."""
    spec = ClientRegistration(
        name="fault load", grant_types=("client_credentials",), scopes=("read",)
    )
    client_id, secret = await register_client(
        authority.store, authority.hasher, spec, Metadata(actor="admin")
    )
    assert secret is not None
    return LoadClient(client_id, secret)


@dataclass
class FaultReport:
    """One test's counts, printed in the session's summary."""

    test: str
    fault: str = ""
    sent: int = 0
    ok: int = 0
    lost: int = 0
    other: dict[str, object] = field(default_factory=dict)

    def line(self) -> str:
        extra = "".join(f", {key}: {value}" for key, value in self.other.items())
        return (
            f"{self.test}: fault: {self.fault}; requests sent: {self.sent}, 200s: {self.ok},"
            f" acknowledged writes lost: {self.lost}{extra}"
        )


@pytest.fixture
def fault_report(request: pytest.FixtureRequest) -> Iterator[FaultReport]:
    report = FaultReport(test=request.node.name)
    yield report
    print(report.line())  # shown by -rA, and kept in the session summary
    request.config.stash.setdefault(_REPORTS, []).append(report)


def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, config: pytest.Config
) -> None:
    reports = config.stash.get(_REPORTS, [])
    if reports:
        terminalreporter.section("fault injection")
        for report in reports:
            terminalreporter.write_line(report.line())


@dataclass
class Rig:
    """Everything a fault test works with: the servers it owns, its deployment on them,
    its own view of the log and the stream, the load's client, its report, and the keyledger
    processes it starts (all stopped at the end, their logs shown if the test failed)."""

    postgres: OwnedPostgres
    nats: EmbeddedNats
    deployment: Deployment
    pool: asyncpg.Pool
    bus: EventBus
    authority: Authority
    client: LoadClient
    report: FaultReport
    processes: list[OwnedProcess] = field(default_factory=list)

    def serve(
        self, *, workers: int = 1, name: str = "serve", port: int | None = None
    ) -> OwnedProcess:
        """`keyledger serve` on the deployment, started (on a fresh port unless given)."""
        process = serve(self.deployment, port or free_port(), workers=workers, name=name)
        self.processes.append(process)
        return process.start()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item,
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if report.when == "call":
        item.stash[_OUTCOME] = report.outcome  # the rig shows the logs unless it passed
    return report


_OUTCOME = pytest.StashKey[str]()


@pytest.fixture
def rig(
    request: pytest.FixtureRequest,
    *,
    owned_postgres: OwnedPostgres,
    owned_nats: EmbeddedNats,
    deployment: Deployment,
    pool: asyncpg.Pool,
    bus: EventBus,
    authority: Authority,
    load_client: LoadClient,
    fault_report: FaultReport,
) -> Iterator[Rig]:
    rig = Rig(
        owned_postgres, owned_nats, deployment, pool, bus, authority, load_client, fault_report
    )
    yield rig
    for process in rig.processes:
        process.stop()
    if request.node.stash.get(_OUTCOME, "failed") != "passed":
        for process in rig.processes:
            print(f"--- {process.name} ({process.log_path}) ---\n{process.log_tail(80)}")
