"""A workspace's single sign-on: its identity provider configured or disabled, and what one
sign-in through it decides (OpenID Connect Core 3.1).

Account takeover is the risk here: an account is reached by the provider's (issuer, subject)
once linked; before that, an email links or makes an account only when the provider vouches
for it (`email_verified`, or a provider trusted as the company's directory) and its domain
is one the workspace allows.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Final, Literal, assert_never

import msgspec
from schemas.events import (
    LoginRefused,
    LoginSucceeded,
    SsoConfigured,
    SsoDisabled,
    SsoIdentityLinked,
    SsoUserProvisioned,
)
from schemas.events.login import LoginEvent, RefusalReason
from schemas.events.sso import SsoEvent

from domain.decider import Decider
from domain.policies.redirect_uris import registrable
from domain.provider import scopes_problem

__all__ = [
    "Account",
    "ConfigureSso",
    "DisableSso",
    "Identity",
    "SignInDecision",
    "SsoCommand",
    "SsoRefusal",
    "SsoSignIn",
    "SsoState",
    "configuration_problems",
    "decide_sign_in",
    "decider",
    "email_domain",
    "identity_of",
]

RefusalCode = Literal["not_found", "invalid"]
_MAX_DOMAINS: Final = 50
# RFC 1035 labels, lower case; at least two of them (no bare `localhost`-style names).
_DOMAIN: Final = re.compile(r"(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}")
_CLAIM: Final = re.compile(r"[\x21-\x7e]{1,64}")
_CLIENT_ID: Final = re.compile(r"[\x20-\x7e]{1,255}")


class SsoRefusal(Exception):
    def __init__(self, code: RefusalCode, description: str) -> None:
        super().__init__(description)
        self.code: RefusalCode = code
        self.description = description


class ConfigureSso(msgspec.Struct, frozen=True, kw_only=True):
    configured: SsoConfigured


class DisableSso(msgspec.Struct, frozen=True, kw_only=True):
    reason: str = ""


SsoCommand = ConfigureSso | DisableSso


class SsoState(msgspec.Struct, frozen=True, kw_only=True):
    configured: SsoConfigured | None = None


def email_domain(address: str) -> str | None:
    """The lower-case domain of `local@domain`, or None if it is not shaped like an email."""
    local, at, domain = address.rpartition("@")
    if not at or not local:
        return None
    domain = domain.lower()
    return domain if _DOMAIN.fullmatch(domain) else None


def configuration_problems(configured: SsoConfigured) -> list[str]:
    """Everything wrong with a configuration, in words an administrator can act on."""
    problems = []
    for field in ("issuer", "authorization_endpoint", "token_endpoint", "jwks_uri"):
        url = getattr(configured, field)
        if len(url) > 2048 or not registrable(url):
            problems.append(f"{field}: an absolute https URL (http only on loopback)")
    userinfo = configured.userinfo_endpoint
    if userinfo is not None and (len(userinfo) > 2048 or not registrable(userinfo)):
        problems.append("userinfo_endpoint: an absolute https URL (http only on loopback)")
    if not _CLIENT_ID.fullmatch(configured.client_id):
        problems.append("client_id: 1 to 255 printable characters")
    if configured.client_auth != "none" and configured.sealed_client_secret is None:
        problems.append(f"client_secret: needed for {configured.client_auth}")
    domains = configured.allowed_domains
    if not 1 <= len(domains) <= _MAX_DOMAINS or not all(_DOMAIN.fullmatch(d) for d in domains):
        problems.append(f"allowed_domains: 1 to {_MAX_DOMAINS} lower-case DNS names")
    scopes = scopes_problem(configured.scopes)
    if scopes is not None or "openid" not in configured.scopes:
        problems.append("scopes: RFC 6749 scope tokens, `openid` among them")
    claims = msgspec.structs.asdict(configured.claims).values()
    if not all(isinstance(c, str) and _CLAIM.fullmatch(c) for c in claims):
        problems.append("claims: each a claim name of 1 to 64 printable characters")
    return problems


def decide(command: SsoCommand, state: SsoState) -> Sequence[SsoEvent]:
    match command:
        case ConfigureSso(configured=configured):
            problems = configuration_problems(configured)
            if problems:
                raise SsoRefusal("invalid", "; ".join(problems))
            return [] if configured == state.configured else [configured]
        case DisableSso(reason=reason):
            if state.configured is None:
                raise SsoRefusal("not_found", "the workspace has no single sign-on configured")
            workspace_id = state.configured.workspace_id
            return [SsoDisabled(workspace_id=workspace_id, reason=reason)]
        case _:
            assert_never(command)


def evolve(state: SsoState, event: SsoEvent) -> SsoState:
    match event:
        case SsoConfigured():
            return SsoState(configured=event)
        case SsoDisabled():
            return SsoState()
        case _:
            assert_never(event)


decider: Decider[SsoCommand, SsoEvent, SsoState] = Decider(
    initial_state=SsoState(), decide=decide, evolve=evolve
)


class Identity(msgspec.Struct, frozen=True, kw_only=True):
    """Who the provider says signed in, read through the workspace's claim mapping."""

    subject: str
    email: str | None
    email_verified: bool
    name: str | None


def _text(claims: Mapping[str, object], name: str, limit: int = 255) -> str | None:
    value = claims.get(name)
    if not isinstance(value, str) or not value or len(value) > limit or not value.isprintable():
        return None
    return value


def identity_of(claims: Mapping[str, object], configured: SsoConfigured) -> Identity | None:
    """The identity in verified claims; None without a usable subject."""
    mapping = configured.claims
    subject = _text(claims, mapping.subject)
    if subject is None:
        return None
    email = _text(claims, mapping.email)
    # OIDC Core 5.1: a boolean; some providers send the string "true".
    asserted = claims.get(mapping.email_verified) in (True, "true")
    return Identity(
        subject=subject,
        email=email.lower() if email else None,
        email_verified=email is not None and (asserted or configured.trust_email),
        name=_text(claims, mapping.name),
    )


class Account(msgspec.Struct, frozen=True, kw_only=True):
    user_id: str
    disabled: bool
    service_account: bool


class SsoSignIn(msgspec.Struct, frozen=True, kw_only=True):
    """One sign-in through the provider, with what the shell looked up about it."""

    configured: SsoConfigured
    identity: Identity
    # The account the provider's (issuer, subject) is linked to already, if any.
    linked: Account | None
    # The account whose username is the identity's email, if any.
    by_email: Account | None
    # The id a provisioned account gets (ids are made by the shell).
    new_user_id: str
    client_id: str | None = None


class SignInDecision(msgspec.Struct, frozen=True, kw_only=True):
    """The events for the account's stream (linking or provisioning), then the attempt's."""

    user_id: str | None
    account_events: tuple[SsoUserProvisioned | SsoIdentityLinked, ...]
    login: LoginEvent


def decide_sign_in(attempt: SsoSignIn) -> SignInDecision:
    configured, identity, by_email = attempt.configured, attempt.identity, attempt.by_email

    def refused(reason: RefusalReason, user_id: str | None = None) -> SignInDecision:
        login = LoginRefused(
            user_id=user_id, method="sso", reason=reason, client_id=attempt.client_id
        )
        return SignInDecision(user_id=None, account_events=(), login=login)

    def succeeded(user_id: str, *events: SsoUserProvisioned | SsoIdentityLinked) -> SignInDecision:
        login = LoginSucceeded(user_id=user_id, method="sso", client_id=attempt.client_id)
        return SignInDecision(user_id=user_id, account_events=events, login=login)

    if attempt.linked is not None:
        account = attempt.linked
        if account.disabled:
            return refused("user_disabled", account.user_id)
        return succeeded(account.user_id)
    domain = email_domain(identity.email) if identity.email else None
    if domain is None or domain not in configured.allowed_domains:
        return refused("sso_domain_not_allowed")
    assert identity.email is not None
    if not identity.email_verified:
        return refused("sso_email_unverified", by_email.user_id if by_email else None)
    keys = {"workspace_id": configured.workspace_id, "issuer": configured.issuer,
            "subject": identity.subject}  # fmt: skip
    if by_email is not None:
        if by_email.disabled:
            return refused("user_disabled", by_email.user_id)
        if by_email.service_account:  # scripts sign in with the password grant only
            return refused("not_allowed", by_email.user_id)
        return succeeded(by_email.user_id, SsoIdentityLinked(user_id=by_email.user_id, **keys))
    provisioned = SsoUserProvisioned(
        user_id=attempt.new_user_id, username=identity.email, name=identity.name, **keys
    )
    return succeeded(attempt.new_user_id, provisioned)
