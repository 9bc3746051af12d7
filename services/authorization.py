"""Authorization requests, the browser side of the code flow: validate, consent, issue or deny.

RFC 6749 section 4.1.1-4.1.2 (request and response), RFC 7636 section 4.3-4.4 (PKCE, S256
only), RFC 9207 (`iss` on every response), OpenID Connect Core 3.1.2 (`nonce`, `prompt`,
`max_age`). A bad client or redirect URI is answered on the page, never by redirect
(RFC 6749 section 4.1.2.1); every other refusal goes back to the client with `state` and `iss`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final, Literal
from urllib.parse import urlencode, urlsplit, urlunsplit

import asyncpg
import msgspec

from domain import authorization as authorization_domain
from domain import consent as consent_domain
from domain.policies import pkce
from domain.policies.redirect_uris import matches_registered
from domain.policies.scopes import granted, parse_scope
from infra.crypto.digests import new_token, token_digest
from schemas.envelope import Metadata
from schemas.events import AuthorizationCodeIssued, AuthorizationDenied, AuthorizationFlagged
from services.authority import Authority
from services.clients import ClientRecord
from services.commands import execute, ordered_id, utcnow
from services.consents import consent_stream

__all__ = [
    "CODE_PREFIX",
    "AuthorizationRequest",
    "PageError",
    "PageErrorReason",
    "Redirect",
    "SignedIn",
    "Valid",
    "active_client",
    "approve",
    "deny",
    "issue_code",
    "needs_login",
    "refuse",
    "user_active",
    "validate",
]

CODE_PREFIX: Final = "klc_"
# state and nonce travel back verbatim; a bound keeps pages and redirects a sane size.
_MAX_VALUE: Final = 1024
# The `prompt` values of OpenID Connect Core 3.1.2.1; `select_account` means sign in again.
_PROMPTS: Final = frozenset({"none", "login", "consent", "select_account"})
# The parameters this endpoint reads; only these must not repeat (RFC 6749 section 3.1),
# anything else is an extension we ignore.
_PARAMS: Final = frozenset(
    {
        "client_id", "redirect_uri", "response_type", "response_mode", "scope", "state",
        "code_challenge", "code_challenge_method", "nonce", "prompt", "max_age",
        "ui_locales", "lang", "login_hint",
    }
)  # fmt: skip
_SECRET_PARAMS: Final = frozenset(
    {"client_secret", "password", "code", "code_verifier", "refresh_token", "token"}
)

PageErrorReason = Literal[
    "missing_client_id",
    "unknown_client",
    "client_inactive",
    "invalid_redirect_uri",
    "repeated_parameter",
]


class AuthorizationRequest(msgspec.Struct, frozen=True, kw_only=True):
    """A request that passed validation: what a code needs, and nothing the client did not send."""

    client_id: str
    redirect_uri: str
    scopes: tuple[str, ...]
    state: str | None = None
    code_challenge: str | None = None
    nonce: str | None = None
    prompt: tuple[str, ...] = ()
    max_age: int | None = None


@dataclass(frozen=True, slots=True)
class Valid:
    request: AuthorizationRequest
    client: ClientRecord


@dataclass(frozen=True, slots=True)
class PageError:
    """The client or its redirect URI is in doubt: say so to the user, redirect nowhere."""

    reason: PageErrorReason


@dataclass(frozen=True, slots=True)
class Redirect:
    location: str


@dataclass(frozen=True, slots=True)
class SignedIn:
    user_id: str
    auth_time: datetime


def _location(redirect_uri: str, params: dict[str, str], state: str | None, issuer: str) -> str:
    """The redirect URI with the response appended; its own query is kept (RFC 6749 3.1.2)."""
    if state is not None:
        params["state"] = state
    params["iss"] = issuer  # RFC 9207 section 2
    parts = urlsplit(redirect_uri)
    query = urlencode(params)
    return urlunsplit(parts._replace(query=f"{parts.query}&{query}" if parts.query else query))


def refuse(
    issuer: str, redirect_uri: str, state: str | None, error: str, description: str
) -> Redirect:
    """An error response (RFC 6749 section 4.1.2.1), back to a redirect URI already trusted."""
    params = {"error": error, "error_description": description}
    return Redirect(_location(redirect_uri, params, state, issuer))


def _request_problem(
    client: ClientRecord, params: Mapping[str, str], repeated: frozenset[str]
) -> tuple[str, str] | None:
    return (
        _shape_problem(params, repeated)
        or _response_problem(client, params)
        or _pkce_problem(client, params)
        or _oidc_problem(params)
    )


def _shape_problem(params: Mapping[str, str], repeated: frozenset[str]) -> tuple[str, str] | None:
    if repeated & _PARAMS:
        return "invalid_request", f"parameter {sorted(repeated & _PARAMS)[0]} is repeated"
    leaked = sorted(_SECRET_PARAMS & params.keys())
    if leaked:
        return "invalid_request", f"{leaked[0]} must not be sent in the URL"
    if any(len(params.get(name, "")) > _MAX_VALUE for name in ("state", "nonce")):
        return "invalid_request", f"state and nonce are limited to {_MAX_VALUE} characters"
    return None


def _response_problem(client: ClientRecord, params: Mapping[str, str]) -> tuple[str, str] | None:
    response_type = params.get("response_type")
    if response_type is None:
        return "invalid_request", "missing parameter response_type"
    if response_type != "code":
        return "unsupported_response_type", "only response_type=code is supported"
    if params.get("response_mode", "query") != "query":
        return "invalid_request", "only response_mode=query is supported"
    if not client.allows("authorization_code"):
        return "unauthorized_client", "the client may not use the authorization code grant"
    return None


def _pkce_problem(client: ClientRecord, params: Mapping[str, str]) -> tuple[str, str] | None:
    """RFC 7636 section 4.4.1: a missing or unsupported challenge is `invalid_request`."""
    challenge, method = params.get("code_challenge"), params.get("code_challenge_method")
    if challenge is None:
        if method is not None:
            return "invalid_request", "code_challenge_method without code_challenge"
        if client.requires_pkce:
            return "invalid_request", "code_challenge is required (PKCE with S256)"
        return None
    if method != pkce.METHOD:
        return "invalid_request", "code_challenge_method must be S256 (plain is not supported)"
    if not pkce.valid_challenge(challenge, method):
        return "invalid_request", "code_challenge is not a BASE64URL SHA-256 digest"
    return None


def _oidc_problem(params: Mapping[str, str]) -> tuple[str, str] | None:
    prompt = params.get("prompt", "").split()
    if not set(prompt) <= _PROMPTS:
        return "invalid_request", "prompt must be among none, login, consent, select_account"
    if "none" in prompt and len(prompt) > 1:
        return "invalid_request", "prompt=none cannot be combined with other values"
    max_age = params.get("max_age")
    if max_age is not None and not (max_age.isascii() and max_age.isdigit()):
        return "invalid_request", "max_age must be a number of seconds"
    return None


async def active_client(authority: Authority, client_id: str) -> ClientRecord | PageError:
    client = await authority.clients.get(client_id)
    if client is None:
        return PageError("unknown_client")
    if client.status != "active":
        return PageError("client_inactive")
    return client


async def _client_and_redirect(
    authority: Authority, params: Mapping[str, str], repeated: frozenset[str]
) -> tuple[ClientRecord, str] | PageError:
    """The client and its redirect URI, both beyond doubt, or why not (RFC 6749 4.1.2.1)."""
    client_id = params.get("client_id")
    if "client_id" in repeated:
        return PageError("repeated_parameter")
    if not client_id:
        return PageError("missing_client_id")
    client = await active_client(authority, client_id)
    if isinstance(client, PageError):
        return client
    redirect_uri = params.get("redirect_uri")
    # Required even with one registered URI: OpenID Connect asks for it, and the token
    # request must then repeat it (RFC 6749 4.1.3), which keeps one rule for every client.
    if (
        "redirect_uri" in repeated
        or redirect_uri is None
        or not matches_registered(redirect_uri, client.registration.redirect_uris)
    ):
        return PageError("invalid_redirect_uri")
    return client, redirect_uri


async def validate(
    authority: Authority,
    params: Mapping[str, str],
    repeated: frozenset[str],
    metadata: Metadata,
) -> Valid | PageError | Redirect:
    """Check one authorization request (RFC 6749 4.1.1): the client first, then the rest."""
    trusted = await _client_and_redirect(authority, params, repeated)
    if isinstance(trusted, PageError):
        return trusted
    client, redirect_uri = trusted
    state = None if "state" in repeated else params.get("state")
    problem = _request_problem(client, params, repeated)
    if problem is not None:
        return refuse(authority.issuer, redirect_uri, state, *problem)
    scopes = await _scopes(authority, client, params.get("scope"), metadata)
    if isinstance(scopes, str):
        return refuse(authority.issuer, redirect_uri, state, "invalid_scope", scopes)
    max_age = params.get("max_age")
    request = AuthorizationRequest(
        client_id=client.client_id,
        redirect_uri=redirect_uri,
        scopes=scopes,
        state=state,
        code_challenge=params.get("code_challenge"),
        nonce=params.get("nonce"),
        prompt=tuple(params.get("prompt", "").split()),
        max_age=int(max_age) if max_age is not None else None,
    )
    return Valid(request, client)


async def _scopes(
    authority: Authority, client: ClientRecord, requested: str | None, metadata: Metadata
) -> tuple[str, ...] | str:
    """The scopes to ask consent for, or why `invalid_scope` (RFC 6749 section 3.3)."""
    parsed = parse_scope(requested)
    if parsed is None:
        return "malformed scope"
    registration = client.registration
    review = tuple(scope for scope in parsed if scope in registration.review_scopes)
    if review:
        # A fact worth keeping: someone asked on this client's behalf for a reviewed scope.
        flagged = AuthorizationFlagged(client_id=client.client_id, scopes=review)
        command = authorization_domain.FlagAuthorization(flagged=flagged)
        stream = f"authorization-{ordered_id()}"
        await execute(authority.store, authorization_domain.decider, stream, command, metadata)
        return f"scope {review[0]} needs review before the client may request it"
    default = tuple(s for s in registration.scopes if s not in registration.review_scopes)
    scopes = granted(parsed, registration.scopes, default)
    if scopes is None:
        return "the requested scope exceeds what the client may hold"
    return scopes


def needs_login(request: AuthorizationRequest, session: SignedIn | None, now: datetime) -> bool:
    """Whether the user must (re-)enter credentials (OpenID Connect Core 3.1.2.1)."""
    if session is None or {"login", "select_account"} & set(request.prompt):
        return True
    return request.max_age is not None and now - session.auth_time > timedelta(
        seconds=request.max_age
    )


async def user_active(pool: asyncpg.Pool, user_id: str) -> bool:
    """A session outlives nothing: a user disabled since signing in gets no code."""
    async with pool.acquire() as conn:
        disabled: bool | None = await conn.fetchval(
            "SELECT disabled FROM users WHERE user_id = $1", user_id
        )
    return disabled is False


async def issue_code(
    authority: Authority, request: AuthorizationRequest, user: SignedIn, metadata: Metadata
) -> Redirect | PageError:
    """Issue a single-use code (RFC 6749 4.1.2), stored only as its digest."""
    client = await active_client(authority, request.client_id)
    if isinstance(client, PageError):
        return client
    code = new_token(CODE_PREFIX)
    digest = token_digest(code)
    now = utcnow()
    issued = AuthorizationCodeIssued(
        code_digest=digest,
        client_id=request.client_id,
        user_id=user.user_id,
        redirect_uri=request.redirect_uri,
        scopes=request.scopes,
        code_challenge=request.code_challenge,
        expires_at=now + timedelta(seconds=client.registration.code_ttl),
        auth_time=user.auth_time,
        nonce=request.nonce,
    )
    await execute(
        authority.store,
        authorization_domain.decider,
        f"authorization-{digest}",
        authorization_domain.IssueCode(issued=issued),
        metadata,
    )
    return Redirect(
        _location(request.redirect_uri, {"code": code}, request.state, authority.issuer)
    )


async def approve(
    authority: Authority, request: AuthorizationRequest, user: SignedIn, metadata: Metadata
) -> Redirect | PageError:
    """The user said yes: remember the consent (widening it), then issue the code."""
    client = await active_client(authority, request.client_id)
    if isinstance(client, PageError):
        return client
    command = consent_domain.GrantConsent(
        user_id=user.user_id, client_id=request.client_id, scopes=request.scopes
    )
    stream = consent_stream(user.user_id, request.client_id)
    await execute(authority.store, consent_domain.decider, stream, command, metadata)
    return await issue_code(authority, request, user, metadata)


async def deny(
    authority: Authority, request: AuthorizationRequest, user: SignedIn, metadata: Metadata
) -> Redirect:
    """The user said no: recorded, and the client is told `access_denied` (RFC 6749 4.1.2.1)."""
    denied = AuthorizationDenied(
        client_id=request.client_id, user_id=user.user_id, scopes=request.scopes
    )
    await execute(
        authority.store,
        authorization_domain.decider,
        f"authorization-{ordered_id()}",
        authorization_domain.DenyAuthorization(denied=denied),
        metadata,
    )
    return refuse(
        authority.issuer,
        request.redirect_uri,
        request.state,
        "access_denied",
        "the user denied the request",
    )
