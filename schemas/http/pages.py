"""The forms and queries of the HTML pages (`/oauth/authorize/...`, `/account`), as documented.

The pages read their forms by hand, so that a bad field is said on the page rather than as
JSON; these Structs describe what a browser sends. `request` is the sealed authorization
request the login page hands out, `csrf` the token bound to the browser's `kl_csrf` cookie.
"""

from __future__ import annotations

from typing import Literal

import msgspec

__all__ = [
    "AccountQuery",
    "AccountSignInForm",
    "ConsentForm",
    "DisconnectForm",
    "LoginForm",
    "ReportForm",
    "SignOutForm",
]


class _Form(msgspec.Struct, frozen=True, kw_only=True):
    lang: str | None = None


class LoginForm(_Form, frozen=True, kw_only=True):
    """`POST /oauth/authorize/login`."""

    request: str
    csrf: str
    username: str
    password: str
    otp: str | None = None


class ConsentForm(_Form, frozen=True, kw_only=True):
    """`POST /oauth/authorize/consent`."""

    request: str
    csrf: str
    decision: Literal["approve", "deny"]


class AccountSignInForm(_Form, frozen=True, kw_only=True):
    """`POST /account`."""

    csrf: str
    username: str
    password: str
    otp: str | None = None


class DisconnectForm(_Form, frozen=True, kw_only=True):
    """`POST /account/disconnect`."""

    csrf: str
    client_id: str


class ReportForm(_Form, frozen=True, kw_only=True):
    """`POST /account/report`: a session (its family id) or a sign-in (its event id)."""

    csrf: str
    kind: Literal["session", "sign_in"]
    reference: str


class SignOutForm(_Form, frozen=True, kw_only=True):
    """`POST /account/sign-out`; `csrf` is needed while signed in."""

    csrf: str | None = None


class AccountQuery(msgspec.Struct, frozen=True, kw_only=True):
    """`GET /account`: the language, and the notices a redirect back to the page carries."""

    lang: str | None = None
    signed_out: str | None = None
    done: str | None = None
    reported: Literal["session", "sign_in"] | None = None
