"""What every admin subcommand shares: how it runs, how a refusal ends it, how it prints.

A subcommand's body runs against an Authority opened exactly as `keyledger serve` opens its
own (the runner comes from services.cli). Exit codes: 0 done, 1 refused, 2 bad arguments
(a `UsageError` before any server starts, or a refusal for an invalid value).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Coroutine
from typing import Any, Final

import msgspec

from schemas.envelope import Metadata
from services.authority import Authority
from services.refusals import Refused

__all__ = [
    "METADATA",
    "SHOWN_ONCE",
    "Body",
    "Runner",
    "UsageError",
    "complain",
    "emit",
    "guarded",
    "handler",
    "leaf",
]

Body = Callable[[Authority], Coroutine[Any, Any, int]]
# Runs a body against the configured Authority and returns its exit code (services.cli).
Runner = Callable[[argparse.Namespace, Body], int]

METADATA: Final = Metadata(actor="admin", actor_id="cli")
SHOWN_ONCE: Final = "(shown once: store it now, it cannot be read back)"


class UsageError(Exception):
    """Arguments that cannot work; reported before any server is started (exit 2)."""


def emit(args: argparse.Namespace, answer: msgspec.Struct, human: list[str]) -> None:
    text = msgspec.json.encode(answer).decode() if args.json else "\n".join(human)
    sys.stdout.write(text + "\n")


def complain(message: str) -> None:
    sys.stderr.write(f"keyledger: {message}\n")


def guarded(body: Body) -> Body:
    """A refusal becomes one line on stderr and exit 1 (2 for an invalid value)."""

    async def run(authority: Authority) -> int:
        try:
            return await body(authority)
        except Refused as refused:
            complain(refused.description)
            return 2 if refused.reason == "invalid_request" else 1

    return run


def handler(
    command: Callable[..., int], run: Runner, **bound: Any
) -> Callable[[argparse.Namespace], int]:
    def handle(args: argparse.Namespace) -> int:
        try:
            code: int = command(args, run=run, **bound)
        except UsageError as error:
            complain(str(error))
            return 2
        return code

    return handle


def leaf(
    group: Any, name: str, help_: str, handle: Callable[[argparse.Namespace], int]
) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = group.add_parser(name, help=help_)
    parser.set_defaults(handler=handle)
    parser.add_argument("--data-dir", help="where embedded servers keep their data")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    return parser
