"""Secrets never reach a log line: named fields are dropped, token-shaped values scrubbed."""

from __future__ import annotations

import logging

import pytest

from infra.logging import REDACTED, configure_logging, redact

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


def test_a_library_exception_logs_a_plain_traceback_without_locals_and_scrubbed(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging("console", "info")

    def fail() -> None:
        password = "hunter2-local-only"  # noqa: F841 (a rich traceback would print it)
        raise ValueError(f"bad header Bearer {JWT}")

    try:
        fail()
    except ValueError:
        logging.getLogger("some.library").exception("library_failed")
    err = capsys.readouterr().err
    assert "Traceback (most recent call last)" in err and "library_failed" in err
    assert "hunter2-local-only" not in err and JWT not in err


def test_personal_data_named_fields_are_redacted_wherever_they_are() -> None:
    event = redact(
        None,
        "info",
        {
            "event": "sign_in",
            "username": "ada@example.org",
            "ip": "192.0.2.7",
            "user_agent": "Probe/1.0",
            "request": {"email": "ada@example.org", "peer": "192.0.2.7"},
            "recipient": "kept",
            "user_id": "u1",
        },
    )
    rendered = repr(event)
    for personal in ("ada@example.org", "192.0.2.7", "Probe/1.0"):
        assert personal not in rendered
    assert event["recipient"] == "kept"
    assert event["user_id"] == "u1"  # an id names no one once the person is erased
