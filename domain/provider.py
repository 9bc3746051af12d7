"""An upstream provider that accounts are connected from: registered, then removed.

Its endpoints are fixed at registration (from discovery or given), so every connection and
every refresh talks to the same, checked URLs: https, or http on a loopback address only.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Final, Literal, assert_never

import msgspec
from schemas.events import ProviderRegistered, ProviderRemoved
from schemas.events.provider import ProviderEvent

from domain.decider import Decider
from domain.policies.redirect_uris import registrable

__all__ = [
    "MAX_INTERVAL_S",
    "ProviderCommand",
    "ProviderRefusal",
    "ProviderState",
    "RegisterProvider",
    "RemoveProvider",
    "decider",
    "registration_problems",
    "scopes_problem",
]

RefusalCode = Literal["not_found", "conflict", "invalid"]
# A year: far beyond any token lifetime, small enough to stay clear of datetime overflows.
MAX_INTERVAL_S: Final = 366 * 86_400
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9 ._-]{0,63}")
# RFC 6749 3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E )
_SCOPE = re.compile(r"[\x21\x23-\x5b\x5d-\x7e]{1,128}")
_CLIENT_ID = re.compile(r"[\x20-\x7e]{1,255}")
_ENDPOINTS: Final = (
    "authorization_endpoint",
    "token_endpoint",
    "revocation_endpoint",
    "introspection_endpoint",
    "userinfo_endpoint",
    "jwks_uri",
)


class ProviderRefusal(Exception):
    def __init__(self, code: RefusalCode, description: str) -> None:
        super().__init__(description)
        self.code: RefusalCode = code
        self.description = description


class RegisterProvider(msgspec.Struct, frozen=True, kw_only=True):
    registration: ProviderRegistered


class RemoveProvider(msgspec.Struct, frozen=True, kw_only=True):
    reason: str = ""


ProviderCommand = RegisterProvider | RemoveProvider


class ProviderState(msgspec.Struct, frozen=True, kw_only=True):
    registered: ProviderRegistered | None = None
    removed: bool = False


def scopes_problem(scopes: Sequence[str]) -> str | None:
    if len(scopes) > 50 or not all(_SCOPE.fullmatch(s) for s in scopes):
        return "scopes: at most 50 RFC 6749 scope tokens"
    return None


def registration_problems(registration: ProviderRegistered) -> list[str]:
    """Everything wrong with a registration, in words an operator can act on."""
    problems = []
    if not _NAME.fullmatch(registration.name):
        problems.append("name: 1 to 64 letters, digits, spaces, '.', '_' or '-'")
    for field in _ENDPOINTS:
        url = getattr(registration, field)
        if url is not None and (len(url) > 2048 or not registrable(url)):
            problems.append(f"{field}: an absolute https URL (http only on loopback)")
    if registration.issuer is not None and not registrable(registration.issuer):
        problems.append("issuer: an absolute https URL (http only on loopback)")
    if not _CLIENT_ID.fullmatch(registration.client_id):
        problems.append("client_id: 1 to 255 printable characters")
    if registration.client_auth != "none" and registration.sealed_client_secret is None:
        problems.append(f"client_secret: needed for {registration.client_auth}")
    scopes = scopes_problem(registration.scopes)
    if scopes is not None:
        problems.append(scopes)
    if not 0 <= registration.refresh_margin_s <= MAX_INTERVAL_S:
        problems.append(f"refresh_margin_s: 0 to {MAX_INTERVAL_S}")
    for field in ("max_token_age_s", "health_check_interval_s"):
        value = getattr(registration, field)
        if value is not None and not 1 <= value <= MAX_INTERVAL_S:
            problems.append(f"{field}: 1 to {MAX_INTERVAL_S}, or none")
    return problems


def decide(command: ProviderCommand, state: ProviderState) -> Sequence[ProviderEvent]:
    match command:
        case RegisterProvider(registration=registration):
            if state.registered is not None:
                raise ProviderRefusal("conflict", "the provider exists already")
            problems = registration_problems(registration)
            if problems:
                raise ProviderRefusal("invalid", "; ".join(problems))
            return [registration]
        case RemoveProvider(reason=reason):
            if state.registered is None:
                raise ProviderRefusal("not_found", "there is no such provider")
            if state.removed:
                return []
            registered = state.registered
            return [
                ProviderRemoved(
                    provider_id=registered.provider_id, workspace_id=registered.workspace_id,
                    reason=reason,
                )
            ]  # fmt: skip
        case _:
            assert_never(command)


def evolve(state: ProviderState, event: ProviderEvent) -> ProviderState:
    match event:
        case ProviderRegistered():
            return ProviderState(registered=event)
        case ProviderRemoved():
            return msgspec.structs.replace(state, removed=True)
        case _:
            assert_never(event)


decider: Decider[ProviderCommand, ProviderEvent, ProviderState] = Decider(
    initial_state=ProviderState(), decide=decide, evolve=evolve
)
