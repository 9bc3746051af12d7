"""`keyledger watch revocations`: revocations as they are published, one line each.

For operators and demonstrations: an ordered, ephemeral JetStream consumer on
`<prefix>.revocations.>` (nothing is left behind on the server), from now or from `since`
seconds ago. Lines carry identifiers only (jti, family, client, user ids, kid): never a token.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import UTC, datetime, timedelta
from typing import Final, TextIO

import msgspec
import nats
import nats.errors
import nats.js.errors
from nats.aio.msg import Msg
from nats.js.api import ConsumerConfig, DeliverPolicy

from schemas.messages import revocations_wildcard
from schemas.revocations import (
    ClientRevocation,
    Revocation,
    SigningKeyRevocation,
    TokenFamilyRevocation,
    TokenRevocation,
    UserClientRevocation,
    UserRevocation,
    WorkspaceRevocation,
    decode_revocation,
    kind_of,
)

__all__ = ["WatchError", "describe", "watch_revocations"]

_STAMP: Final = "%Y-%m-%dT%H:%M:%S.%fZ"
_CONNECT_TIMEOUT_S: Final = 5.0

log = logging.getLogger(__name__)


class WatchError(Exception):
    """NATS or the stream cannot be reached; the message says which, in one line."""


def describe(revocation: Revocation) -> str:
    """One line: when, what kind, what it names, why, where in the log, until when."""
    match revocation:
        case TokenRevocation(jti=jti):
            names = f"jti={jti}"
        case TokenFamilyRevocation(family_id=family_id):
            names = f"family_id={family_id}"
        case ClientRevocation(client_id=client_id, issued_before=before):
            names = f"client_id={client_id} issued_before={_stamp(before)}"
        case UserClientRevocation(user_id=user_id, client_id=client_id, issued_before=before):
            names = f"user_id={user_id} client_id={client_id} issued_before={_stamp(before)}"
        case UserRevocation(user_id=user_id, issued_before=before):
            names = f"user_id={user_id} issued_before={_stamp(before)}"
        case SigningKeyRevocation(kid=kid, issued_before=before):
            names = f"kid={kid} issued_before={_stamp(before)}"
        case WorkspaceRevocation(workspace_id=workspace_id, issued_before=before):
            names = f"workspace_id={workspace_id} issued_before={_stamp(before)}"
    return (
        f"{_stamp(revocation.occurred_at)}  {kind_of(revocation):<12}  {names}"
        f"  cause={revocation.cause} position={revocation.global_position}"
        f" forget_after={_stamp(revocation.expires_at)}"
    )


async def watch_revocations(
    nats_url: str,
    *,
    stream: str,
    prefix: str,
    out: TextIO,
    as_json: bool = False,
    since: timedelta | None = None,
    stop: asyncio.Event | None = None,
) -> None:
    """Print revocations until `stop` is set (or the task is cancelled)."""
    try:
        # Reconnect forever once connected, but do not wait forever for a first connection.
        async with asyncio.timeout(_CONNECT_TIMEOUT_S):
            nc = await nats.connect(
                nats_url, name="keyledger-watch", max_reconnect_attempts=-1,
                error_cb=_quietly, reconnected_cb=_reconnected,
            )  # fmt: skip
    except (OSError, TimeoutError, nats.errors.Error) as error:
        why = str(error) or f"no connection in {_CONNECT_TIMEOUT_S:g} s"
        raise WatchError(f"cannot reach NATS at {nats_url}: {why}") from None

    async def show(msg: Msg) -> None:
        try:
            revocation = decode_revocation(msg.data)
        except msgspec.MsgspecError:
            return  # a kind this version does not know
        line = msg.data.decode() if as_json else describe(revocation)
        out.write(line + "\n")
        out.flush()

    config = ConsumerConfig(deliver_policy=DeliverPolicy.NEW)
    if since is not None:
        config = ConsumerConfig(
            deliver_policy=DeliverPolicy.BY_START_TIME, opt_start_time=datetime.now(UTC) - since
        )
    try:
        try:
            await nc.jetstream().subscribe(
                revocations_wildcard(prefix), stream=stream, cb=show, ordered_consumer=True,
                config=config,
            )  # fmt: skip
        except nats.js.errors.NotFoundError:
            raise WatchError(f"no stream {stream} on NATS: has keyledger served yet?") from None
        await (stop or asyncio.Event()).wait()
    finally:
        with contextlib.suppress(nats.errors.Error):
            await nc.drain()


async def _quietly(error: Exception) -> None:
    # nats-py prints a traceback per failed reconnection by default; one line is enough.
    log.warning("nats: %s", error or type(error).__name__)


async def _reconnected() -> None:
    log.warning("nats: reconnected")


def _stamp(at: datetime) -> str:
    return at.astimezone(UTC).strftime(_STAMP)
