"""Console roles: granted once, revoked once, each change a fact with its reason."""

from __future__ import annotations

from domain.console_role import GrantConsoleRole, RevokeConsoleRole, decider
from schemas.events import ConsoleRoleGranted, ConsoleRoleRevoked
from tests.deciders import Scenario

roles = Scenario(decider)
GRANTED = ConsoleRoleGranted(user_id="u1", role="compliance", reason="joined the audit team")


def test_a_grant_is_recorded_with_its_reason_and_a_second_one_changes_nothing() -> None:
    command = GrantConsoleRole(user_id="u1", role="compliance", reason="joined the audit team")
    assert roles.when(command).then(GRANTED).state == frozenset({"compliance"})
    roles.given(GRANTED).when(command).then_nothing()


def test_a_revocation_takes_only_that_role_and_only_once() -> None:
    operator = ConsoleRoleGranted(user_id="u1", role="operator")
    revoke = RevokeConsoleRole(user_id="u1", role="compliance", reason="left")
    outcome = roles.given(GRANTED, operator).when(revoke)
    outcome.then(ConsoleRoleRevoked(user_id="u1", role="compliance", reason="left"))
    assert outcome.state == frozenset({"operator"})
    roles.given(operator).when(revoke).then_nothing()
