"""Crypto adapters against real libraries, spec vectors and an independent JWS verification."""

from __future__ import annotations

import base64
import hashlib
import json
import stat
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from infra.crypto.digests import SecretHasher, new_token, token_digest
from infra.crypto.jwt import Algorithm, SigningKey, VerifyingKeys, hash_claim
from infra.crypto.master_key import derive_key, load_master_key
from infra.crypto.passwords import hash_password, verify_against_dummy, verify_password
from infra.crypto.sealing import Sealer, SealError
from schemas.events import Digest, PasswordHash, Sealed


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@pytest.fixture(scope="module", params=["ES256", "RS256"])
def key(request: pytest.FixtureRequest) -> SigningKey:
    alg: Algorithm = request.param
    return SigningKey.generate(alg, kid=f"{alg.lower()}-1")


def test_a_token_verifies_through_its_published_jwk(key: SigningKey) -> None:
    claims = {"iss": "https://kl.test", "sub": "u1", "exp": 2_000_000_000, "scope": "a b"}
    token = key.sign_jwt(claims, typ="at+jwt")
    assert VerifyingKeys.from_jwks([key.public_jwk()]).verify(token) == claims
    assert VerifyingKeys.from_signing_keys([key]).verify(token, typ="application/at+jwt") == claims
    assert VerifyingKeys.from_signing_keys([key]).verify(token, typ="JWT") is None


def test_the_wire_format_verifies_without_our_code(key: SigningKey) -> None:
    token = key.sign_jwt({"sub": "u1"})
    header, payload, signature = token.split(".")
    assert json.loads(unb64(header)) == {"alg": key.alg, "kid": key.kid, "typ": "JWT"}
    assert json.loads(unb64(payload)) == {"sub": "u1"}
    public = serialization.load_pem_private_key(key.private_pem(), None).public_key()
    raw, signed = unb64(signature), f"{header}.{payload}".encode()
    if isinstance(public, ec.EllipticCurvePublicKey):
        assert len(raw) == 64
        der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
        public.verify(der, signed, ec.ECDSA(hashes.SHA256()))
        numbers = public.public_numbers()
        jwk = key.public_jwk()
        assert (jwk["kty"], jwk["crv"], jwk["use"]) == ("EC", "P-256", "sig")
        assert (unb64(jwk["x"]), unb64(jwk["y"])) == (
            numbers.x.to_bytes(32, "big"),
            numbers.y.to_bytes(32, "big"),
        )
    else:
        assert isinstance(public, rsa.RSAPublicKey)
        public.verify(raw, signed, padding.PKCS1v15(), hashes.SHA256())
        assert public.key_size == 2048
        assert key.public_jwk()["e"] == "AQAB"
        assert int.from_bytes(unb64(key.public_jwk()["n"]), "big") == public.public_numbers().n


def test_a_key_survives_its_pem(key: SigningKey) -> None:
    again = SigningKey.from_pem(key.kid, key.alg, key.private_pem())
    assert VerifyingKeys.from_signing_keys([key]).verify(again.sign_jwt({"n": 1})) == {"n": 1}


def test_forgeries_and_garbage_are_refused(key: SigningKey) -> None:
    keys = VerifyingKeys.from_signing_keys([key])
    header, payload, signature = key.sign_jwt({"sub": "u1", "admin": False}).split(".")
    other = "ES256" if key.alg == "RS256" else "RS256"
    promoted = b64(b'{"sub":"u1","admin":true}')

    def forged(**fields: str) -> str:
        return f"{b64(json.dumps(fields).encode())}.{payload}.{signature}"

    forgeries = [
        f"{header}.{promoted}.{signature}",
        SigningKey.generate("ES256", kid="stranger").sign_jwt({"sub": "u1"}),
        forged(alg="none", kid=key.kid).removesuffix(signature),
        forged(alg="none", kid=key.kid),
        forged(alg=other, kid=key.kid),
        forged(alg=key.alg),
        f"{header}.{payload}.{signature[:-4]}",
        f"{b64(b'not json')}.{payload}.{signature}",
        f"{b64(b'[1]')}.{payload}.{signature}",
        f"{header}.{payload}",
        f"{header}.{payload}.{signature}.{signature}",
        f"{header}.{payload}.{signature}=",
        f"{header}.{payload}.a",
        "",
        "...",
        "é.é.é",
        "garbage",
    ]
    for token in forgeries:
        assert keys.verify(token) is None, token


def test_at_hash_and_c_hash_match_the_oidc_core_examples() -> None:
    # OpenID Connect Core 1.0, Appendix A.3 (at_hash) and A.4 (c_hash).
    assert hash_claim("jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y") == "77QmUPtjPfzWtF2AnpK9RQ"
    code = "Qcb0Orv1zh30vL1MPRsbm-diHiMwcLyZvn1arpZv-Jxf_11jnpEX3Tgfvk"
    assert hash_claim(code) == "LDktKdoQak3Pk0cnXxCltA"


def test_a_sealed_value_opens_only_in_its_own_context() -> None:
    sealer = Sealer({"k1": bytes(32)}, "k1")
    sealed = sealer.seal(b"totp seed", context="totp:u1")
    assert sealed.startswith("v1.k1.")
    assert sealer.open(sealed, context="totp:u1") == b"totp seed"
    assert sealer.seal(b"totp seed", context="totp:u1") != sealed  # fresh nonce each time
    with pytest.raises(SealError):
        sealer.open(sealed, context="totp:u2")


def test_rotation_keeps_old_values_open_and_seals_with_the_new_key() -> None:
    old = Sealer({"k1": bytes(32)}, "k1").seal(b"seed", context="c")
    rotated = Sealer({"k1": bytes(32), "k2": b"\x01" * 32}, "k2")
    assert rotated.open(old, context="c") == b"seed"
    assert rotated.seal(b"seed", context="c").startswith("v1.k2.")
    with pytest.raises(SealError, match="unknown"):
        Sealer({"k2": b"\x01" * 32}, "k2").open(old, context="c")


DAMAGE: list[Callable[[str], str]] = [
    lambda s: s[:-2] + ("AA" if s[-2:] != "AA" else "BB"),  # flipped ciphertext or tag bits
    lambda s: "v2" + s[2:],
    lambda s: s[:8],
    lambda s: s + ".x",
    lambda s: s + "!",
]


@pytest.mark.parametrize("mutate", DAMAGE)
def test_a_damaged_sealed_value_is_refused(mutate: Callable[[str], str]) -> None:
    sealer = Sealer({"k1": bytes(32)}, "k1")
    damaged = mutate(sealer.seal(b"seed", context="c"))
    with pytest.raises(SealError):
        sealer.open(Sealed(damaged), context="c")


def test_sealer_refuses_short_keys_and_a_missing_current_key() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        Sealer({"k1": bytes(16)}, "k1")
    with pytest.raises(ValueError, match="current"):
        Sealer({"k1": bytes(32)}, "k2")


def test_new_tokens_are_prefixed_256_bit_base64url() -> None:
    token = new_token("klr_")
    assert token.startswith("klr_")
    assert len(unb64(token[4:])) == 32 and len(token) == 4 + 43
    assert new_token("klr_") != token
    assert token_digest(token) == hashlib.sha256(token.encode()).hexdigest()


def test_client_secret_digests_are_keyed_and_checked_against_every_candidate() -> None:
    hasher = SecretHasher(b"k" * 32)
    current, previous = hasher.digest("new-secret"), hasher.digest("old-secret")
    assert SecretHasher(b"j" * 32).digest("new-secret") != current
    assert hasher.verify("new-secret", [current])
    assert hasher.verify("old-secret", [current, previous])
    assert not hasher.verify("guess", [current, previous])
    assert not hasher.verify("new-secret", [])
    assert not hasher.verify("new-secret", [Digest("é")])


def test_passwords_verify_only_with_the_right_password() -> None:
    stored = hash_password("correct horse")
    assert stored.startswith("$argon2id$")
    assert verify_password(stored, "correct horse")
    assert not verify_password(stored, "correct hors")
    assert not verify_password(PasswordHash("not-a-hash"), "correct horse")
    assert not verify_password(PasswordHash(stored[:-6]), "correct horse")
    verify_against_dummy("correct horse")  # spends the time, decides nothing


def test_the_master_key_file_is_created_private_and_read_back(tmp_path: Path) -> None:
    path = tmp_path / "state" / "master.key"
    key = load_master_key(None, path)
    assert len(key) == 32 and path.read_bytes() == key
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_master_key(None, path) == key
    assert list(path.parent.iterdir()) == [path]  # no temporary file left behind


def test_a_given_master_key_is_base64_or_base64url_of_32_bytes(tmp_path: Path) -> None:
    raw = b"\xfb\xff" * 16
    assert load_master_key(base64.b64encode(raw).decode(), tmp_path / "unused") == raw
    assert load_master_key(b64(raw), tmp_path / "unused") == raw
    for bad in ["", "short", base64.b64encode(bytes(16)).decode(), "!" * 44]:
        with pytest.raises(ValueError, match="32 bytes"):
            load_master_key(bad, tmp_path / "unused")
    assert not (tmp_path / "unused").exists()


def test_subkeys_follow_hkdf_sha256() -> None:
    # RFC 5869 test case 3 (no salt, no info); HKDF's first 32 output bytes do not depend on L.
    okm = bytes.fromhex("8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d")
    assert derive_key(b"\x0b" * 22, "") == okm
    assert derive_key(bytes(32), "csrf") != derive_key(bytes(32), "seal:k1")
