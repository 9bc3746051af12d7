"""HOTP and TOTP (RFC 4226, RFC 6238): the RFC vectors, the window and replay refusal."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import parse_qs, unquote, urlsplit

import pytest

from domain.policies.totp import (
    b32_secret,
    hotp,
    key_from_b32,
    provisioning_uri,
    totp,
    verify_totp,
)

# RFC 6238 Appendix B seeds: the ASCII digits repeated to each hash's output length.
SEEDS = {
    "sha1": b"12345678901234567890",
    "sha256": b"12345678901234567890123456789012",
    "sha512": b"1234567890123456789012345678901234567890123456789012345678901234",
}
KEY = SEEDS["sha1"]
NOW = 1_111_111_111  # time step 37037037, 1 second into it
STEP = NOW // 30
# RFC 4226 Appendix D: HOTP values for counters 0..9 with the SHA-1 seed.
RFC_4226_VALUES = (
    *("755224", "287082", "359152", "969429", "338314"),
    *("254676", "287922", "162583", "399871", "520489"),
)


@pytest.mark.parametrize(
    ("at_unix", "algorithm", "expected"),
    [
        (59, "sha1", "94287082"),
        (59, "sha256", "46119246"),
        (59, "sha512", "90693936"),
        (1111111109, "sha1", "07081804"),
        (1111111109, "sha256", "68084774"),
        (1111111109, "sha512", "25091201"),
        (1111111111, "sha1", "14050471"),
        (1111111111, "sha256", "67062674"),
        (1111111111, "sha512", "99943326"),
        (1234567890, "sha1", "89005924"),
        (1234567890, "sha256", "91819424"),
        (1234567890, "sha512", "93441116"),
        (2000000000, "sha1", "69279037"),
        (2000000000, "sha256", "90698825"),
        (2000000000, "sha512", "38618901"),
        (20000000000, "sha1", "65353130"),
        (20000000000, "sha256", "77737706"),
        (20000000000, "sha512", "47863826"),
    ],
)
def test_totp_matches_the_rfc_6238_vectors(at_unix: int, algorithm: str, expected: str) -> None:
    assert totp(SEEDS[algorithm], at_unix, digits=8, algorithm=algorithm) == expected


@pytest.mark.parametrize(
    ("counter", "expected"),
    list(enumerate(RFC_4226_VALUES)),
)
def test_hotp_matches_the_rfc_4226_vectors(counter: int, expected: str) -> None:
    assert hotp(KEY, counter) == expected


def test_the_current_code_verifies_and_returns_its_step() -> None:
    assert verify_totp(KEY, totp(KEY, NOW), NOW) == STEP


def test_a_neighbouring_step_is_accepted_only_within_the_window() -> None:
    previous, following = hotp(KEY, STEP - 1), hotp(KEY, STEP + 1)
    assert verify_totp(KEY, previous, NOW) == STEP - 1
    assert verify_totp(KEY, following, NOW) == STEP + 1
    assert verify_totp(KEY, previous, NOW, window=0) is None
    assert verify_totp(KEY, following, NOW, window=0) is None


def test_a_code_two_steps_old_needs_a_window_of_two() -> None:
    old = hotp(KEY, STEP - 2)
    assert verify_totp(KEY, old, NOW) is None
    assert verify_totp(KEY, old, NOW, window=2) == STEP - 2


def test_the_window_does_not_reach_before_the_epoch() -> None:
    assert verify_totp(KEY, hotp(KEY, 0), 10, window=3) == 0
    assert verify_totp(KEY, hotp(KEY, 1), 10, window=1) == 1


def test_a_code_is_refused_once_its_step_has_been_used() -> None:
    code = totp(KEY, NOW)
    used = verify_totp(KEY, code, NOW)
    assert used == STEP
    assert verify_totp(KEY, code, NOW, last_used_step=used) is None
    assert verify_totp(KEY, code, NOW + 29, last_used_step=used) is None


def test_an_earlier_step_is_refused_after_a_later_one_was_used() -> None:
    earlier = hotp(KEY, STEP - 1)
    assert verify_totp(KEY, earlier, NOW, last_used_step=STEP - 2) == STEP - 1
    assert verify_totp(KEY, earlier, NOW, last_used_step=STEP) is None
    assert verify_totp(KEY, hotp(KEY, STEP + 1), NOW, last_used_step=STEP) == STEP + 1


def test_a_wrong_code_is_refused() -> None:
    code = totp(KEY, NOW)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    assert verify_totp(KEY, wrong, NOW) is None


@pytest.mark.parametrize(
    "mangle",
    [
        lambda code: code[:-1],
        lambda code: code + "0",
        lambda code: f" {code}",
        lambda code: f"{code}\n",
        lambda code: code[:3] + " " + code[3:],
        lambda code: code[:-1] + "٣",  # a non-ASCII digit that `str.isdigit` accepts
        lambda code: "+" + code[1:],
        lambda code: "",
    ],
    ids=["short", "long", "lead-space", "eol", "inner-space", "arabic-digit", "sign", "empty"],
)
def test_only_exactly_digits_ascii_digits_are_accepted(mangle: Callable[[str], str]) -> None:
    assert verify_totp(KEY, mangle(totp(KEY, NOW)), NOW) is None


def test_eight_digit_codes_verify_with_eight_digits_only() -> None:
    code = totp(KEY, NOW, digits=8)
    assert verify_totp(KEY, code, NOW, digits=8) == STEP
    assert verify_totp(KEY, code, NOW) is None


def test_verification_with_another_hash_uses_that_hash() -> None:
    key = SEEDS["sha256"]
    code = totp(key, NOW, digits=8, algorithm="sha256")
    assert verify_totp(key, code, NOW, digits=8, algorithm="sha256") == STEP
    assert verify_totp(key, code, NOW, digits=8) is None


@pytest.mark.parametrize(
    "call",
    [
        lambda: hotp(KEY, 0, algorithm="md5"),
        lambda: hotp(KEY, 0, digits=5),
        lambda: hotp(KEY, 0, digits=9),
        lambda: hotp(KEY, -1),
        lambda: hotp(KEY, 2**64),
        lambda: totp(KEY, NOW, step=0),
        lambda: totp(KEY, -1),
        lambda: verify_totp(KEY, "000000", NOW, window=-1),
    ],
    ids=[
        "md5",
        "5-digits",
        "9-digits",
        "negative-counter",
        "wide-counter",
        "step-0",
        "pre-epoch",
        "negative-window",
    ],
)
def test_unsupported_parameters_are_refused(call: Callable[[], object]) -> None:
    with pytest.raises(ValueError):
        call()


def test_the_provisioning_uri_carries_the_issuer_and_parameters() -> None:
    uri = provisioning_uri("jbsw y3dp ehpk 3pxp", "alice@example.com", "Key Ledger")
    assert uri == (
        "otpauth://totp/Key%20Ledger:alice@example.com"
        "?secret=JBSWY3DPEHPK3PXP&issuer=Key%20Ledger&algorithm=SHA1&digits=6&period=30"
    )


def test_the_provisioning_uri_percent_encodes_what_needs_it() -> None:
    uri = provisioning_uri(b32_secret(KEY), "bob+2fa@example.com", "Acme & Co/Éire", 8, 60)
    parts = urlsplit(uri)
    assert (parts.scheme, parts.netloc) == ("otpauth", "totp")
    assert unquote(parts.path) == "/Acme & Co/Éire:bob+2fa@example.com"
    assert parts.path.count("/") == 1  # the issuer's slash is encoded, not a path separator
    assert parse_qs(parts.query) == {
        "secret": [b32_secret(KEY)],
        "issuer": ["Acme & Co/Éire"],
        "algorithm": ["SHA1"],
        "digits": ["8"],
        "period": ["60"],
    }


@pytest.mark.parametrize(
    ("account", "issuer"), [("alice", "Key:Ledger"), ("a:lice", "Key Ledger"), ("", "K"), ("a", "")]
)
def test_a_label_that_cannot_be_parsed_back_is_refused(account: str, issuer: str) -> None:
    with pytest.raises(ValueError, match="must not"):
        provisioning_uri(b32_secret(KEY), account, issuer)


def test_base32_secrets_round_trip_without_padding() -> None:
    for raw in (KEY, b"\x00", b"Hello!\xde\xad\xbe\xef", bytes(range(32))):
        secret = b32_secret(raw)
        assert "=" not in secret
        assert key_from_b32(secret) == raw


def test_base32_secrets_tolerate_case_spaces_and_padding() -> None:
    expected = b"Hello!\xde\xad\xbe\xef"
    assert key_from_b32("JBSWY3DPEHPK3PXP") == expected
    assert key_from_b32("jbsw y3dp ehpk 3pxp") == expected
    assert key_from_b32("MFRGG") == key_from_b32("mfrgg===") == b"abc"


@pytest.mark.parametrize("secret", ["", "   ", "JBSWY3DP1", "A", "ABC", "JBSWY3D!"])
def test_a_malformed_base32_secret_is_refused(secret: str) -> None:
    with pytest.raises(ValueError):
        key_from_b32(secret)
