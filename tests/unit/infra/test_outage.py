"""Which driver errors are a database outage (503, retry) and which are faults (500)."""

from __future__ import annotations

import asyncpg
import pytest

from infra.postgres.outage import is_outage


def _raised_while_handling(error: Exception, cause: Exception) -> Exception:
    """`error` as Python chains it when raised in an `except` block handling `cause`."""
    try:
        try:
            raise cause
        except Exception:
            raise error  # noqa: B904 (the implicit chaining is the point)
    except Exception as chained:
        return chained


@pytest.mark.parametrize(
    "error",
    [
        ConnectionRefusedError(111, "Connection refused"),
        ConnectionResetError(104, "Connection reset by peer"),
        TimeoutError(),  # a pool that hands out no connection in time
        asyncpg.ConnectionDoesNotExistError("connection was closed in the middle of operation"),
        asyncpg.AdminShutdownError("terminating connection due to administrator command"),
        asyncpg.CannotConnectNowError("the database system is shutting down"),
        asyncpg.TooManyConnectionsError("sorry, too many clients already"),
        asyncpg.InterfaceError("connection is closed"),
    ],
    ids=type,
)
def test_an_unreachable_database_is_an_outage(error: Exception) -> None:
    assert is_outage(error)


@pytest.mark.parametrize(
    "error",
    [
        asyncpg.UniqueViolationError("duplicate key value"),
        asyncpg.QueryCanceledError("canceling statement due to statement timeout"),
        asyncpg.UndefinedTableError('relation "x" does not exist'),
        asyncpg.InterfaceError("cannot perform operation: another operation is in progress"),
        ValueError("not a database error at all"),
    ],
    ids=type,
)
def test_a_query_refused_or_a_misused_driver_is_a_fault(error: Exception) -> None:
    assert not is_outage(error)


def test_a_pooled_connection_used_after_it_died_is_an_outage_only_while_that_is_handled() -> None:
    released = "cannot call Transaction.rollback(): the underlying connection has been released"
    lost = asyncpg.ConnectionDoesNotExistError("connection was closed in the middle of operation")

    assert is_outage(_raised_while_handling(asyncpg.InterfaceError(released), lost))
    assert not is_outage(asyncpg.InterfaceError(released))  # our own misuse: a bug
    unrelated = asyncpg.UniqueViolationError("duplicate key value")
    assert not is_outage(_raised_while_handling(asyncpg.InterfaceError(released), unrelated))
