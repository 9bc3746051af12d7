"""A provider's registration: endpoints a browser or keyledger may safely be sent to, a client
that can authenticate, and a refresh policy within bounds."""

from __future__ import annotations

import msgspec
import pytest

from domain import provider as p
from schemas.events import ProviderRegistered, Sealed
from tests.deciders import Scenario

GOOD = ProviderRegistered(
    provider_id="p1", name="Meta Business", authorization_endpoint="https://idp.example/authorize",
    token_endpoint="https://idp.example/token", client_id="kl-client",
    sealed_client_secret=Sealed("v1.k1.AAAA"), scopes=("pages_read", "ads.read"),
    refresh_margin_s=259_200, max_token_age_s=604_800, health_check_interval_s=3600,
)  # fmt: skip


def test_a_sound_registration_is_recorded_once() -> None:
    Scenario(p.decider).when(p.RegisterProvider(registration=GOOD)).then(GOOD)
    with pytest.raises(p.ProviderRefusal):
        Scenario(p.decider).given(GOOD).when(p.RegisterProvider(registration=GOOD))


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (
            {"token_endpoint": "http://idp.example/token"},
            "token_endpoint",
        ),  # clear text, not loopback
        ({"authorization_endpoint": "https://user:pw@idp.example/a"}, "authorization_endpoint"),
        ({"sealed_client_secret": None}, "client_secret"),
        ({"scopes": ("read write",)}, "scopes"),
        ({"refresh_margin_s": -1}, "refresh_margin_s"),
        ({"health_check_interval_s": 0}, "health_check_interval_s"),
        ({"name": ""}, "name"),
    ],
)
def test_a_registration_that_cannot_work_safely_is_refused(
    change: dict[str, object], field: str
) -> None:
    problems = p.registration_problems(msgspec.structs.replace(GOOD, **change))
    assert any(problem.startswith(field) for problem in problems), problems


def test_loopback_http_is_allowed_for_a_provider_on_this_machine() -> None:
    local = msgspec.structs.replace(GOOD, token_endpoint="http://127.0.0.1:9000/token")
    assert p.registration_problems(local) == []
