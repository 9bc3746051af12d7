"""PKCE S256 rules (RFC 7636), checked against the RFC's own example."""

from __future__ import annotations

import pytest

from domain.policies.pkce import challenge_s256, valid_challenge, valid_verifier, verify

# RFC 7636 Appendix B.
VERIFIER = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
CHALLENGE = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"


def test_the_rfc_example_verifier_hashes_to_its_challenge() -> None:
    assert challenge_s256(VERIFIER) == CHALLENGE
    assert verify(VERIFIER, CHALLENGE)


def test_only_s256_is_accepted_as_a_method() -> None:
    assert valid_challenge(CHALLENGE, "S256")
    assert not valid_challenge(CHALLENGE, "plain")
    assert not valid_challenge(CHALLENGE, None)
    assert not valid_challenge(CHALLENGE, "s256")


def test_a_plain_challenge_never_verifies() -> None:
    # Under `plain` the challenge is the verifier itself; S256 treats it as a mismatch.
    assert not verify(VERIFIER, VERIFIER)


@pytest.mark.parametrize(
    "challenge",
    [
        CHALLENGE[:-1],
        CHALLENGE + "A",
        CHALLENGE + "=",
        CHALLENGE[:-1] + "+",
        CHALLENGE[:-1] + "/",
        CHALLENGE[:-1] + "N",  # low bits set: no SHA-256 digest encodes to this
        "",
    ],
)
def test_a_challenge_that_is_not_an_s256_digest_is_refused(challenge: str) -> None:
    assert not valid_challenge(challenge, "S256")


@pytest.mark.parametrize("length", [43, 128])
def test_verifiers_at_both_length_bounds_are_valid(length: int) -> None:
    verifier = ("aZ9-._~" * 20)[:length]
    assert valid_verifier(verifier)
    assert verify(verifier, challenge_s256(verifier))


@pytest.mark.parametrize(
    "verifier",
    [
        "a" * 42,
        "a" * 129,
        "",
        VERIFIER[:-1] + "+",
        VERIFIER[:-1] + "/",
        VERIFIER[:-1] + "=",
        VERIFIER[:-1] + " ",
        VERIFIER[:-1] + "é",
        VERIFIER[:-1] + "٣",  # a non-ASCII digit
        VERIFIER + "\n",
    ],
    ids=["short", "long", "empty", "plus", "slash", "equals", "space", "accent", "digit", "eol"],
)
def test_a_malformed_verifier_is_refused(verifier: str) -> None:
    assert not valid_verifier(verifier)
    assert not verify(verifier, CHALLENGE)


def test_a_different_verifier_does_not_match_the_challenge() -> None:
    other = VERIFIER[:-1] + ("j" if VERIFIER[-1] != "j" else "k")
    assert valid_verifier(other)
    assert not verify(other, CHALLENGE)


def test_a_non_ascii_challenge_is_a_mismatch_not_an_error() -> None:
    assert not verify(VERIFIER, CHALLENGE[:-1] + "é")
