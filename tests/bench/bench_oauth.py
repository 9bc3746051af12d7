"""HTTP benchmark of token issuance (client_credentials) and introspection, with wrk.

Two servers run side by side: the ceiling (`ceiling_app.py`: a Litestar `POST /oauth/token`
that parses the same form and Basic header and answers a token-shaped JSON, doing nothing
else, served as keyledger is: granian, uvloop, N workers, on the ASGI interface) and
`keyledger serve` on a temporary data dir (embedded PostgreSQL and NATS, or
KEYLEDGER_DATABASE_URL / KEYLEDGER_NATS_URL) with a client from `keyledger clients create`.
Each round runs `wrk -t2 -c<connections> -d<duration>s --latency` after a warmup (3 s in the
first round, 1 s after) against the ceiling, then against issuance
(`grant_type=client_credentials&scope=read`); keyledger's followers finish what the previous
issuance appended before each ceiling run. After the rounds, every 2xx issuance answer must
have its `access_token_issued` event in the log, and once the worker has relayed, projected
and sealed it all, introspection (`token=<an access token>`) runs once.

Targets on 2 cores, issuance judged on the median round: issuance >= 3,000/s and >= 42% of
the ceiling, introspection >= 5,000/s, p99 < 50 ms, no failed requests. Rounds exist because
this machine is shared: its speed drifts within minutes, and a ratio of two runs taken
minutes apart measures the drift as much as the server.

Run from the repository root (`make bench-oauth`):

    python -m tests.bench.bench_oauth [--duration 10] [--rounds 3] [--connections 32]
                                      [--workers 2] [--json] [--check] [--ceiling-only]

The report is a table, or with --json one JSON object; --check exits 1 if a target is missed.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Final
from urllib.parse import quote, urlencode

import asyncpg
import httpx

from infra.config import load_settings
from services.servers import start_servers
from tests.bench.oauth_report import ISSUED, Outcome, Round, as_json, table, targets
from tests.bench.proc_cpu import postmaster_pid, tree_cpu_seconds

HERE: Final = Path(__file__).resolve().parent
REPO: Final = HERE.parents[1]
LUA: Final = HERE / "wrk" / "form_post.lua"
GRANT_FORM: Final = "grant_type=client_credentials&scope=read"
WARMUP_S: Final = 3
ROUND_WARMUP_S: Final = 1  # the servers are warm after the first round
READY_TIMEOUT_S: Final = 90.0
STOP_TIMEOUT_S: Final = 30.0

_MS_PER: Final = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}
_PERCENTILE: Final = re.compile(r"^\s*(50|99)(?:\.0+)?%\s+([\d.]+)(us|ms|s|m|h)\s*$", re.M)
_SOCKET_ERRORS: Final = re.compile(
    r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)"
)


class BenchError(Exception):
    """The benchmark could not run; the message says why."""


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------
# wrk


@dataclass(frozen=True)
class Wrk:
    rate: float
    requests: int
    p50_ms: float
    p99_ms: float
    ok: int  # 2xx answers, counted by the Lua script
    non_2xx: int  # every other status
    socket_errors: int  # connect, read, write and timeout errors
    # CPU the server's processes (and its PostgreSQL and NATS) spent per request, in µs.
    cpu_us: float = 0.0

    @property
    def errors(self) -> int:
        return self.non_2xx + self.socket_errors


def _match(pattern: str, output: str) -> re.Match[str]:
    found = re.search(pattern, output, re.M)
    if found is None:
        raise BenchError(f"no {pattern!r} in the wrk output:\n{output}")
    return found


def parse_wrk(output: str) -> Wrk:
    """The figures of one `wrk --latency -s form_post.lua` run, from its text output."""
    latency = {m[1]: float(m[2]) * _MS_PER[m[3]] for m in _PERCENTILE.finditer(output)}
    if latency.keys() != {"50", "99"}:
        raise BenchError(f"no 50%/99% latency lines in the wrk output:\n{output}")
    sockets = _SOCKET_ERRORS.search(output)
    statuses = _match(r"^statuses 2xx=(\d+) other=(\d+)$", output)
    return Wrk(
        rate=float(_match(r"^Requests/sec:\s+([\d.]+)", output)[1]),
        requests=int(_match(r"^\s*(\d+) requests in ", output)[1]),
        p50_ms=latency["50"],
        p99_ms=latency["99"],
        ok=int(statuses[1]),
        non_2xx=int(statuses[2]),
        socket_errors=sum(map(int, sockets.groups())) if sockets else 0,
    )


def run_wrk(url: str, form: str, credentials: str, seconds: int, connections: int) -> Wrk:
    command = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", str(LUA)]
    done = subprocess.run(
        [*command, url, "--", form, credentials],
        capture_output=True, text=True, check=False, timeout=seconds + 60,
    )  # fmt: skip
    if done.returncode != 0:
        raise BenchError(f"wrk exited with {done.returncode}:\n{done.stdout}{done.stderr}")
    return parse_wrk(done.stdout)


def measure(
    name: str,
    url: str,
    form: str,
    credentials: str,
    args: argparse.Namespace,
    *,
    servers: Callable[[], list[int]],
    warmup_s: int = WARMUP_S,
) -> tuple[Wrk, Wrk]:
    """A warmup run, then the measured one, with the CPU the `servers` trees spent on it."""
    warmup = run_wrk(url, form, credentials, warmup_s, args.connections)
    before = tree_cpu_seconds(servers())
    run = run_wrk(url, form, credentials, args.duration, args.connections)
    spent = tree_cpu_seconds(servers()) - before
    run = replace(run, cpu_us=spent * 1e6 / run.requests if run.requests else 0.0)
    _say(
        f"{name}: {run.rate:,.0f} req/s, p99 {run.p99_ms:.2f} ms, {run.errors} errors, "
        f"{run.cpu_us:,.0f} µs server CPU per request"
    )
    if warmup.errors or run.errors:
        _say(f"!!! {name}: {warmup.errors} error answers in the warmup, {run.errors} in the run")
    return warmup, run


# ---------------------------------------------------------------------------------------------
# Servers


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _tail(log: Path) -> str:
    return log.read_text(errors="replace")[-3000:] if log.exists() else ""


@contextlib.contextmanager
def serving(
    command: list[str], log: Path, env: dict[str, str] | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    """Run `command` in its own process group; SIGTERM the group at the end, SIGKILL if stuck."""
    with log.open("wb") as out:
        process = subprocess.Popen(
            command, cwd=REPO, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True, env=None if env is None else {**os.environ, **env},
        )  # fmt: skip
    try:
        yield process
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def wait_until(process: subprocess.Popen[bytes], log: Path, ready: httpx.Request) -> None:
    """Send `ready` until it is answered 200; fail if the server exits or takes too long."""
    deadline = time.monotonic() + READY_TIMEOUT_S
    with httpx.Client(timeout=5) as client:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise BenchError(f"the server exited ({log.name}):\n{_tail(log)}")
            with contextlib.suppress(httpx.TransportError):
                if client.send(ready).status_code == 200:
                    return
            time.sleep(0.25)
    raise BenchError(f"not ready after {READY_TIMEOUT_S:g} s ({ready.url}):\n{_tail(log)}")


def stop_leftover_postgres(pgdata: Path) -> None:
    """If serve died before stopping its embedded PostgreSQL (it has its own session), stop it."""
    try:
        pid = int((pgdata / "postmaster.pid").read_text().split()[0])
        if str(pgdata).encode() not in Path(f"/proc/{pid}/cmdline").read_bytes():
            return
    except (OSError, ValueError, IndexError):
        return
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGINT)  # fast shutdown
        for _ in range(100):
            if not Path(f"/proc/{pid}").exists():
                return
            time.sleep(0.1)
        os.kill(pid, signal.SIGKILL)


def basic(client_id: str, secret: str) -> str:
    """Basic credentials as RFC 6749 2.3.1 has them: each part form-encoded, then base64."""
    pair = f"{quote(client_id, safe='')}:{quote(secret, safe='')}"
    return base64.b64encode(pair.encode()).decode()


def token_request(
    base: str, credentials: str, form: str, path: str = "/oauth/token"
) -> httpx.Request:
    headers = {"Authorization": f"Basic {credentials}",
               "Content-Type": "application/x-www-form-urlencoded"}  # fmt: skip
    return httpx.Request("POST", f"{base}{path}", content=form.encode(), headers=headers)


# ---------------------------------------------------------------------------------------------
# Phases


def keyledger(*arguments: str) -> list[str]:
    return [sys.executable, "-m", "services.cli", *arguments]  # what `keyledger` runs


def create_client(data_dir: Path) -> str:
    done = subprocess.run(
        keyledger("clients", "create", "--data-dir", str(data_dir), "--name", "bench",
                  "--grant-type", "client_credentials", "--scope", "read", "--scope", "write",
                  "--json"),
        cwd=REPO, capture_output=True, text=True, check=False, timeout=120,
    )  # fmt: skip
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        raise BenchError(f"keyledger clients create failed ({done.returncode}):\n{done.stderr}")
    created = json.loads(lines[-1])
    return basic(created["client_id"], created["client_secret"])


def database_url(data_dir: Path) -> str:
    """The database serve uses, resolved as the CLI does. Attaching to the embedded server adds
    a handle and stop() drops it again: the server stops only when its last handle goes."""
    servers = start_servers(load_settings(overrides={"data_dir": str(data_dir)}), with_nats=False)
    try:
        assert servers.settings.database_url is not None
        return servers.settings.database_url
    finally:
        servers.stop()


def count_issued(url: str) -> int:
    async def count() -> int:
        conn = await asyncpg.connect(url)
        try:
            query = "SELECT count(*) FROM events WHERE event_type = $1"
            return int(await conn.fetchval(query, ISSUED))
        finally:
            await conn.close()

    return asyncio.run(count())


def followers_caught_up(url: str, timeout_s: float = 600.0) -> None:
    """Wait until the relay, projections and checkpoint sealer have read the whole log: the
    next phase is then measured alone, not beside the previous one's backlog."""

    async def wait() -> None:
        conn = await asyncpg.connect(url)
        try:
            deadline = time.monotonic() + timeout_s
            while await conn.fetchval(
                """SELECT count(*) FROM checkpoints
                   WHERE global_position < (SELECT max(global_position) FROM events) - 5"""
            ):
                if time.monotonic() > deadline:
                    raise BenchError("the service's followers did not catch up with the log")
                await asyncio.sleep(1.0)
        finally:
            await conn.close()

    asyncio.run(wait())


def answer(client: httpx.Client, request: httpx.Request) -> dict[str, Any]:
    response = client.send(request)
    if response.status_code != 200:
        what = f"{request.method} {request.url.path}"
        raise BenchError(f"{what}: {response.status_code} {response.text[:500]}")
    body: dict[str, Any] = response.json()
    return body


# wrk is one client at one address: the per-client and per-address limits (10,000/s for a
# replica by default) would answer part of a fast run 429. They are raised out of the way;
# every request still pays for its checks.
UNLIMITED: Final = {
    f"KEYLEDGER_RATE_LIMIT_{name}": str(1_000_000)
    for name in ("CLIENT_PER_S", "CLIENT_BURST", "SOURCE_PER_S", "SOURCE_BURST")
}


@dataclass(frozen=True)
class Server:
    base: str  # http://host:port
    credentials: str  # Basic credentials of a client allowed client_credentials
    trees: Callable[[], list[int]]  # the process trees whose CPU the server spends

    @property
    def token_url(self) -> str:
        return f"{self.base}/oauth/token"


@contextlib.contextmanager
def keyledger_server(args: argparse.Namespace, tmp: Path) -> Iterator[tuple[Server, str]]:
    """`keyledger serve` on a fresh data dir, with a client; and its database's URL."""
    data_dir, log, port = tmp / "data", tmp / "serve.log", free_port()
    base = f"http://127.0.0.1:{port}"
    command = keyledger("serve", "--data-dir", str(data_dir), "--host", "127.0.0.1",
                        "--port", str(port), "--workers", str(args.workers))  # fmt: skip
    try:
        with serving(command, log, UNLIMITED) as process:
            wait_until(process, log, httpx.Request("GET", f"{base}/readyz"))

            def trees() -> list[int]:  # serve (with NATS), and its embedded PostgreSQL if any
                postmaster = postmaster_pid(data_dir / "postgres")
                return [process.pid] + ([postmaster] if postmaster else [])

            credentials = create_client(data_dir)
            yield Server(base, credentials, trees), database_url(data_dir)
    finally:
        stop_leftover_postgres(data_dir / "postgres")


@contextlib.contextmanager
def ceiling_server(args: argparse.Namespace, tmp: Path) -> Iterator[Server]:
    """The ceiling: tests/bench/ceiling_app.py on granian's ASGI interface, as many workers."""
    port, credentials = free_port(), basic("ceiling", "not-a-secret")
    base, log = f"http://127.0.0.1:{port}", tmp / "ceiling.log"
    command = [sys.executable, "-m", "granian", "--interface", "asgi", "--loop", "uvloop",
               "--workers", str(args.workers), "--no-access-log", "--host", "127.0.0.1",
               "--port", str(port), "tests.bench.ceiling_app:app"]  # fmt: skip
    with serving(command, log) as process:
        wait_until(process, log, token_request(base, credentials, GRANT_FORM))
        yield Server(base, credentials, lambda: [process.pid])


def grant(name: str, server: Server, args: argparse.Namespace, index: int) -> tuple[Wrk, Wrk]:
    """Round `index` of client_credentials against `server`: its warmup, then its run."""
    warmup_s = WARMUP_S if index == 0 else ROUND_WARMUP_S
    return measure(
        name, server.token_url, GRANT_FORM, server.credentials, args,
        servers=server.trees, warmup_s=warmup_s,
    )  # fmt: skip


def run_rounds(args: argparse.Namespace, tmp: Path) -> Outcome:
    """Both servers up at once; each round measures the ceiling, then issuance, so a drift in
    the machine's speed (other work on it) reaches both sides of a round's ratio alike. Before
    each ceiling run, keyledger's followers finish what the last issuance appended."""
    with ceiling_server(args, tmp) as ceiling, keyledger_server(args, tmp) as (kl, url):
        with httpx.Client(timeout=10) as client:
            issued = answer(client, token_request(kl.base, kl.credentials, GRANT_FORM))
        form = urlencode({"token": issued["access_token"]})
        before = count_issued(url)
        rounds, answered = [], 0
        for index in range(args.rounds):
            followers_caught_up(url)
            _, ceiling_run = grant("ceiling", ceiling, args, index)
            issuance_warmup, issuance = grant("issuance", kl, args, index)
            rounds.append(Round(ceiling_run, issuance))
            answered += issuance_warmup.ok + issuance.ok
        time.sleep(1.0)  # requests in flight when wrk stopped may still append
        appended = count_issued(url) - before
        followers_caught_up(url)
        introspect = token_request(kl.base, kl.credentials, form, "/oauth/introspect")
        with httpx.Client(timeout=10) as client:
            if answer(client, introspect).get("active") is not True:
                raise BenchError("POST /oauth/introspect did not answer active: true")
        introspection = measure(
            "introspection", str(introspect.url), form, kl.credentials, args, servers=kl.trees
        )[1]
    return Outcome(rounds, introspection, answered, appended)


def ceiling_only(args: argparse.Namespace, tmp: Path) -> list[Wrk]:
    with ceiling_server(args, tmp) as ceiling:
        return [grant("ceiling", ceiling, args, index)[1] for index in range(args.rounds)]


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--duration", type=int, default=10, help="seconds per measured run (10)")
    parser.add_argument("--rounds", type=int, default=3, help="ceiling/issuance rounds (3)")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections (32)")
    parser.add_argument("--workers", type=int, default=2, help="HTTP worker processes (2)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--check", action="store_true", help="exit 1 if a target is missed")
    parser.add_argument("--ceiling-only", action="store_true", help="skip the keyledger phase")
    args = parser.parse_args(argv)
    if args.rounds < 1 or args.duration < 1:
        parser.error("--rounds and --duration must be at least 1")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if shutil.which("wrk") is None:
        _say("bench_oauth: wrk is not installed (apt-get install wrk)")
        return 2
    tmp = Path(tempfile.mkdtemp(prefix="klbench-oauth-"))
    try:
        outcome: Outcome | list[Wrk] = (
            ceiling_only(args, tmp) if args.ceiling_only else run_rounds(args, tmp)
        )
    except BenchError as error:
        _say(f"bench_oauth: {error}")
        return 2
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    met = targets(outcome)
    if args.json:
        print(json.dumps(as_json(args, outcome)))
    else:
        print("\n".join(table(args, outcome)))
    return 1 if args.check and not all(met.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
