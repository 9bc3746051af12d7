"""Scope parsing and granting; redirect URI registration and exact matching."""

from __future__ import annotations

import pytest

from domain.policies.redirect_uris import matches_registered, registrable
from domain.policies.scopes import granted, parse_scope


def test_a_scope_string_parses_to_distinct_tokens_in_order() -> None:
    assert parse_scope("openid profile openid email") == ("openid", "profile", "email")
    assert parse_scope("") == ()
    assert parse_scope(None) == ()


@pytest.mark.parametrize("value", ["a  b", " a", "a ", 'a"b', "a\\b", "caf\u00e9"])
def test_a_malformed_scope_string_is_refused(value: str) -> None:
    assert parse_scope(value) is None


def test_a_client_is_granted_what_it_asks_only_if_it_may_hold_all_of_it() -> None:
    allowed = ("read", "write")
    assert granted(("read",), allowed) == ("read",)
    assert granted(("read", "admin"), allowed) is None
    assert granted((), allowed) == allowed
    assert granted((), allowed, default=("read",)) == ("read",)


@pytest.mark.parametrize(
    ("uri", "ok"),
    [
        ("https://app.example.com/callback", True),
        ("https://app.example.com/cb?tenant=1", True),
        ("http://127.0.0.1:8123/cb", True),
        ("http://localhost/cb", True),
        ("http://[::1]:9000/cb", True),
        ("http://app.example.com/cb", False),
        ("https://app.example.com/cb#frag", False),
        ("https://user:pw@app.example.com/cb", False),
        ("javascript:alert(1)", False),
        ("/relative/cb", False),
        ("https://app.example.com/cb\r\nSet-Cookie: x=1", False),
    ],
)
def test_only_absolute_safe_redirect_uris_can_be_registered(uri: str, ok: bool) -> None:
    assert registrable(uri) is ok


def test_redirect_uris_match_exactly_never_by_prefix() -> None:
    registered = ("https://app.example.com/cb",)
    assert matches_registered("https://app.example.com/cb", registered)
    assert not matches_registered("https://app.example.com/cb/../evil", registered)
    assert not matches_registered("https://app.example.com/cb?x=1", registered)
    assert not matches_registered("https://app.example.com/CB", registered)
    assert not matches_registered("https://app.example.com/c", registered)
