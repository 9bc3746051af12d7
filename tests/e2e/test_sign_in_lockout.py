"""Lockout after failed sign-ins (domain/policies/lockout.py), per account and per address.

The per-account rule (5 failures in 15 min) is also driven on the login page in
test_authorize_errors.py and with TOTP in test_token_grants.py; here, the address rule and
what a success clears, through the password grant from addresses of the tests' own.
"""

from __future__ import annotations

import contextlib
import secrets
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from litestar import Litestar

from domain.policies import lockout
from schemas.envelope import Metadata
from services.authority import Authority
from services.users import create_user

PASSWORD = "correct horse"

Open = Callable[[], httpx.AsyncClient]


@pytest.fixture
async def addresses(app: Litestar) -> AsyncIterator[Open]:
    """HTTP clients of the app, each from an address no other test uses."""
    async with contextlib.AsyncExitStack() as stack:

        def open_client() -> httpx.AsyncClient:
            address = f"2001:db8:10c::{secrets.token_hex(2)}:{secrets.token_hex(2)}"
            transport = httpx.ASGITransport(app=app, client=(address, 50000))  # type: ignore[arg-type]
            client = httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8000")
            stack.push_async_callback(client.aclose)
            return client

        yield open_client


async def _script(make_client: Any, authority: Authority) -> tuple[Any, str]:
    client = await make_client(grant_types=("password",), scopes=("read",))
    username = f"lockout-{uuid.uuid4().hex[:8]}"
    await create_user(authority.store, username, PASSWORD, Metadata(), service_account=True)
    return client, username


def _grant(username: str, password: str) -> dict[str, str]:
    return {"grant_type": "password", "username": username, "password": password}


async def test_failures_from_one_address_lock_it_out_whatever_the_account(
    addresses: Open, make_client: Any, authority: Authority
) -> None:
    client, username = await _script(make_client, authority)
    guesser, elsewhere = addresses(), addresses()
    for n in range(lockout.SOURCE.threshold):  # unknown accounts count against the address
        guess = _grant(f"nobody-{n}-{uuid.uuid4().hex[:6]}", "guess")
        answer = await guesser.post("/oauth/token", data=guess, auth=client.basic)
        assert answer.json()["error_code"] == "invalid_credentials", n
    locked = await guesser.post("/oauth/token", data=_grant(username, PASSWORD), auth=client.basic)
    assert (locked.status_code, locked.json()["error_code"]) == (429, "too_many_attempts")
    # The base delay runs from the latest failure.
    assert 1 <= int(locked.headers["retry-after"]) <= lockout.SOURCE.base_delay.seconds + 1
    # The account itself has no failure: from another address it signs in.
    fine = await elsewhere.post("/oauth/token", data=_grant(username, PASSWORD), auth=client.basic)
    assert fine.status_code == 200, fine.text


async def test_a_success_clears_the_accounts_failures(
    addresses: Open, make_client: Any, authority: Authority
) -> None:
    client, username = await _script(make_client, authority)
    web = addresses()
    below = lockout.ACCOUNT.threshold - 1
    wrong, right = _grant(username, "wrong horse"), _grant(username, PASSWORD)

    async def statuses(form: dict[str, str], times: int) -> list[int]:
        return [
            (await web.post("/oauth/token", data=form, auth=client.basic)).status_code
            for _ in range(times)
        ]

    assert await statuses(wrong, below) == [401] * below
    assert await statuses(right, 1) == [200]
    # Counted from the success on: as many failures again, and the account is still open.
    assert await statuses(wrong, below) == [401] * below
    assert await statuses(right, 1) == [200]
    # As many failures as the threshold since the last success: locked.
    assert await statuses(wrong, lockout.ACCOUNT.threshold) == [401] * lockout.ACCOUNT.threshold
    assert await statuses(right, 1) == [429]
