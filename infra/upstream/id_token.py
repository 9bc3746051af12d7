"""Checking an ID token that came back with a code exchange (OpenID Connect Core 3.1.3.7).

It came straight from the token endpoint, so TLS already vouches for its origin (item 6);
the signature is still checked whenever the provider publishes a JWKS. Then `iss`, `aud`,
`azp`, `exp` and, above all, `nonce`: the one bound to this authorization (item 11).
"""

from __future__ import annotations

import hmac
from datetime import datetime
from typing import Final

import httpx
import msgspec

from infra.crypto.jwt import VerifyingKeys, signed_payload
from infra.upstream.http import Answer, exchange

__all__ = ["IdTokenError", "check_id_token", "fetch_keys", "verified_claims"]

_SIGNING_ALGS: Final = frozenset({"ES256", "RS256"})
# Clocks differ a little between keyledger and the provider.
_LEEWAY_S: Final = 60


class IdTokenError(Exception):
    """The ID token does not belong to this authorization; the message says which check failed."""


class _Claims(msgspec.Struct):
    iss: str
    sub: str
    aud: str | list[str]
    exp: int
    nonce: str | None = None
    azp: str | None = None


class _Jwks(msgspec.Struct):
    keys: list[dict[str, object]]


_claims: Final = msgspec.json.Decoder(_Claims)
_all_claims: Final = msgspec.json.Decoder(dict[str, object])
_jwks: Final = msgspec.json.Decoder(_Jwks)


async def fetch_keys(http: httpx.AsyncClient, jwks_uri: str) -> VerifyingKeys:
    """The provider's ES256/RS256 signing keys; keys of other kinds in its JWKS are left out."""
    answer = await exchange(http, "GET", jwks_uri, headers={"Accept": "application/json"})
    if not isinstance(answer, Answer) or answer.status != 200:
        raise IdTokenError("the provider's JWKS could not be fetched")
    try:
        keys = [
            jwk for jwk in _jwks.decode(answer.body).keys
            if jwk.get("alg") in _SIGNING_ALGS and jwk.get("use", "sig") == "sig"
        ]  # fmt: skip
        return VerifyingKeys.from_jwks(keys)
    except (msgspec.DecodeError, ValueError) as error:
        raise IdTokenError(f"the provider's JWKS is not usable: {error}") from None


def check_id_token(
    id_token: str,
    *,
    issuer: str | None,
    client_id: str,
    nonce: str,
    now: datetime,
    keys: VerifyingKeys | None,
) -> str:
    """The subject (`sub`) if every check passes; IdTokenError naming the first that fails."""
    claims = verified_claims(
        id_token, issuer=issuer, client_id=client_id, nonce=nonce, now=now, keys=keys
    )
    subject = claims["sub"]
    assert isinstance(subject, str)
    return subject


def verified_claims(
    id_token: str,
    *,
    issuer: str | None,
    client_id: str,
    nonce: str,
    now: datetime,
    keys: VerifyingKeys | None,
) -> dict[str, object]:
    """Every claim of the ID token once every check passes (single sign-on reads the email
    and name too); IdTokenError naming the first check that fails."""
    if keys is not None:
        verified = keys.verify(id_token)
        if verified is None:
            raise IdTokenError("the ID token's signature does not verify with the provider's keys")
    payload = signed_payload(id_token)
    if payload is None:
        raise IdTokenError("the ID token is not a compact JWS")
    try:
        claims = _claims.decode(payload)
    except msgspec.DecodeError:
        raise IdTokenError("the ID token lacks iss, sub, aud or exp") from None
    if issuer is not None and claims.iss != issuer:
        raise IdTokenError("the ID token's iss is not the provider's")
    audiences = [claims.aud] if isinstance(claims.aud, str) else claims.aud
    if client_id not in audiences or (len(audiences) > 1 and claims.azp != client_id):
        raise IdTokenError("the ID token is not for keyledger's client")
    if claims.exp + _LEEWAY_S < now.timestamp():
        raise IdTokenError("the ID token has expired")
    if claims.nonce is None or not hmac.compare_digest(claims.nonce.encode(), nonce.encode()):
        raise IdTokenError("the ID token's nonce is not this authorization's")
    return _all_claims.decode(payload)
