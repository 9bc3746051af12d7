"""Telling a database outage from a fault: the errors that mean PostgreSQL cannot be reached.

A server that is down, restarting, shutting down or out of connection slots, a connection
lost mid-query, a pool that cannot hand one out in time: the request may succeed if sent
again shortly (HTTP 503 with Retry-After), and followers simply try again. Anything else
from the driver is a bug or a refusal of the query itself, and stays what it is.
"""

from __future__ import annotations

from typing import Final

import asyncpg

__all__ = ["OUTAGE_ERRORS", "is_outage"]

# Base classes of every error `is_outage` may accept: what an exception handler registers.
OUTAGE_ERRORS: Final[tuple[type[Exception], ...]] = (
    OSError,  # refused, reset, unreachable; TimeoutError (connect, pool acquire) is one too
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
)

_SERVER_GONE: Final[tuple[type[Exception], ...]] = (
    asyncpg.PostgresConnectionError,  # SQLSTATE class 08, and a connection lost mid-query
    asyncpg.AdminShutdownError,  # 57P01: the server is stopping (fast or immediate)
    asyncpg.CrashShutdownError,  # 57P02: another backend crashed, the server restarts
    asyncpg.CannotConnectNowError,  # 57P03: starting up or shutting down
    asyncpg.TooManyConnectionsError,  # 53300: no connection slot left
)


def is_outage(error: BaseException) -> bool:
    """Whether `error` says the database is unreachable for now, rather than a fault."""
    if isinstance(error, (OSError, *_SERVER_GONE)):
        return True
    if not isinstance(error, asyncpg.InterfaceError):
        return False
    # The driver's complaints about a connection the server closed under it: used again
    # ("connection is closed"), or, pooled, handed back by the pool as it died ("released
    # back to the pool") while the error that killed it is being handled (a rollback on
    # the way out). Its other InterfaceErrors are misuse, a bug, not an outage.
    context = error.__context__
    return "connection is closed" in str(error) or (context is not None and is_outage(context))
