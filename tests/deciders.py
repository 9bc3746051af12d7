"""given(*events).when(command).then(*events): decider rules read as sentences."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from domain.decider import Decider, fold

C = TypeVar("C")
E = TypeVar("E")
S = TypeVar("S")


@dataclass(frozen=True)
class Scenario(Generic[C, E, S]):
    decider: Decider[C, E, S]
    history: Sequence[E] = ()

    def given(self, *events: E) -> Scenario[C, E, S]:
        return Scenario(self.decider, (*self.history, *events))

    def when(self, command: C) -> Outcome[E, S]:
        state = fold(self.decider, self.history)
        decided = list(self.decider.decide(command, state))
        return Outcome(decided, fold(self.decider, [*self.history, *decided]))


@dataclass(frozen=True)
class Outcome(Generic[E, S]):
    events: list[E]
    state: S

    def then(self, *expected: E) -> Outcome[E, S]:
        assert self.events == list(expected)
        return self

    def then_nothing(self) -> Outcome[E, S]:
        assert self.events == []
        return self

    def and_state_is(self, kind: type[Any]) -> Outcome[E, S]:
        assert isinstance(self.state, kind), self.state
        return self
