"""CPU seconds spent by process trees, from /proc: what a server costs per request.

On a shared machine, requests per second move with whatever else runs; the CPU a server's
processes spend per answered request moves far less, so the benchmarks report both.
A tree's total counts each living process (utime + stime) and, through its parent's
cutime + cstime, every child that exited and was reaped (PostgreSQL's autovacuum workers,
say), so nothing is counted twice or missed across a run.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Final

__all__ = ["postmaster_pid", "tree_cpu_seconds"]

_TICKS: Final = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> tuple[int, float] | None:
    """(parent pid, CPU seconds of the process and its reaped children), or None if gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name may hold spaces and parentheses: fields start after the last ')'.
    fields = text[text.rindex(")") + 2 :].split()
    ppid, ticks = int(fields[1]), sum(int(f) for f in fields[11:15])
    return ppid, ticks / _TICKS


def tree_cpu_seconds(roots: Iterable[int]) -> float:
    """CPU seconds of the processes under `roots` (included), with their reaped children."""
    stats = {
        int(entry.name): stat
        for entry in Path("/proc").iterdir()
        if entry.name.isdigit() and (stat := _stat(int(entry.name))) is not None
    }
    children: dict[int, list[int]] = {}
    for pid, (ppid, _) in stats.items():
        children.setdefault(ppid, []).append(pid)
    total, pending, seen = 0.0, [pid for pid in roots if pid in stats], set()
    while pending:
        pid = pending.pop()
        if pid in seen:
            continue
        seen.add(pid)
        total += stats[pid][1]
        pending.extend(children.get(pid, ()))
    return total


def postmaster_pid(pgdata: Path) -> int | None:
    """The PostgreSQL server running on `pgdata`, if any."""
    try:
        return int((pgdata / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None
