"""JWS compact tokens (RFC 7515, 7519, 9068) signed with ES256 or RS256, and OIDC `at_hash`.

https://www.rfc-editor.org/rfc/rfc7515  https://www.rfc-editor.org/rfc/rfc7518#section-3
https://www.rfc-editor.org/rfc/rfc9068  https://openid.net/specs/openid-connect-core-1_0.html#CodeIDToken
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Iterable, Mapping
from typing import Any, Literal, TypeAlias

import msgspec
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
)

from infra.resource_server.jws import same_typ, signature_valid

__all__ = ["Algorithm", "SigningKey", "VerifyingKeys", "hash_claim", "signed_payload"]

Algorithm = Literal["ES256", "RS256"]
PrivateKey: TypeAlias = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey
PublicKey: TypeAlias = ec.EllipticCurvePublicKey | rsa.RSAPublicKey

_ALGORITHMS: dict[str, Algorithm] = {"ES256": "ES256", "RS256": "RS256"}
_P256_BYTES = 32
_RSA_MIN_BITS = 2048
_SHA256 = hashes.SHA256()
_ECDSA = ec.ECDSA(_SHA256)
_PKCS1 = padding.PKCS1v15()
# Three non-empty base64url segments; checked before anything is decoded.
_COMPACT = re.compile(r"([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)")

_encoder = msgspec.json.Encoder()


class _Header(msgspec.Struct):
    alg: str
    kid: str
    typ: str | None = None
    crit: list[str] | None = None


_header_decoder = msgspec.json.Decoder(_Header)
_claims_decoder = msgspec.json.Decoder(dict[str, Any])


class SigningKey:
    """A private signing key with its `kid` and `alg`; the header per `typ` is encoded only once."""

    __slots__ = ("_ec_key", "_headers", "alg", "kid", "private_key")

    def __init__(self, kid: str, alg: Algorithm, private_key: PrivateKey) -> None:
        _check_key(alg, private_key.public_key())
        self.kid = kid
        self.alg: Algorithm = alg
        self.private_key = private_key
        self._headers: dict[str, bytes] = {}
        # Decided once: isinstance against the key ABCs is a measurable share of a signature.
        ec_key = private_key if isinstance(private_key, ec.EllipticCurvePrivateKey) else None
        self._ec_key = ec_key

    @classmethod
    def generate(cls, alg: Algorithm, kid: str) -> SigningKey:
        if alg == "ES256":
            return cls(kid, alg, ec.generate_private_key(ec.SECP256R1()))
        return cls(kid, alg, rsa.generate_private_key(public_exponent=65537, key_size=2048))

    @classmethod
    def from_pem(cls, kid: str, alg: Algorithm, pem: bytes) -> SigningKey:
        key = serialization.load_pem_private_key(pem, password=None)
        if not isinstance(key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey):
            raise ValueError(f"signing key {kid!r} is neither an EC nor an RSA private key")
        return cls(kid, alg, key)

    def private_pem(self) -> bytes:
        """Unencrypted PKCS#8: the caller seals it before it is stored."""
        return self.private_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )

    def public_jwk(self) -> dict[str, str]:
        members = _public_members(self.private_key.public_key())
        return {**members, "kid": self.kid, "alg": self.alg, "use": "sig"}

    def sign_jwt(self, claims: Mapping[str, object], *, typ: str = "JWT") -> str:
        header = self._headers.get(typ)
        if header is None:
            fields = {"alg": self.alg, "kid": self.kid, "typ": typ}
            header = self._headers[typ] = _b64encode(_encoder.encode(fields))
        payload = _encoder.encode(claims if isinstance(claims, dict) else dict(claims))
        signing_input = header + b"." + _b64encode(payload)
        if self._ec_key is not None:
            # JWS wants the raw r || s, each 32 bytes big-endian, not the DER that OpenSSL emits.
            r, s = decode_dss_signature(self._ec_key.sign(signing_input, _ECDSA))
            signature = r.to_bytes(_P256_BYTES, "big") + s.to_bytes(_P256_BYTES, "big")
        else:
            assert isinstance(self.private_key, rsa.RSAPrivateKey)
            signature = self.private_key.sign(signing_input, _PKCS1, _SHA256)
        return (signing_input + b"." + _b64encode(signature)).decode("ascii")


class VerifyingKeys:
    """Public keys by `kid`. The algorithm is the key's, never the token's: `none`, HS256 with a
    public key as secret, and any other header/key mismatch are refused before verifying."""

    __slots__ = ("_keys",)

    def __init__(self, keys: Mapping[str, tuple[Algorithm, PublicKey]]) -> None:
        for kid, (alg, public_key) in keys.items():
            _check_key(alg, public_key, kid)
        self._keys = dict(keys)

    @classmethod
    def from_signing_keys(cls, keys: Iterable[SigningKey]) -> VerifyingKeys:
        return cls({key.kid: (key.alg, key.private_key.public_key()) for key in keys})

    @classmethod
    def from_jwks(cls, jwks: Iterable[Mapping[str, object]]) -> VerifyingKeys:
        """ValueError for a JWK that is not a P-256 or RSA signing key with a `kid` and `alg`."""
        keys: dict[str, tuple[Algorithm, PublicKey]] = {}
        for jwk in jwks:
            kid, alg = jwk.get("kid"), _ALGORITHMS.get(str(jwk.get("alg")))
            if not isinstance(kid, str) or alg is None:
                raise ValueError(f"JWK {kid!r} needs a string kid and alg ES256 or RS256")
            if jwk.get("use", "sig") != "sig" or kid in keys:
                raise ValueError(f"JWK {kid!r} is not for signatures or its kid is repeated")
            keys[kid] = (alg, _public_key_from_jwk(kid, jwk))
        return cls(keys)

    def verify(self, token: str, *, typ: str | None = None) -> dict[str, object] | None:
        """The claims if the signature is good (and the header `typ` is `typ`, when given), else
        None; never raises on malformed input. Expiry and audience are the caller's to check."""
        match = _COMPACT.fullmatch(token)
        if match is None:
            return None
        try:
            header = _header_decoder.decode(_b64decode(match[1]))
            found = self._keys.get(header.kid)
            # `crit` names extensions we would have to understand (RFC 7515 §4.1.11): we know none.
            if found is None or header.alg != found[0] or header.crit is not None:
                return None
            if typ is not None and not same_typ(header.typ, typ):
                return None
            signing_input = token[: match.end(2)].encode("ascii")
            if not signature_valid(found[1], signing_input, _b64decode(match[3])):
                return None
            claims: dict[str, object] = _claims_decoder.decode(_b64decode(match[2]))
        except (msgspec.MsgspecError, binascii.Error, ValueError):
            return None
        return claims


def hash_claim(token: str) -> str:
    """OIDC `at_hash` / `c_hash` for ES256 and RS256: base64url of SHA-256's left half."""
    digest = hashlib.sha256(token.encode("ascii")).digest()
    return _b64encode(digest[: len(digest) // 2]).decode("ascii")


def signed_payload(token: str) -> bytes | None:
    """The payload bytes of a compact JWS, unverified: what a digest of a signed document covers."""
    match = _COMPACT.fullmatch(token)
    if match is None:
        return None
    try:
        return _b64decode(match[2])
    except (binascii.Error, ValueError):
        return None


def _check_key(alg: str, public_key: PublicKey, kid: str = "") -> None:
    if alg == "ES256":
        if not isinstance(public_key, ec.EllipticCurvePublicKey) or not isinstance(
            public_key.curve, ec.SECP256R1
        ):
            raise ValueError(f"ES256 key {kid!r} must be on curve P-256")
    elif alg == "RS256":
        if not isinstance(public_key, rsa.RSAPublicKey) or public_key.key_size < _RSA_MIN_BITS:
            raise ValueError(f"RS256 key {kid!r} must be RSA of at least {_RSA_MIN_BITS} bits")
    else:
        raise ValueError(f"unsupported algorithm {alg!r} for key {kid!r}")


def _public_members(public_key: PublicKey) -> dict[str, str]:
    if isinstance(public_key, ec.EllipticCurvePublicKey):
        numbers = public_key.public_numbers()
        x, y = _b64int(numbers.x, _P256_BYTES), _b64int(numbers.y, _P256_BYTES)
        return {"kty": "EC", "crv": "P-256", "x": x, "y": y}
    rsa_numbers = public_key.public_numbers()
    return {"kty": "RSA", "n": _b64int(rsa_numbers.n), "e": _b64int(rsa_numbers.e)}


def _public_key_from_jwk(kid: str, jwk: Mapping[str, object]) -> PublicKey:
    try:
        if jwk.get("kty") == "EC" and jwk.get("crv") == "P-256":
            x, y = _jwk_bytes(jwk, "x"), _jwk_bytes(jwk, "y")
            if len(x) != _P256_BYTES or len(y) != _P256_BYTES:
                raise ValueError("coordinates must be 32 bytes")
            # Building from numbers checks that the point is on the curve.
            point = ec.EllipticCurvePublicNumbers(
                int.from_bytes(x, "big"), int.from_bytes(y, "big"), ec.SECP256R1()
            )
            return point.public_key()
        if jwk.get("kty") == "RSA":
            n, e = _jwk_bytes(jwk, "n"), _jwk_bytes(jwk, "e")
            numbers = rsa.RSAPublicNumbers(int.from_bytes(e, "big"), int.from_bytes(n, "big"))
            return numbers.public_key()
    except (binascii.Error, ValueError) as error:
        raise ValueError(f"JWK {kid!r} is not a valid public key: {error}") from error
    raise ValueError(f"JWK {kid!r} is neither an EC P-256 nor an RSA key")


def _jwk_bytes(jwk: Mapping[str, object], member: str) -> bytes:
    value = jwk.get(member)
    if not isinstance(value, str) or not re.fullmatch(r"[A-Za-z0-9_-]+", value):
        raise ValueError(f"member {member!r} must be base64url")
    return _b64decode(value)


def _b64int(value: int, size: int = 0) -> str:
    length = max(size, (value.bit_length() + 7) // 8)
    return _b64encode(value.to_bytes(length, "big")).decode("ascii")


def _b64encode(data: bytes) -> bytes:
    return base64.urlsafe_b64encode(data).rstrip(b"=")


def _b64decode(data: str) -> bytes:
    # Callers have already checked the alphabet; only the stripped padding is restored here.
    return base64.urlsafe_b64decode(data + "=" * (-len(data) % 4))
