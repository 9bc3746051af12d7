"""An ID token from a provider's token endpoint: signed by the provider's key, for keyledger's
client, unexpired, and carrying this authorization's nonce (OIDC Core 3.1.3.7)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from infra.crypto.jwt import SigningKey, VerifyingKeys
from infra.upstream.id_token import IdTokenError, check_id_token

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
KEY = SigningKey.generate("ES256", "up-1")
KEYS = VerifyingKeys.from_signing_keys([KEY])
ISSUER = "https://provider.example"


def id_token(key: SigningKey = KEY, **claims: object) -> str:
    base: dict[str, object] = {
        "iss": ISSUER, "sub": "acct-7", "aud": "keyledger", "exp": int(NOW.timestamp()) + 300,
        "nonce": "n-123",
    }  # fmt: skip
    return key.sign_jwt({**base, **claims})


def check(token: str, nonce: str = "n-123") -> str:
    return check_id_token(
        token, issuer=ISSUER, client_id="keyledger", nonce=nonce, now=NOW, keys=KEYS
    )


def test_a_good_id_token_gives_the_account_subject() -> None:
    assert check(id_token()) == "acct-7"


@pytest.mark.parametrize(
    ("token", "why"),
    [
        (id_token(nonce="n-other"), "nonce"),
        (id_token(nonce=None), "nonce"),
        (id_token(aud="someone-else"), "not for keyledger"),
        (id_token(aud=["keyledger", "other"]), "not for keyledger"),  # several, no azp
        (id_token(iss="https://evil.example"), "iss"),
        (id_token(exp=int(NOW.timestamp()) - 3600), "expired"),
        (id_token(SigningKey.generate("ES256", "up-1")), "signature"),
        ("not-a-jwt", "signature"),
    ],
)
def test_an_id_token_of_another_authorization_is_refused(token: str, why: str) -> None:
    with pytest.raises(IdTokenError, match=why):
        check(token)
