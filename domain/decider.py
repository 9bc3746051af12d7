"""The shape every aggregate shares: decide, evolve, initial state (functional event sourcing)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import reduce
from typing import Generic, TypeVar

__all__ = ["Decider", "fold", "run"]

C = TypeVar("C")
E = TypeVar("E")
S = TypeVar("S")


def _never_terminal(_state: object) -> bool:
    return False


@dataclass(frozen=True, slots=True)
class Decider(Generic[C, E, S]):
    initial_state: S
    decide: Callable[[C, S], Sequence[E]]
    evolve: Callable[[S, E], S]
    is_terminal: Callable[[S], bool] = _never_terminal


def fold(decider: Decider[C, E, S], events: Iterable[E]) -> S:
    """Replay: the state a stream is in after these events."""
    return reduce(decider.evolve, events, decider.initial_state)


def run(decider: Decider[C, E, S], history: Iterable[E], command: C) -> Sequence[E]:
    """The events a command produces against a stream's history."""
    return decider.decide(command, fold(decider, history))
