"""Secrets never reach a log line: named fields are dropped, token-shaped values scrubbed."""

from __future__ import annotations

from infra.logging import REDACTED, redact

JWT = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ1c2VyLTEifQ.c2lnbmF0dXJlLWJ5dGVz"


def test_secret_named_fields_are_redacted_whatever_they_hold() -> None:
    event = redact(
        None,
        "info",
        {
            "event": "token_issued",
            "client_secret": "s3cr3t-value",
            "password": "hunter2",
            "refresh_token": "opaque",
            "code": "auth-code",
            "client_id": "c1",
        },
    )
    assert event["client_secret"] == event["password"] == REDACTED
    assert event["refresh_token"] == event["code"] == REDACTED
    assert event["client_id"] == "c1"


def test_token_shaped_values_are_scrubbed_inside_free_text_and_nested_data() -> None:
    event = redact(
        None,
        "info",
        {
            "event": "request",
            "detail": f"Authorization: Bearer {JWT} failed",
            "url": "/cb?state=xyz&code=abc123&lang=fr",
            "nested": {"headers": ["Basic dXNlcjpwYXNz", JWT]},
        },
    )
    rendered = repr(event)
    for secret in (JWT, "abc123", "dXNlcjpwYXNz"):
        assert secret not in rendered
    assert "state=xyz" in event["url"]
    assert "lang=fr" in event["url"]
