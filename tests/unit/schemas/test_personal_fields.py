"""Which values are personal and whose: the contract every reader and writer of the log keeps."""

from __future__ import annotations

from schemas.envelope import Metadata
from schemas.events import (
    AuditTrailRead,
    LoginRefused,
    PasswordHash,
    SsoUserProvisioned,
    TokenRequestRefused,
    UserRegistered,
)
from schemas.personal_data import personal_values, request_subject, rewrite


def _tag(subject: str, field: str, value: str) -> str:
    return f"<{subject}:{field}:{value}>"


def test_a_users_request_is_theirs_an_anonymous_or_a_clients_own_is_nobodys() -> None:
    by_user = Metadata(actor="user", actor_id="u1", subject_user="u2", ip="192.0.2.1")
    for_user = Metadata(actor="client", actor_id="c1", subject_user="u2", ip="192.0.2.1")
    own = Metadata(actor="client", actor_id="c1", client_id="c1", ip="192.0.2.1")
    assert request_subject(by_user) == "u1"  # the address is the acting user's
    assert request_subject(for_user) == "u2"
    assert request_subject(own) is None
    refused = LoginRefused(user_id=None, method="page", reason="invalid_credentials")
    assert list(personal_values(refused, own)) == []
    event, meta = rewrite(refused, own, _tag)
    assert event is refused and meta is own  # untouched: not even copied


def test_payload_fields_belong_to_the_events_user_and_ids_stay_in_clear() -> None:
    provisioned = SsoUserProvisioned(
        user_id="u9", username="ada@co.example", workspace_id="w", issuer="https://idp",
        subject="sub-1", name=None,
    )  # fmt: skip
    meta = Metadata(actor="user", actor_id="u9", user_agent="UA/2")
    assert sorted(personal_values(provisioned, meta)) == [
        ("u9", "subject", "sub-1"),
        ("u9", "user_agent", "UA/2"),
        ("u9", "username", "ada@co.example"),
    ]
    event, opened = rewrite(provisioned, meta, _tag)
    assert isinstance(event, SsoUserProvisioned)
    assert (event.username, event.subject, event.name) == (
        "<u9:username:ada@co.example>", "<u9:subject:sub-1>", None,
    )  # fmt: skip
    assert (event.user_id, event.issuer, opened.actor_id) == ("u9", "https://idp", "u9")
    assert opened.user_agent == "<u9:user_agent:UA/2>" and opened.ip is None


def test_only_the_listed_events_have_personal_payload_fields() -> None:
    registered = UserRegistered(user_id="u1", username="ada", password_hash=PasswordHash("h"))
    assert [f for _, f, _ in personal_values(registered, Metadata())] == ["username"]
    refusal = TokenRequestRefused(
        endpoint="token", client_id="c1", error="invalid_grant", subject="u1"
    )
    assert list(personal_values(refusal, Metadata(subject_user="u1"))) == []


def test_an_address_searched_in_someones_trail_is_theirs_in_anyone_elses_nobodys() -> None:
    about = AuditTrailRead(
        query="events", filters={"ip": "192.0.2.9", "user": "u3"}, subject_user="u3"
    )
    event, _ = rewrite(about, Metadata(), _tag)
    assert isinstance(event, AuditTrailRead)
    assert event.filters == {"ip": "<u3:filter_ip:192.0.2.9>", "user": "u3"}
    anyone = AuditTrailRead(query="events", filters={"ip": "192.0.2.9"})
    assert list(personal_values(anyone, Metadata())) == []
