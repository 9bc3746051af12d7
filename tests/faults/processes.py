"""keyledger processes a fault test owns: started, killed with SIGKILL, started again.

Each runs in a session of its own (its process group holds the granian workers and the
worker process `serve` starts), its output appended to a log file the test can read, and
is always stopped at the end, killed if it will not stop.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import httpx

__all__ = ["Deployment", "OwnedProcess", "serve", "worker"]

_READY_TIMEOUT_S = 90.0
_STOP_TIMEOUT_S = 20.0


@dataclass(frozen=True)
class Deployment:
    """What every keyledger process of one test shares: servers, stream, keys, data dir."""

    database_url: str
    nats_url: str
    nats_stream: str
    subject_prefix: str
    master_key: str
    data_dir: Path
    extra: Mapping[str, str] = field(default_factory=dict)

    def env(self, **settings: str) -> dict[str, str]:
        # Nothing of the environment's own KEYLEDGER_* (a CI's external servers) leaks in.
        env = {k: v for k, v in os.environ.items() if not k.startswith("KEYLEDGER_")}
        env.update(
            KEYLEDGER_DATABASE_URL=self.database_url,
            KEYLEDGER_NATS_URL=self.nats_url,
            KEYLEDGER_NATS_STREAM=self.nats_stream,
            KEYLEDGER_SUBJECT_PREFIX=self.subject_prefix,
            KEYLEDGER_MASTER_KEY=self.master_key,
            KEYLEDGER_DATA_DIR=str(self.data_dir),
            KEYLEDGER_LOG_FORMAT="json",
            KEYLEDGER_POLL_INTERVAL_MS="100",
        )
        env.update(self.extra)
        env.update({f"KEYLEDGER_{name.upper()}": value for name, value in settings.items()})
        return env


class OwnedProcess:
    """A command in its own session, its output in `log_path`."""

    def __init__(self, name: str, command: list[str], env: dict[str, str], log_path: Path):
        self.name = name
        self.command = command
        self.env = env
        self.log_path = log_path
        self.base_url: str | None = None
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        assert self._process is not None, f"{self.name} is not started"
        return self._process.pid

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self) -> OwnedProcess:
        with self.log_path.open("ab") as log:
            self._process = subprocess.Popen(
                self.command, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, start_new_session=True,
            )  # fmt: skip
        return self

    async def ready(self, path: str = "/readyz") -> None:
        """Wait until the process answers 200 on `path` (an HTTP server) or fail."""
        assert self.base_url is not None
        deadline = time.monotonic() + _READY_TIMEOUT_S
        async with httpx.AsyncClient(base_url=self.base_url, timeout=2) as http:
            while time.monotonic() < deadline:
                if not self.running:
                    raise AssertionError(f"{self.name} exited at start:\n{self.log_tail()}")
                try:
                    if (await http.get(path)).status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.1)
        raise AssertionError(f"{self.name} was not ready in time:\n{self.log_tail()}")

    def children(self) -> list[tuple[int, str]]:
        """Direct children of the process: (pid, command line). Linux /proc."""
        pids: list[str] = []
        # Each thread lists the children it started (serve restarts its worker from a thread).
        for task in Path(f"/proc/{self.pid}/task").glob("*"):
            try:
                pids += (task / "children").read_text().split()
            except OSError:
                continue  # the thread ended meanwhile
        found = []
        for pid in pids:
            try:
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
            except OSError:
                continue  # exited meanwhile
            found.append((int(pid), cmdline.replace(b"\0", b" ").decode(errors="replace")))
        return found

    def worker_pid(self) -> int | None:
        """The `keyledger worker` a `keyledger serve` runs (relay, projector), if running."""
        return next((pid for pid, cmd in self.children() if "services.cli worker" in cmd), None)

    def granian_workers(self) -> list[int]:
        """The HTTP worker processes of a `keyledger serve`."""
        return [pid for pid, cmd in self.children() if "services.cli serve" in cmd]

    def kill(self) -> None:
        """SIGKILL to every process of the group: no handler runs, nothing is flushed."""
        if self._process is None:
            return
        _signal_group(self._process.pid, signal.SIGKILL)
        self._process.wait()

    def stop(self) -> None:
        """Interrupt the group, as Ctrl-C would; killed if it does not exit in time."""
        if self._process is None:
            return
        if self._process.poll() is None:
            _signal_group(self._process.pid, signal.SIGINT)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._process.wait(timeout=_STOP_TIMEOUT_S)
        # Whatever the leader left behind in its group goes too.
        _signal_group(self._process.pid, signal.SIGKILL)
        self._process.wait()

    def log_lines(self) -> list[str]:
        try:
            return self.log_path.read_text(errors="replace").splitlines()
        except OSError:
            return []

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log_lines()[-lines:])


def _signal_group(pgid: int, signum: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):  # the whole group is gone already
        os.killpg(pgid, signum)


def serve(
    deployment: Deployment, port: int, *, workers: int = 1, name: str = "serve"
) -> OwnedProcess:
    """`keyledger serve` on the deployment's servers: API workers plus a worker process."""
    command = [sys.executable, "-m", "services.cli", "serve", "--host", "127.0.0.1"]
    command += ["--port", str(port), "--workers", str(workers)]
    log_path = deployment.data_dir / f"{name}.log"
    process = OwnedProcess(name, command, deployment.env(), log_path)
    process.base_url = f"http://127.0.0.1:{port}"
    return process


def worker(deployment: Deployment, *, name: str = "worker") -> OwnedProcess:
    """`keyledger worker` on the deployment's servers: the relay, projector and checkpointer."""
    command = [sys.executable, "-m", "services.cli", "worker"]
    return OwnedProcess(name, command, deployment.env(), deployment.data_dir / f"{name}.log")
