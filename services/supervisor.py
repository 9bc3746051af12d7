"""Keeping `keyledger serve`'s worker process running: started again whenever it exits.

The API answers without the worker, so nothing outside would notice one that crashed or was
killed: the relay and the projections would just stop. Their checkpoints make a restart
resume exactly where they were. A worker that keeps failing is restarted less and less often.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from typing import Final

import structlog

__all__ = ["Supervised"]

_FIRST_DELAY_S: Final = 0.5
_MAX_DELAY_S: Final = 30.0
# A process that ran this long was healthy: its next failure starts the back-off over.
_HEALTHY_S: Final = 30.0
_STOP_TIMEOUT_S: Final = 10.0

log = structlog.get_logger(__name__)


class Supervised:
    """A child process, run again after each exit until `stop`; `nice` lowers its priority."""

    def __init__(
        self, command: Sequence[str], env: Mapping[str, str], *, name: str, nice: int = 0
    ) -> None:
        self._command = list(command)
        self._env = dict(env)
        self._name = name
        self._nice = nice
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._process: subprocess.Popen[bytes] | None = None
        self._watcher = threading.Thread(target=self._watch, name=f"supervise-{name}", daemon=True)

    @property
    def pid(self) -> int | None:
        return None if self._process is None else self._process.pid

    def start(self) -> None:
        self._spawn()
        self._watcher.start()

    def _spawn(self) -> None:
        process = subprocess.Popen(self._command, env=self._env)  # noqa: S603 (our own command)
        if self._nice:
            # Set from here rather than in a preexec_fn, which is unsafe once threads run.
            niceness = os.getpriority(os.PRIO_PROCESS, 0) + self._nice
            with contextlib.suppress(ProcessLookupError):  # gone already: the watcher sees it
                os.setpriority(os.PRIO_PROCESS, process.pid, niceness)
        self._process = process

    def _watch(self) -> None:
        delay = _FIRST_DELAY_S
        while True:
            assert self._process is not None
            started = time.monotonic()
            code = self._process.wait()
            if self._stopping.is_set():
                return
            if time.monotonic() - started >= _HEALTHY_S:
                delay = _FIRST_DELAY_S
            log.warning("process_exited", process=self._name, exit_status=code, restart_in_s=delay)
            if self._stopping.wait(delay):
                return
            with self._lock:
                if self._stopping.is_set():
                    return
                self._spawn()
            log.info("process_restarted", process=self._name, pid=self.pid)
            delay = min(2 * delay, _MAX_DELAY_S)

    def stop(self) -> None:
        """Terminate the process (killed if it does not exit in time); no restart after."""
        with self._lock:
            self._stopping.set()
            process = self._process
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=_STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
