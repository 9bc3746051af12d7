"""Property-based fuzzing of the token, introspection, revocation and authorization endpoints.

Unlike the parameter-level fuzzing of tests/e2e/test_no_server_errors.py, these send what a
hostile client controls at the byte level: raw bodies of any content type, query strings,
and the headers that carry credentials. Invariants: no 5xx; every JSON refusal is a
well-formed OAuth error; 429 says when to retry; a token is issued only for a valid
client_credentials request (the log holds exactly the tokens the answers carried); the
authorization endpoint never redirects anywhere but a registered redirect URI.
"""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import quote_from_bytes, urlencode

import asyncpg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests.e2e.authorize_flow import REDIRECT, code_client

# The RFC 6749 5.2, 7009, 7662 and 6750 codes, and what the server itself refuses.
OAUTH_ERRORS = frozenset({
    "invalid_request", "invalid_client", "invalid_grant", "unauthorized_client",
    "unsupported_grant_type", "invalid_scope", "unsupported_token_type", "access_denied",
    "invalid_token", "insufficient_scope", "not_found", "temporarily_unavailable",
})  # fmt: skip
_NAMES = (
    "grant_type", "scope", "code", "redirect_uri", "code_verifier", "refresh_token",
    "username", "password", "client_id", "client_secret", "token", "token_type_hint",
)  # fmt: skip
_TEXT = st.one_of(
    st.sampled_from(["client_credentials", "authorization_code", "refresh_token", "password",
                     "read", "read write", "openid", "", " ", "%00", "\r\n"]),
    st.text(max_size=30),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=60),
)  # fmt: skip
_BYTES = st.one_of(
    st.binary(max_size=200),
    st.builds(lambda d: urlencode(d).encode(), st.dictionaries(st.sampled_from(_NAMES), _TEXT)),
    st.sampled_from([b"\xff\xfe", b"%ff%fe=%c3%28", b"{", b"[]", b'{"grant_type": "\xff"}',
                     b'{"grant_type": {"nested": ["x"]}}', b"a=1&a=2", b"=&=&", b"\x00"]),
)  # fmt: skip
_CONTENT_TYPES = st.sampled_from([
    None, "application/x-www-form-urlencoded", "application/json", "text/plain",
    "multipart/form-data; boundary=x", "application/x-www-form-urlencoded; charset=latin-1",
    "application/json;;;", "",
])  # fmt: skip
_QUERIES = st.one_of(
    st.just(b""),
    st.builds(lambda d: urlencode(d).encode(), st.dictionaries(st.sampled_from(_NAMES), _TEXT)),
    # Any bytes, percent-encoded where a URL cannot carry them: `%ff` stays invalid UTF-8.
    st.binary(max_size=40).map(lambda raw: quote_from_bytes(raw, safe="=&%+").encode()),
)


def _authorization(choice: str, secret: tuple[str, str]) -> str | None:
    pair = f"{secret[0]}:{secret[1]}".encode()
    return {
        "none": None,
        "valid": "Basic " + base64.b64encode(pair).decode(),
        "wrong": "Basic " + base64.b64encode(f"{secret[0]}:nope".encode()).decode(),
        "garbage": "Basic !!!not base64",
        "not utf-8": "Basic " + base64.b64encode(b"\xff\xfe:\xff").decode(),
        "no colon": "Basic " + base64.b64encode(b"just-an-id").decode(),
        "bearer": "Bearer klk_" + "A" * 43,
        "empty": "",
    }[choice]


def assert_well_formed(path: str, status: int, headers: Any, body: bytes) -> None:
    assert status < 500, (path, status, body)
    if status >= 400 and headers.get("content-type", "").startswith("application/json"):
        import msgspec  # noqa: PLC0415

        error = msgspec.json.decode(body)
        assert set(error) == {"error", "error_description", "error_code"}, error
        assert error["error"] in OAUTH_ERRORS, error
        assert all(isinstance(value, str) and value for value in error.values()), error
    if status == 429:
        assert int(headers["retry-after"]) > 0


@pytest.fixture
async def fuzz_client(make_client: Any) -> tuple[str, str]:
    client = await make_client(grant_types=("client_credentials", "refresh_token", "password"))
    basic: tuple[str, str] = client.basic
    return basic


_SETTINGS = settings(
    max_examples=120,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


async def _issued(pool: asyncpg.Pool, client_id: str) -> int:
    async with pool.acquire() as conn:
        count: int = await conn.fetchval(
            "SELECT count(*) FROM events WHERE event_type = 'access_token_issued'"
            " AND metadata->>'client_id' = $1",
            client_id,
        )
    return count


_HOSTILE_REQUESTS = st.fixed_dictionaries({
    "path": st.sampled_from(["/oauth/token", "/oauth/introspect", "/oauth/token/introspect",
                             "/oauth/revoke"]),
    "body": _BYTES,
    "content_type": _CONTENT_TYPES,
    "query": _QUERIES,
    "authorization": st.sampled_from(["none", "valid", "wrong", "garbage", "not utf-8",
                                      "no colon", "bearer", "empty"]),
    "otp": st.one_of(st.none(), st.text(alphabet="0123456789x", max_size=8)),
})  # fmt: skip


@_SETTINGS
@given(hostile=_HOSTILE_REQUESTS)
async def test_token_introspect_and_revoke_survive_hostile_bytes_and_issue_nothing_unearned(
    api: AsyncTestClient[Litestar],
    fuzz_client: tuple[str, str],
    pool: asyncpg.Pool,
    hostile: dict[str, Any],
) -> None:
    path, body, authorization = hostile["path"], hostile["body"], hostile["authorization"]
    headers: dict[str, str] = {}
    if hostile["content_type"] is not None:
        headers["content-type"] = hostile["content_type"]
    credential = _authorization(authorization, fuzz_client)
    if credential is not None:
        headers["authorization"] = credential
    if hostile["otp"] is not None:
        headers["x-otp-code"] = hostile["otp"]
    url = path + ("?" + hostile["query"].decode("ascii") if hostile["query"] else "")
    before = await _issued(pool, fuzz_client[0])
    answer = await api.post(url, content=body, headers=headers)
    assert_well_formed(path, answer.status_code, answer.headers, answer.content)
    issued = path == "/oauth/token" and answer.status_code == 200
    if issued:
        # Only client_credentials can succeed without a secret the fuzzer cannot know.
        assert authorization == "valid" and b"client_credentials" in body, body
        assert answer.json()["token_type"] == "Bearer"
    # The log holds exactly what the answer handed out: nothing for a refusal.
    assert await _issued(pool, fuzz_client[0]) - before == int(issued)


_AUTHORIZE_NAMES = (
    "response_type", "client_id", "redirect_uri", "scope", "state", "code_challenge",
    "code_challenge_method", "nonce", "prompt", "max_age", "lang", "ui_locales",
    "response_mode", "client_secret", "code",
)  # fmt: skip
_AUTHORIZE_VALUES = st.one_of(
    _TEXT,
    st.sampled_from([REDIRECT, REDIRECT + "\r\nSet-Cookie: x=1", "code", "S256", "plain", "none",
                     "login consent", "-1", "9" * 40]),
)  # fmt: skip


@pytest.fixture
async def code_client_id(make_client: Any) -> str:
    return await code_client(make_client)


@_SETTINGS
@given(
    params=st.dictionaries(st.sampled_from(_AUTHORIZE_NAMES), _AUTHORIZE_VALUES, max_size=9),
    shape=st.tuples(
        st.booleans(),  # on top of a valid request
        st.sampled_from(["GET", "POST"]),
        st.one_of(st.none(), _QUERIES),  # raw bytes appended to the query
    ),
)
async def test_authorization_endpoint_survives_hostile_requests_and_redirects_only_home(
    api: AsyncTestClient[Litestar],
    code_client_id: str,
    params: dict[str, str],
    shape: tuple[bool, str, bytes | None],
) -> None:
    valid_base, method, raw_query = shape
    if valid_base:  # mostly valid, so the checks past the client's are reached too
        params = {"response_type": "code", "client_id": code_client_id, "redirect_uri": REDIRECT,
                  "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
                  "code_challenge_method": "S256", **params}  # fmt: skip
    encoded = urlencode(params)
    if raw_query is not None:
        encoded += "&" + raw_query.decode("ascii")
    if method == "GET":
        answer = await api.get(f"/oauth/authorize?{encoded}", follow_redirects=False)
    else:
        answer = await api.post(
            "/oauth/authorize", content=encoded.encode("latin-1"), follow_redirects=False,
            headers={"content-type": "application/x-www-form-urlencoded"},
        )  # fmt: skip
    assert_well_formed("/oauth/authorize", answer.status_code, answer.headers, answer.content)
    assert answer.status_code in (200, 303, 400, 413), answer.status_code
    if answer.status_code == 303:
        location = answer.headers["location"]
        assert location.startswith(REDIRECT + "?"), location
        assert "\r" not in location and "\n" not in location
        assert "set-cookie" not in answer.headers
