"""What a user allowed one client: remembered consent skips the page until a wider request."""

from __future__ import annotations

from collections.abc import Sequence
from typing import assert_never

import msgspec
from schemas.events import ConsentGranted, ConsentWithdrawn
from schemas.events.consent import ConsentEvent

from domain.decider import Decider

__all__ = ["ConsentCommand", "GrantConsent", "WithdrawConsent", "covers", "decider"]


class GrantConsent(msgspec.Struct, frozen=True, kw_only=True):
    user_id: str
    client_id: str
    scopes: tuple[str, ...]


class WithdrawConsent(msgspec.Struct, frozen=True, kw_only=True):
    user_id: str
    client_id: str


ConsentCommand = GrantConsent | WithdrawConsent

# The consented scopes; empty before any consent and after a withdrawal.
ConsentState = tuple[str, ...]


def covers(state: ConsentState, requested: Sequence[str]) -> bool:
    return bool(state) and set(requested) <= set(state)


def decide(command: ConsentCommand, state: ConsentState) -> Sequence[ConsentEvent]:
    match command:
        case GrantConsent():
            if covers(state, command.scopes):
                return []
            merged = tuple(dict.fromkeys((*state, *command.scopes)))
            return [
                ConsentGranted(user_id=command.user_id, client_id=command.client_id, scopes=merged)
            ]
        case WithdrawConsent():
            if not state:
                return []
            return [ConsentWithdrawn(user_id=command.user_id, client_id=command.client_id)]
        case _:
            assert_never(command)


def evolve(_state: ConsentState, event: ConsentEvent) -> ConsentState:
    match event:
        case ConsentGranted(scopes=scopes):
            return scopes
        case ConsentWithdrawn():
            return ()
        case _:
            assert_never(event)


decider: Decider[ConsentCommand, ConsentEvent, ConsentState] = Decider(
    initial_state=(), decide=decide, evolve=evolve
)
