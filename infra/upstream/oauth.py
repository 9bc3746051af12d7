"""keyledger as an OAuth client of a provider: code exchange and refresh (RFC 6749 4.1.3, 6),
introspection (RFC 7662), revocation (RFC 7009) and OIDC UserInfo, answers classified.

No token appears in what these return except inside a `Secret`, and no error message quotes
what the provider sent beyond its RFC `error` code and a bounded description.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final, Literal

import httpx
import msgspec

from infra.crypto.secret import Secret
from infra.upstream.http import Answer, InDoubt, Unsent, exchange

__all__ = [
    "ClientCredentials",
    "Granted",
    "Health",
    "Refused",
    "TokenOutcome",
    "check_userinfo",
    "fetch_userinfo",
    "introspect",
    "redeem_code",
    "refresh",
    "revoke",
]

_DESCRIPTION_LIMIT: Final = 200
# RFC 6749 5.2: printable ASCII without '"' and '\\'; anything else is not an error code.
_ERROR_CODE: Final = re.compile(r"[\x20\x21\x23-\x5b\x5d-\x7e]{1,64}")


@dataclass(frozen=True, slots=True)
class ClientCredentials:
    client_id: str
    secret: Secret | None
    method: Literal["client_secret_basic", "client_secret_post", "none"]


@dataclass(frozen=True, slots=True)
class Granted:
    access_token: Secret
    refresh_token: Secret | None
    expires_in: int | None
    refresh_expires_in: int | None
    scope: str | None
    id_token: str | None


@dataclass(frozen=True, slots=True)
class Refused:
    """The provider answered with an error: the request was processed and refused."""

    error: str
    description: str
    status: int


TokenOutcome = Granted | Refused | Unsent | InDoubt
Health = Literal["active", "inactive", "unavailable"]


class _TokenBody(msgspec.Struct):
    access_token: str
    token_type: str = "Bearer"
    expires_in: int | None = None
    refresh_token: str | None = None
    # Not in RFC 6749, but sent by several providers for expiring refresh tokens.
    refresh_token_expires_in: int | None = None
    scope: str | None = None
    id_token: str | None = None


class _ErrorBody(msgspec.Struct):
    error: str
    error_description: str | None = None


class _Introspection(msgspec.Struct):
    active: bool


_token_body: Final = msgspec.json.Decoder(_TokenBody)
_error_body: Final = msgspec.json.Decoder(_ErrorBody)
_introspection: Final = msgspec.json.Decoder(_Introspection)
_userinfo: Final = msgspec.json.Decoder(dict[str, object])


def _authenticated(
    form: dict[str, str], client: ClientCredentials
) -> tuple[dict[str, str], tuple[str, str] | None]:
    """RFC 6749 2.3.1: the secret in Basic auth (the default) or in the form body."""
    if client.method == "client_secret_basic" and client.secret is not None:
        return form, (client.client_id, client.secret.reveal())
    form = {**form, "client_id": client.client_id}
    if client.method == "client_secret_post" and client.secret is not None:
        form["client_secret"] = client.secret.reveal()
    return form, None


def _refused(answer: Answer) -> Refused:
    try:
        body = _error_body.decode(answer.body)
        error, description = body.error, body.error_description or ""
    except msgspec.DecodeError:
        error, description = f"http_{answer.status}", ""
    if not _ERROR_CODE.fullmatch(error):
        error = f"http_{answer.status}"
    printable = "".join(ch for ch in description[:_DESCRIPTION_LIMIT] if ch.isprintable())
    return Refused(error=error, description=printable, status=answer.status)


def _token_outcome(answer: Answer | Unsent | InDoubt) -> TokenOutcome:
    if not isinstance(answer, Answer):
        return answer
    if answer.status == 200:
        try:
            body = _token_body.decode(answer.body)
        except msgspec.DecodeError:
            # Processed, and whatever it issued is lost: a one-time refresh token is spent.
            return InDoubt("the token answer is not a token response")
        if body.token_type.lower() != "bearer" or not body.access_token:
            return InDoubt("the token answer holds no bearer access token")
        return Granted(
            access_token=Secret(body.access_token),
            refresh_token=Secret(body.refresh_token) if body.refresh_token else None,
            expires_in=body.expires_in,
            refresh_expires_in=body.refresh_token_expires_in,
            scope=body.scope,
            id_token=body.id_token,
        )
    if 400 <= answer.status < 500:
        return _refused(answer)
    # 5xx and anything else: the provider may have committed the rotation before failing.
    return InDoubt(f"the provider answered {answer.status}")


async def redeem_code(
    http: httpx.AsyncClient,
    token_endpoint: str,
    client: ClientCredentials,
    *,
    code: str,
    redirect_uri: str,
    code_verifier: str,
) -> TokenOutcome:
    form, auth = _authenticated(
        {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri,
         "code_verifier": code_verifier},
        client,
    )  # fmt: skip
    headers = {"Accept": "application/json"}
    return _token_outcome(
        await exchange(http, "POST", token_endpoint, data=form, headers=headers, auth=auth)
    )


async def refresh(
    http: httpx.AsyncClient, token_endpoint: str, client: ClientCredentials, refresh_token: Secret
) -> TokenOutcome:
    form, auth = _authenticated(
        {"grant_type": "refresh_token", "refresh_token": refresh_token.reveal()}, client
    )
    headers = {"Accept": "application/json"}
    return _token_outcome(
        await exchange(http, "POST", token_endpoint, data=form, headers=headers, auth=auth)
    )


async def introspect(
    http: httpx.AsyncClient,
    endpoint: str,
    client: ClientCredentials,
    token: Secret,
    *,
    hint: Literal["access_token", "refresh_token"],
) -> Health:
    """RFC 7662: whether the provider says the token works now."""
    form, auth = _authenticated({"token": token.reveal(), "token_type_hint": hint}, client)
    answer = await exchange(
        http, "POST", endpoint, data=form, headers={"Accept": "application/json"}, auth=auth
    )
    if not isinstance(answer, Answer) or answer.status != 200:
        return "unavailable"
    try:
        return "active" if _introspection.decode(answer.body).active else "inactive"
    except msgspec.DecodeError:
        return "unavailable"


async def check_userinfo(http: httpx.AsyncClient, endpoint: str, access_token: Secret) -> Health:
    """OIDC Core 5.3: a 401 (RFC 6750 `invalid_token`) says the access token is dead."""
    headers = {"Authorization": f"Bearer {access_token.reveal()}", "Accept": "application/json"}
    answer = await exchange(http, "GET", endpoint, headers=headers)
    if not isinstance(answer, Answer):
        return "unavailable"
    if answer.status == 200:
        return "active"
    return "inactive" if answer.status == 401 else "unavailable"


async def fetch_userinfo(
    http: httpx.AsyncClient, endpoint: str, access_token: Secret
) -> dict[str, object] | None:
    """OIDC Core 5.3: the claims about the token's user, or None if there is no usable answer.
    The caller must check that `sub` is the ID token's (5.3.2)."""
    headers = {"Authorization": f"Bearer {access_token.reveal()}", "Accept": "application/json"}
    answer = await exchange(http, "GET", endpoint, headers=headers)
    if not isinstance(answer, Answer) or answer.status != 200:
        return None
    try:
        return _userinfo.decode(answer.body)
    except msgspec.DecodeError:
        return None


async def revoke(
    http: httpx.AsyncClient,
    endpoint: str,
    client: ClientCredentials,
    token: Secret,
    *,
    hint: Literal["access_token", "refresh_token"],
) -> bool:
    """RFC 7009 2.2: a 200 means the token no longer works (or never did)."""
    form, auth = _authenticated({"token": token.reveal(), "token_type_hint": hint}, client)
    answer = await exchange(http, "POST", endpoint, data=form, auth=auth)
    return isinstance(answer, Answer) and answer.status == 200
