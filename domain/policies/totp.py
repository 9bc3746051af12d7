"""HOTP and TOTP one-time codes (RFC 4226, RFC 6238: https://www.rfc-editor.org/rfc/rfc6238).

Time arrives as an argument (`at_unix`, seconds since the epoch) and the shell records the
matched time step, so a code cannot be used twice (RFC 6238 section 5.2).
"""

from __future__ import annotations

import base64
import hmac
import struct
from urllib.parse import quote

__all__ = [
    "ALGORITHMS",
    "b32_secret",
    "hotp",
    "key_from_b32",
    "provisioning_uri",
    "totp",
    "verify_totp",
]

# The HMAC hashes of RFC 6238 section 1.2, by their hashlib names.
ALGORITHMS = frozenset({"sha1", "sha256", "sha512"})
# RFC 4226 section 5.3: at least 6 digits; past 8, the 31-bit truncated value skews the digits.
_MIN_DIGITS, _MAX_DIGITS = 6, 8
_MAX_COUNTER = 2**64 - 1


def hotp(key: bytes, counter: int, digits: int = 6, algorithm: str = "sha1") -> str:
    """The HOTP value for `counter`, zero-padded to `digits` (RFC 4226 section 5.3)."""
    digest = algorithm.lower()
    if digest not in ALGORITHMS:
        raise ValueError(f"unsupported algorithm {algorithm!r}")
    _check_digits(digits)
    if not 0 <= counter <= _MAX_COUNTER:
        raise ValueError(f"counter {counter} is not an unsigned 64-bit integer")
    mac = hmac.digest(key, struct.pack(">Q", counter), digest)
    offset = mac[-1] & 0x0F
    (truncated,) = struct.unpack(">I", mac[offset : offset + 4])
    return str((truncated & 0x7FFFFFFF) % 10**digits).zfill(digits)


def totp(key: bytes, at_unix: int, step: int = 30, digits: int = 6, algorithm: str = "sha1") -> str:
    """The TOTP value at `at_unix` with T0 = 0 (RFC 6238 section 4.2)."""
    return hotp(key, _time_step(at_unix, step), digits, algorithm)


def verify_totp(
    key: bytes,
    code: str,
    at_unix: int,
    *,
    window: int = 1,
    step: int = 30,
    digits: int = 6,
    last_used_step: int | None = None,
    algorithm: str = "sha1",
) -> int | None:
    """The time step `code` matches within `window` steps of `at_unix`, or None.

    A match at a step at or before `last_used_step` is refused (replay, RFC 6238 section 5.2);
    the caller records the returned step as the new `last_used_step`. Every candidate step is
    compared in constant time, with no early exit, so timing reveals neither the code nor
    which step matched.
    """
    if window < 0:
        raise ValueError(f"window {window} is negative")
    current = _time_step(at_unix, step)
    _check_digits(digits)
    # The shape of a code is no secret, so a malformed one is refused at once. `isdigit`
    # alone would also accept non-ASCII digits such as "٣".
    if len(code) != digits or not code.isascii() or not code.isdigit():
        return None
    presented = code.encode("ascii")
    floor = -1 if last_used_step is None else last_used_step
    matched: int | None = None
    for candidate in range(max(current - window, 0), current + window + 1):
        expected = hotp(key, candidate, digits, algorithm).encode("ascii")
        if hmac.compare_digest(expected, presented) and candidate > floor and matched is None:
            matched = candidate
    return matched


def provisioning_uri(
    secret_b32: str, account: str, issuer: str, digits: int = 6, step: int = 30
) -> str:
    """An `otpauth://totp/` key URI for authenticator apps (Google Authenticator Key Uri Format).

    The label is `Issuer:account`, percent-encoded; the issuer is repeated as a parameter.
    """
    if not account or not issuer:
        raise ValueError("account and issuer must not be empty")
    if ":" in issuer or ":" in account:
        raise ValueError("issuer and account must not contain a colon")
    _check_digits(digits)
    if step <= 0:
        raise ValueError(f"step {step} is not positive")
    secret = b32_secret(key_from_b32(secret_b32))
    label = f"{quote(issuer, safe='@')}:{quote(account, safe='@')}"
    query = "&".join(
        f"{name}={quote(value, safe='')}"
        for name, value in (
            ("secret", secret),
            ("issuer", issuer),
            ("algorithm", "SHA1"),
            ("digits", str(digits)),
            ("period", str(step)),
        )
    )
    return f"otpauth://totp/{label}?{query}"


def b32_secret(raw: bytes) -> str:
    """`raw` as unpadded upper-case base32 (RFC 4648 section 6), as authenticator apps expect."""
    return base64.b32encode(raw).decode("ascii").rstrip("=")


def key_from_b32(secret: str) -> bytes:
    """The key bytes of a base32 secret, tolerating lower case, spaces and missing padding.

    Raises ValueError for an empty or malformed secret.
    """
    compact = "".join(secret.split()).rstrip("=").upper()
    if not compact:
        raise ValueError("empty base32 secret")
    padded = compact + "=" * (-len(compact) % 8)
    return base64.b32decode(padded)


def _check_digits(digits: int) -> None:
    if not _MIN_DIGITS <= digits <= _MAX_DIGITS:
        raise ValueError(f"digits {digits} is not between {_MIN_DIGITS} and {_MAX_DIGITS}")


def _time_step(at_unix: int, step: int) -> int:
    if step <= 0:
        raise ValueError(f"step {step} is not positive")
    if at_unix < 0:
        raise ValueError(f"time {at_unix} is before the Unix epoch")
    return at_unix // step
