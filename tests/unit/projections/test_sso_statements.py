"""The SSO projection's statements: a configuration claims its domains anew, a disabling
frees them, and each linked or provisioned identity is one row keyed by (issuer, subject)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from projections import sso, users
from schemas.envelope import Metadata, RecordedEvent
from schemas.events import (
    Event,
    Sealed,
    SsoConfigured,
    SsoDisabled,
    SsoUserProvisioned,
    event_type_of,
)

AT = datetime(2026, 12, 1, tzinfo=UTC)
CONFIGURED = SsoConfigured(
    workspace_id="w1", issuer="https://idp.example", authorization_endpoint="https://idp.example/a",
    token_endpoint="https://idp.example/t", jwks_uri="https://idp.example/k", client_id="c",
    sealed_client_secret=Sealed("v1.k1.AAAA"), allowed_domains=("a.example", "b.example"),
)  # fmt: skip


def recorded(event: Event) -> RecordedEvent:
    return RecordedEvent(
        global_position=1, tx_id=1, stream_id="sso-w1", stream_version=1,
        event_id=uuid.uuid4(), event_type=event_type_of(event), schema_version=1,
        occurred_at=AT, event=event, metadata=Metadata(), hash=b"",
    )  # fmt: skip


def test_a_configuration_replaces_the_workspace_domains() -> None:
    sqls = [(s.sql.split()[0], s.args) for s in sso.statements(recorded(CONFIGURED))]
    assert [verb for verb, _ in sqls] == ["INSERT", "DELETE", "INSERT", "INSERT"]
    assert [args for verb, args in sqls[2:]] == [("a.example", "w1"), ("b.example", "w1")]
    assert b"v1.k1.AAAA" in sqls[0][1][1]  # sealed as logged, never in clear


def test_disabling_frees_the_domains_and_lifts_the_requirement() -> None:
    statements = sso.statements(recorded(SsoDisabled(workspace_id="w1")))
    assert [s.sql.split()[0] for s in statements] == ["UPDATE", "DELETE"]


def test_a_provisioned_account_has_no_password_and_its_identity_a_row() -> None:
    provisioned = SsoUserProvisioned(
        user_id="u1", username="al@a.example", workspace_id="w1", issuer="https://idp.example",
        subject="s1",
    )  # fmt: skip
    (identity,) = sso.statements(recorded(provisioned))
    assert identity.args[:4] == ("https://idp.example", "s1", "u1", "w1")
    (account,) = users.statements(recorded(provisioned))
    assert account.args[:3] == ("u1", "al@a.example", None)
