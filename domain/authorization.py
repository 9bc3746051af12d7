"""One authorization request: code issued, then redeemed exactly once (RFC 6749 section 4.1).

The code lives 60 s and is single use (section 4.1.2); a second redemption is refused and
revokes what the first one issued. PKCE binds the code to the client that asked for it
(RFC 7636 section 4.6).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Literal, assert_never

import msgspec
from schemas.events import (
    AuthorizationCodeIssued,
    AuthorizationCodeRedeemed,
    AuthorizationCodeReplayed,
    AuthorizationDenied,
    AuthorizationFlagged,
)
from schemas.events.authorization import AuthorizationEvent

from domain.decider import Decider
from domain.policies import pkce

__all__ = [
    "AuthorizationCommand",
    "AuthorizationState",
    "DenyAuthorization",
    "FlagAuthorization",
    "IssueCode",
    "Issued",
    "NoAuthorization",
    "RedeemCode",
    "Redeemed",
    "RedemptionRefusal",
    "decider",
    "redemption_refusal",
]


class IssueCode(msgspec.Struct, frozen=True, kw_only=True):
    issued: AuthorizationCodeIssued


class RedeemCode(msgspec.Struct, frozen=True, kw_only=True):
    client_id: str
    redirect_uri: str | None
    code_verifier: str | None
    now: datetime
    # The family the redemption starts; the shell generates it.
    family_id: str


class DenyAuthorization(msgspec.Struct, frozen=True, kw_only=True):
    denied: AuthorizationDenied


class FlagAuthorization(msgspec.Struct, frozen=True, kw_only=True):
    flagged: AuthorizationFlagged


AuthorizationCommand = IssueCode | RedeemCode | DenyAuthorization | FlagAuthorization


class NoAuthorization(msgspec.Struct, frozen=True):
    pass


class Issued(msgspec.Struct, frozen=True, kw_only=True):
    code: AuthorizationCodeIssued


class Redeemed(msgspec.Struct, frozen=True, kw_only=True):
    code: AuthorizationCodeIssued
    family_id: str
    replayed: bool = False


class Closed(msgspec.Struct, frozen=True):
    """Denied or flagged: no code exists."""


AuthorizationState = NoAuthorization | Issued | Redeemed | Closed

RedemptionRefusal = Literal[
    "unknown_code", "expired", "wrong_client", "redirect_uri_mismatch", "pkce_mismatch", "replayed"
]


def redemption_refusal(command: RedeemCode, state: AuthorizationState) -> RedemptionRefusal | None:
    """Why a code exchange is refused, or None when it succeeds (RFC 6749 section 4.1.3)."""
    match state:
        case NoAuthorization() | Closed():
            return "unknown_code"
        case Redeemed():
            return "replayed"
        case Issued(code=code):
            if command.client_id != code.client_id:
                return "wrong_client"
            if command.now >= code.expires_at:
                return "expired"
            if command.redirect_uri != code.redirect_uri:
                return "redirect_uri_mismatch"
            if code.code_challenge is not None and not (
                command.code_verifier is not None
                and pkce.verify(command.code_verifier, code.code_challenge)
            ):
                return "pkce_mismatch"
            if code.code_challenge is None and command.code_verifier is not None:
                return "pkce_mismatch"  # a verifier for a code that was never bound to one
            return None
        case _:
            assert_never(state)


def decide(
    command: AuthorizationCommand, state: AuthorizationState
) -> Sequence[AuthorizationEvent]:
    match command, state:
        case IssueCode(issued=issued), NoAuthorization():
            return [issued]
        case DenyAuthorization(denied=denied), NoAuthorization():
            return [denied]
        case FlagAuthorization(flagged=flagged), NoAuthorization():
            return [flagged]
        case RedeemCode(), Redeemed(family_id=family_id, replayed=False):
            # The first replay revokes the family; later ones change nothing more.
            return [AuthorizationCodeReplayed(family_id=family_id)]
        case RedeemCode(family_id=family_id), Issued():
            return (
                []
                if redemption_refusal(command, state)
                else [AuthorizationCodeRedeemed(family_id=family_id)]
            )
        case _:
            return []


def evolve(state: AuthorizationState, event: AuthorizationEvent) -> AuthorizationState:
    match event:
        case AuthorizationCodeIssued():
            return Issued(code=event)
        case AuthorizationCodeRedeemed(family_id=family_id):
            return (
                Redeemed(code=state.code, family_id=family_id)
                if isinstance(state, Issued)
                else state
            )
        case AuthorizationCodeReplayed():
            return (
                msgspec.structs.replace(state, replayed=True)
                if isinstance(state, Redeemed)
                else state
            )
        case AuthorizationDenied() | AuthorizationFlagged():
            return Closed()
        case _:
            assert_never(event)


decider: Decider[AuthorizationCommand, AuthorizationEvent, AuthorizationState] = Decider(
    initial_state=NoAuthorization(), decide=decide, evolve=evolve
)
