"""Collecting every secret a scenario handles, and looking for each one wherever data rests.

`Secrets` gathers them from the wire as an HTTP client event hook (tokens, codes, client
secrets, OTP seeds and API keys in response bodies and redirects, cookies, the pages' CSRF
tokens and sealed requests) and from what the scenario itself sends (passwords, TOTP codes,
PKCE verifiers). `leaks` then looks for each, in clear and in the encodings a careless line
of code would produce (URL encoding, base64, hex), in any text.
"""

from __future__ import annotations

import base64
import html
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Final
from urllib.parse import parse_qs, quote, quote_plus, urlsplit

import httpx

from infra.postgres import Connection

__all__ = ["Secrets", "database_texts", "leaks"]

# Response fields that carry a secret of the caller's.
_SECRET_FIELDS: Final = frozenset(
    {"access_token", "refresh_token", "id_token", "client_secret", "otp_secret", "otp_uri", "key"}
)
_HIDDEN: Final = re.compile(r'name="(csrf|request)" value="([^"]*)"')
# Short numeric secrets (TOTP codes) only count as a whole token, not inside a longer number
# or the fraction of a timestamp.
_SHORT: Final = 8


@dataclass
class Secrets:
    """What must never rest anywhere in clear: name -> value."""

    found: dict[str, str] = field(default_factory=dict)

    def add(self, what: str, value: str | None) -> None:
        if value:
            self.found.setdefault(value, what)

    async def from_response(self, response: httpx.Response) -> None:
        """httpx response hook: whatever secret the server handed out."""
        await response.aread()
        for cookie in response.headers.get_list("set-cookie"):
            name, _, rest = cookie.partition("=")
            self.add(f"cookie {name}", rest.split(";", 1)[0])
        location = response.headers.get("location")
        if location:
            for value in parse_qs(urlsplit(location).query).get("code", []):
                self.add("authorization code", value)
        content_type = response.headers.get("content-type", "")
        if content_type.startswith("application/json") and response.content:
            self._from_json(response.json())
        elif content_type.startswith("text/html"):
            for name, value in _HIDDEN.findall(response.text):
                self.add(f"page {name}", html.unescape(value))

    def _from_json(self, body: object) -> None:
        if isinstance(body, list):
            for item in body:
                self._from_json(item)
        elif isinstance(body, dict):
            for name, value in body.items():
                if name in _SECRET_FIELDS and isinstance(value, str):
                    self.add(name, value)


def _forms(value: str) -> set[str]:
    """`value` and the encodings it would have if something logged or stored it carelessly."""
    raw = value.encode()
    b64 = base64.b64encode(raw).decode()
    b64url = base64.urlsafe_b64encode(raw).decode()
    return {
        value,
        quote(value, safe=""),
        quote_plus(value),
        json.dumps(value)[1:-1],
        b64,
        b64.rstrip("="),
        b64url.rstrip("="),
        raw.hex(),
    }


def leaks(secrets: Secrets, texts: Iterable[str]) -> list[str]:
    """`what (encoding)` for every secret found in any of `texts`."""
    corpus = "\n".join(texts)
    found = []
    for value, what in secrets.found.items():
        for form in sorted(_forms(value)):
            if len(form) < _SHORT and form.isdigit():
                hit = re.search(rf"(?<![0-9A-Za-z.]){form}(?![0-9A-Za-z])", corpus) is not None
            else:
                hit = form in corpus
            if hit:
                found.append(f"{what} ({'clear' if form == value else 'encoded'}: {form[:12]}…)")
    return found


async def database_texts(conn: Connection) -> dict[str, list[str]]:
    """Every row of every table (each as text), and every event's payload and metadata decoded.

    Row texts show bytea as hex, so the events' stored JSON is also read decoded.
    """
    tables = await conn.fetch(
        "SELECT schemaname, tablename FROM pg_tables"
        " WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1, 2"
    )
    texts: dict[str, list[str]] = {}
    for schema, table in tables:
        rows = await conn.fetch(f'SELECT t::text AS row FROM "{schema}"."{table}" t')
        texts[f"{schema}.{table}"] = [row["row"] for row in rows]
    events = await conn.fetch(
        "SELECT convert_from(data, 'UTF8') AS data, metadata::text AS metadata FROM events"
    )
    texts["events (decoded)"] = [f"{row['data']}\n{row['metadata']}" for row in events]
    return texts
