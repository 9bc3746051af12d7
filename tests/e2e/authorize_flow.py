"""Driving the authorization endpoint's pages over HTTP, as a browser would (no JavaScript)."""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx

from domain.policies.pkce import challenge_s256

REDIRECT = "https://app.example/callback"
VERIFIER = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"

# A browser: its own cookie jar and source address (lockout counts per address).
Browsers = Callable[[], httpx.AsyncClient]


async def code_client(make_client: Any, **options: object) -> str:
    client = await make_client(
        grant_types=("authorization_code", "refresh_token"),
        scopes=("openid", "profile", "read", "write"),
        redirect_uris=(REDIRECT,),
        confidential=False,
        **options,
    )
    client_id: str = client.client_id
    return client_id


def authorize_url(client_id: str, **overrides: str | None) -> str:
    params: dict[str, str | None] = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": REDIRECT,
        "scope": "openid read",
        "state": "st-123",
        "code_challenge": challenge_s256(VERIFIER),
        "code_challenge_method": "S256",
        **overrides,
    }
    return "/oauth/authorize?" + urlencode({k: v for k, v in params.items() if v is not None})


def redirected(response: httpx.Response) -> dict[str, str]:
    assert response.status_code == 303, response.text
    location = urlsplit(response.headers["location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == REDIRECT
    return {name: values[0] for name, values in parse_qs(location.query).items()}


def hidden(page: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]*)"', page)
    assert found is not None, f"no hidden field {name}"
    return html.unescape(found.group(1))


async def login_page(web: httpx.AsyncClient, client_id: str) -> httpx.Response:
    page = await web.get(authorize_url(client_id))
    assert page.status_code == 200, page.text
    return page


def login_form(page: httpx.Response, username: str, password: str) -> dict[str, str]:
    return {
        "request": hidden(page.text, "request"),
        "csrf": hidden(page.text, "csrf"),
        "username": username,
        "password": password,
    }


async def exchange_code(web: httpx.AsyncClient, client_id: str, code: str) -> httpx.Response:
    """The code at the token endpoint, as the public client that asked for it (PKCE)."""
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT,
        "code_verifier": VERIFIER,
        "client_id": client_id,
    }
    return await web.post("/oauth/token", data=form)


async def refresh_token(web: httpx.AsyncClient, client_id: str, token: str) -> httpx.Response:
    form = {"grant_type": "refresh_token", "refresh_token": token, "client_id": client_id}
    return await web.post("/oauth/token", data=form)
