"""Verifying JWS compact tokens against a JWKS (RFC 7515, 7517, 7518), ES256 and RS256 only.

https://www.rfc-editor.org/rfc/rfc7515  https://www.rfc-editor.org/rfc/rfc8725#section-3.1
The algorithm is the key's (from the JWKS), never the token's: `none`, HS256 keyed with a
public key and any other header/key mismatch fail before a signature is checked.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from typing import Final, Literal, TypeAlias

import msgspec
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

__all__ = ["KeySet", "Verified", "same_typ", "signature_valid"]

Algorithm = Literal["ES256", "RS256"]
PublicKey: TypeAlias = ec.EllipticCurvePublicKey | rsa.RSAPublicKey

_ALGORITHMS: Final[dict[str, Algorithm]] = {"ES256": "ES256", "RS256": "RS256"}
_P256_BYTES: Final = 32
_RSA_MIN_BITS: Final = 2048
_SHA256: Final = hashes.SHA256()
_ECDSA: Final = ec.ECDSA(_SHA256)
_PKCS1: Final = padding.PKCS1v15()
_COMPACT: Final = re.compile(r"([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)")
_BASE64URL: Final = re.compile(r"[A-Za-z0-9_-]+")


class _Header(msgspec.Struct):
    alg: str
    kid: str
    typ: str | None = None
    crit: list[str] | None = None


class _Jwk(msgspec.Struct):
    kid: str
    kty: str
    alg: str | None = None
    use: str = "sig"
    crv: str | None = None
    x: str | None = None
    y: str | None = None
    n: str | None = None
    e: str | None = None


class _Jwks(msgspec.Struct):
    keys: list[msgspec.Raw]


_header_decoder: Final = msgspec.json.Decoder(_Header)
_jwk_decoder: Final = msgspec.json.Decoder(_Jwk)
_jwks_decoder: Final = msgspec.json.Decoder(_Jwks)


class Verified(msgspec.Struct, frozen=True):
    """A token whose signature checked out: the signing key's id and the raw payload."""

    kid: str
    payload: bytes


class KeySet:
    """Public keys by `kid`, with the algorithm each one is for."""

    __slots__ = ("_keys",)

    def __init__(self, keys: Mapping[str, tuple[Algorithm, PublicKey]]) -> None:
        self._keys = dict(keys)

    @classmethod
    def from_jwks(cls, document: bytes) -> KeySet:
        """The usable keys of a JWKS document (RFC 7517 section 5).

        Keys that are not for signatures, not ES256/RS256, or malformed are left out (a JWKS
        may carry keys for others); a document that is not a JWKS is a ValueError.
        """
        try:
            raw_keys = _jwks_decoder.decode(document).keys
        except msgspec.DecodeError as error:
            raise ValueError(f"not a JWKS document: {error}") from None
        keys: dict[str, tuple[Algorithm, PublicKey]] = {}
        for raw in raw_keys:
            try:
                jwk = _jwk_decoder.decode(raw)
                alg = _ALGORITHMS.get(jwk.alg or "")
                if alg is None or jwk.use != "sig" or jwk.kid in keys:
                    continue
                keys[jwk.kid] = (alg, _public_key(alg, jwk))
            except (msgspec.DecodeError, binascii.Error, ValueError):
                continue
        return cls(keys)

    @property
    def kids(self) -> frozenset[str]:
        return frozenset(self._keys)

    def __contains__(self, kid: object) -> bool:
        return kid in self._keys

    def kid_of(self, token: str) -> str | None:
        """The header's `kid`, unverified (to know whether the JWKS must be fetched again)."""
        match = _COMPACT.fullmatch(token)
        if match is None:
            return None
        try:
            return _header_decoder.decode(_b64decode(match[1])).kid
        except (msgspec.DecodeError, binascii.Error, ValueError):
            return None

    def verify(self, token: str, *, typ: str) -> Verified | None:
        """The kid and payload if the signature is good and the header's `typ` is `typ`."""
        match = _COMPACT.fullmatch(token)
        if match is None:
            return None
        try:
            header = _header_decoder.decode(_b64decode(match[1]))
            found = self._keys.get(header.kid)
            # `crit` names extensions we would have to understand (RFC 7515 4.1.11): none.
            if found is None or header.alg != found[0] or header.crit is not None:
                return None
            if not same_typ(header.typ, typ):
                return None
            signing_input = token[: match.end(2)].encode("ascii")
            if not signature_valid(found[1], signing_input, _b64decode(match[3])):
                return None
            return Verified(header.kid, _b64decode(match[2]))
        except (msgspec.DecodeError, binascii.Error, ValueError):
            return None


def _public_key(alg: Algorithm, jwk: _Jwk) -> PublicKey:
    if alg == "ES256":
        if jwk.kty != "EC" or jwk.crv != "P-256":
            raise ValueError("ES256 needs an EC P-256 key")
        x, y = _member(jwk.x), _member(jwk.y)
        if len(x) != _P256_BYTES or len(y) != _P256_BYTES:
            raise ValueError("coordinates must be 32 bytes")
        # Building from numbers checks that the point is on the curve.
        numbers = ec.EllipticCurvePublicNumbers(
            int.from_bytes(x, "big"), int.from_bytes(y, "big"), ec.SECP256R1()
        )
        return numbers.public_key()
    if jwk.kty != "RSA":
        raise ValueError("RS256 needs an RSA key")
    n, e = _member(jwk.n), _member(jwk.e)
    key = rsa.RSAPublicNumbers(int.from_bytes(e, "big"), int.from_bytes(n, "big")).public_key()
    if key.key_size < _RSA_MIN_BITS:
        raise ValueError(f"RSA keys need at least {_RSA_MIN_BITS} bits")
    return key


def _member(value: str | None) -> bytes:
    if value is None or not _BASE64URL.fullmatch(value):
        raise ValueError("a key member is missing or not base64url")
    return _b64decode(value)


def signature_valid(public_key: PublicKey, signing_input: bytes, signature: bytes) -> bool:
    """JWS signature check (RFC 7518 3.3, 3.4); the server's own verifier uses it too."""
    try:
        if isinstance(public_key, ec.EllipticCurvePublicKey):
            if len(signature) != 2 * _P256_BYTES:
                return False
            r = int.from_bytes(signature[:_P256_BYTES], "big")
            s = int.from_bytes(signature[_P256_BYTES:], "big")
            public_key.verify(encode_dss_signature(r, s), signing_input, _ECDSA)
        else:
            public_key.verify(signature, signing_input, _PKCS1, _SHA256)
    except InvalidSignature:
        return False
    return True


def same_typ(actual: str | None, expected: str) -> bool:
    # RFC 7515 4.1.9: "application/" may be omitted; media types compare case-insensitively.
    if actual is None:
        return False
    return actual.lower().removeprefix("application/") == expected.lower().removeprefix(
        "application/"
    )


def _b64decode(data: str) -> bytes:
    return base64.urlsafe_b64decode(data + "=" * (-len(data) % 4))
