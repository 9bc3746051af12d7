"""Bad input to the OAuth endpoints gets a protocol error, never a 500 (property-based).

Hypothesis composes bodies from the endpoints' own parameter names, plausible and hostile
values (empty, huge, non-ASCII, NUL, token-shaped), in both body encodings and with or
without client credentials, and the real app must answer each with a 2xx or a 4xx that
carries the RFC error shape.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from litestar import Litestar
from litestar.testing import AsyncTestClient

_NAMES = (
    "grant_type", "scope", "code", "redirect_uri", "code_verifier", "refresh_token",
    "username", "password", "client_id", "client_secret", "token", "token_type_hint",
)  # fmt: skip
_VALUES = st.one_of(
    st.sampled_from(
        ["client_credentials", "authorization_code", "refresh_token", "password", "read", ""]
    ),
    st.text(max_size=40),
    st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=300),
    st.just("klr_" + "A" * 43),
    st.just("x" * 70_000),
    st.just("\x00"),
)
_BODIES = st.dictionaries(st.sampled_from(_NAMES), _VALUES, max_size=6)


@pytest.fixture
async def credentials(make_client: Any) -> tuple[str, str]:
    client = await make_client(grant_types=("client_credentials", "refresh_token", "password"))
    basic: tuple[str, str] = client.basic
    return basic


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    body=_BODIES,
    shape=st.tuples(
        st.booleans(),  # as JSON (else a form)
        st.booleans(),  # with client credentials
        st.sampled_from(["/oauth/token", "/oauth/introspect", "/oauth/revoke"]),
    ),
)
async def test_oauth_endpoints_never_answer_500(
    api: AsyncTestClient[Litestar],
    credentials: tuple[str, str],
    body: dict[str, str],
    shape: tuple[bool, bool, str],
) -> None:
    as_json, authenticated, path = shape
    kwargs: dict[str, Any] = {"auth": credentials} if authenticated else {}
    if as_json:
        kwargs["json"] = body
    else:
        kwargs["content"] = urlencode(body).encode()
        kwargs["headers"] = {"content-type": "application/x-www-form-urlencoded"}
    answer = await api.post(path, **kwargs)
    assert answer.status_code < 500, (path, body)
    if answer.status_code >= 400:
        error = answer.json()
        assert set(error) == {"error", "error_description", "error_code"}, error
