"""Bad input to the connection routes gets an error in the OAuth JSON shape, never a 500
(property-based): hostile callback parameters on a live pending connection, hostile bodies
for starting a connection and registering a provider."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tests.e2e.connections.harness import Downstream, Upstream, User, state_of

pytestmark = pytest.mark.asyncio

_HOSTILE = st.one_of(
    st.text(max_size=40),
    st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=300),
    st.just("\x00"),
    st.just("x" * 5000),
    st.just("https://evil.example"),
    st.just("access_denied"),
)
_CALLBACK = st.fixed_dictionaries(
    {}, optional=dict.fromkeys(("code", "iss", "error", "error_description"), _HOSTILE)
)
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | _HOSTILE,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=6,
)
_START = st.fixed_dictionaries(
    {}, optional={"provider": _JSON, "workspace_id": _JSON, "scopes": _JSON, "extra": _JSON}
)
_PROVIDER = st.fixed_dictionaries(
    {"name": _HOSTILE, "client_id": _HOSTILE},
    optional={
        "authorization_endpoint": _HOSTILE, "token_endpoint": _HOSTILE, "issuer": _HOSTILE,
        "scopes": st.lists(_HOSTILE, max_size=3), "refresh_margin_s": st.integers(),
        "max_token_age_s": st.integers(), "client_secret": _HOSTILE,
    },
)  # fmt: skip
_SETTINGS = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def _json_error(answer: Any) -> None:
    assert answer.status_code < 500, answer.text
    if answer.status_code >= 400:
        assert set(answer.json()) == {"error", "error_description", "error_code"}, answer.text


@pytest.fixture(scope="module")
async def caller(down: Downstream, upstream: Upstream) -> tuple[User, str, str]:
    provider = await down.register_provider(upstream, await upstream.connector_client())
    return await down.user(), provider, upstream.base


@_SETTINGS
@given(params=_CALLBACK)
@example(params={"error": "\x00"})
@example(params={"error": "access_denied", "error_description": "\x00" * 3})
@example(params={"code": "\x00"})
@example(params={"iss": "\x00"})
async def test_the_callback_never_answers_500(
    down: Downstream, caller: tuple[User, str, str], params: dict[str, str]
) -> None:
    user, provider, issuer = caller
    started = await down.http.post(
        "/connections", json={"provider": provider}, headers=user.headers
    )
    state = state_of(started.json()["authorization_url"])
    # The provider's own iss unless the example replaces it: the checks after it are reached.
    query = {"state": state, "iss": issuer, **params}
    answer = await down.http.get("/connections/callback", params=query)
    _json_error(answer)
    assert answer.status_code != 200 or answer.json()["status"] == "healthy"


@_SETTINGS
@given(body=_START)
async def test_starting_a_connection_never_answers_500(
    down: Downstream, caller: tuple[User, str, str], body: dict[str, Any]
) -> None:
    user, _, _ = caller
    _json_error(await down.http.post("/connections", json=body, headers=user.headers))


@_SETTINGS
@given(body=_PROVIDER)
async def test_registering_a_provider_never_answers_500(
    down: Downstream, caller: tuple[User, str, str], body: dict[str, Any]
) -> None:
    admin = await down.admin_headers()
    _json_error(await down.http.post("/manage/providers", json=body, headers=admin))
