"""What the pages hand to the browser, signed: the pending request, the session, form tokens.

Each value is `base64url(msgspec JSON) . base64url(HMAC-SHA256)` under a key derived from
`Authority.csrf_key` for its purpose, so a value made for one use is refused in another.
Nothing here is secret from the user; it only cannot be forged or altered.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import secrets
from datetime import datetime
from typing import Final, TypeGuard, TypeVar

import msgspec

from services.api.pages.messages import Lang
from services.authorization import AuthorizationRequest

__all__ = [
    "NOTICE_TTL",
    "REQUEST_TTL",
    "SESSION_TTL",
    "Disconnected",
    "Expiring",
    "Pending",
    "Session",
    "browser_nonce",
    "form_token",
    "is_browser_nonce",
    "seal",
    "unseal",
    "valid_form_token",
]

REQUEST_TTL: Final = 600  # the time a user has to sign in and decide
SESSION_TTL: Final = 12 * 3600
NOTICE_TTL: Final = 300  # a confirmation outlives its redirect by little
_NONCE: Final = re.compile(r"[A-Za-z0-9_-]{43}")


class Expiring(msgspec.Struct, frozen=True, kw_only=True):
    exp: int  # seconds since the epoch


class Pending(Expiring, frozen=True, kw_only=True):
    """The validated authorization request, travelling between pages in a hidden field."""

    request: AuthorizationRequest
    lang: Lang


class Session(Expiring, frozen=True, kw_only=True):
    """Who signed in and when (the `auth_time` of OpenID Connect Core 2)."""

    user_id: str
    auth_time: int


class Disconnected(Expiring, frozen=True, kw_only=True):
    """What the account page confirms after a redirect: this user disconnected this client.

    `before` is a moment just before the withdrawal: the consents projection may still show
    a consent granted earlier, which the page then leaves out.
    """

    user_id: str
    client_id: str
    before: datetime


T = TypeVar("T", bound=Expiring)


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(key: bytes, purpose: str, payload: bytes) -> bytes:
    derived = hmac.new(key, b"keyledger/pages/" + purpose.encode(), hashlib.sha256).digest()
    return hmac.new(derived, payload, hashlib.sha256).digest()


def seal(key: bytes, purpose: str, value: Expiring) -> str:
    payload = msgspec.json.encode(value)
    return f"{_b64(payload)}.{_b64(_mac(key, purpose, payload))}"


def unseal(key: bytes, purpose: str, sealed: str | None, into: type[T], now: int) -> T | None:
    """The value if the signature is ours for this purpose and it has not expired, else None."""
    if not sealed or len(sealed) > 8192 or sealed.count(".") != 1:
        return None
    body, mac = sealed.split(".")
    try:
        payload, presented = _unb64(body), _unb64(mac)
    except (binascii.Error, ValueError):
        return None
    if not hmac.compare_digest(presented, _mac(key, purpose, payload)):
        return None
    try:
        value = msgspec.json.decode(payload, type=into)
    except msgspec.DecodeError:
        return None
    return value if value.exp > now else None


def browser_nonce() -> str:
    """A random value for the CSRF cookie: it binds forms to the browser that was shown them."""
    return secrets.token_urlsafe(32)


def is_browser_nonce(value: str | None) -> TypeGuard[str]:
    """Whether a CSRF cookie has the shape `browser_nonce` gives (else it is replaced)."""
    return value is not None and _NONCE.fullmatch(value) is not None


def form_token(key: bytes, form: str, sealed_request: str, nonce: str, user_id: str = "") -> str:
    """The CSRF token of one form: bound to the pending request, the browser and the user."""
    bound = "\x00".join((form, sealed_request, nonce, user_id)).encode()
    return _b64(_mac(key, "csrf", bound))


def valid_form_token(
    key: bytes,
    *,
    form: str,
    sealed_request: str,
    nonce: str | None,
    presented: str | None,
    user_id: str = "",
) -> bool:
    if not nonce or not presented:
        return False
    expected = form_token(key, form, sealed_request, nonce, user_id)
    return hmac.compare_digest(expected.encode(), presented.encode("utf-8", "replace"))
